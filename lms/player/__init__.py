"""The SCORM player page and its run-time endpoints (state, commit)."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import tracking
from ..content import content_url
from ..extensions import csrf, db, limiter
from ..models import Attempt, Module, Registration, User
from ..ops import COMMITS
from ..scorm.manifest import Manifest
from ..security import check_commit_token, commit_token

bp = Blueprint("player", __name__)


def _own_registration(reg_id: int) -> Registration:
    reg = db.session.get(Registration, reg_id)
    if reg is None or (reg.user_id != current_user.id and not current_user.is_admin):
        abort(404)
    if reg.user_id != current_user.id:
        abort(403)  # admins may read reports, but never play as someone else
    return reg


def _own_attempt(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.registration.user_id != current_user.id:
        abort(404)
    return attempt


def _toc(items, sha: str) -> list[dict]:
    out = []
    for item in items:
        entry = {"id": item.identifier, "title": item.title, "visible": item.is_visible,
                 "launch": content_url(sha, item.launch) if item.launch else None,
                 "hideLmsUi": item.hide_lms_ui, "children": _toc(item.children, sha)}
        out.append(entry)
    return out


@bp.get("/play/<int:reg_id>")
@login_required
def play(reg_id: int):
    reg = _own_registration(reg_id)
    attempt = tracking.open_session(reg)
    version = reg.version
    manifest = Manifest.from_json(version.manifest)
    info = tracking.version_info(version)
    objectives, shared = tracking.learner_globals(current_user.id, info, attempt.id)
    config = {
        "version": version.scorm_version,
        "title": version.title,
        "attempt": attempt.id,
        "session": attempt.session_count,
        "commitUrl": url_for("player.commit", attempt_id=attempt.id,
                             token=commit_token(attempt.id, current_user.id)),
        "stateUrl": url_for("player.sco_state", attempt_id=attempt.id, item_id="__ITEM__"),
        "exitUrl": _exit_url(version.package_id),
        "commitIntervalSeconds": current_app.config["COMMIT_INTERVAL_SECONDS"],
        "organization": {"id": manifest.organization.identifier,
                         "title": manifest.organization.title,
                         "items": _toc(manifest.organization.items, version.sha256)},
        "scos": [{"id": s.item_id, "title": s.title,
                  "launch": content_url(version.sha256, s.launch)} for s in info.scos.values()],
        "currentItem": attempt.current_item,
        "sequencing": version.sequencing if version.scorm_version == "2004" else None,
        "sequencingState": attempt.sequencing_state,
        "globalObjectives": objectives,
        "sharedData": shared,
    }
    return render_template("player.html", reg=reg, config=config)


def _exit_url(package_id: int) -> str:
    """Back to the catalog page of the module this package is, else to the package list."""
    code = db.session.scalar(select(Module.code).where(Module.package_id == package_id,
                                                        Module.retired_at.is_(None)).limit(1))
    return url_for("learn.module", code=code) if code else url_for("web.index")


@bp.get("/play/attempt/<int:attempt_id>/sco/<path:item_id>/state")
@login_required
def sco_state(attempt_id: int, item_id: str):
    attempt = _own_attempt(attempt_id)
    info = tracking.version_info(attempt.registration.package_version_id)
    if item_id not in info.scos:
        abort(404)
    user = db.session.get(User, current_user.id)
    cmi = tracking.sco_launch_state(attempt, item_id, user)
    return jsonify({"item": item_id, "cmi": cmi})


@bp.post("/play/attempt/<int:attempt_id>/commit")
@csrf.exempt
@limiter.exempt  # throttling a commit only makes the player retry it; the token is the guard
def commit(attempt_id: int):
    """Commit endpoint. The final beacon carries no CSRF header and arrives as text/plain, so
    the defence is a per-attempt signed token in the URL plus an Origin check plus SameSite
    session cookies."""
    user_id = check_commit_token(request.args.get("token", ""), attempt_id)
    if user_id is None:
        return _error(403, "Invalid commit token.")
    origin = request.headers.get("Origin")
    if origin and origin != request.host_url.rstrip("/"):
        return _error(403, "Cross-origin commits are not accepted.")
    # The session's user id is enough here; loading the user would cost a query per commit.
    session_user = session.get("_user_id")
    if session_user is not None and session_user != str(user_id):
        return _error(403, "This attempt belongs to another learner.")
    raw = request.get_data(cache=False, as_text=True)
    try:
        payload = json.loads(raw)
    except ValueError:
        return _error(400, "The commit body is not valid JSON.")
    try:
        result = tracking.apply_commit(attempt_id, user_id, payload)
    except tracking.CommitRejected as exc:
        db.session.rollback()
        COMMITS.labels("rejected").inc()
        return _error(exc.status_code, exc.message, exc.errors)
    COMMITS.labels("stored" if result.accepted else "stale").inc()
    return jsonify({"ok": True, "accepted": result.accepted, "seq": result.seq,
                    "completion_status": result.completion_status,
                    "success_status": result.success_status})


def _error(code: int, message: str, errors: list | None = None):
    return jsonify({"ok": False, "error": message, "errors": errors or []}), code
