"""REST API v1 (bearer tokens). The OpenAPI document is served at /api/v1/openapi.json."""

from __future__ import annotations

import tempfile
from functools import wraps
from pathlib import Path

from flask import Blueprint, g, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import tracking
from ..auth import load_user_from_request
from ..extensions import db, login_manager
from ..importer import import_package
from ..models import Attempt, Package, Registration, ScoState, User
from ..scorm.errors import PackageInvalid
from ..scorm.manifest import Manifest
from .openapi import OPENAPI

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _bearer_first():
    """A bearer token decides who the caller is, even if a browser session cookie is present."""
    if request.headers.get("Authorization"):
        user = load_user_from_request(request)
        g._login_user = user if user is not None else login_manager.anonymous_user()


def error(status: int, message: str, errors: list | None = None):
    body = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return jsonify(body), status


def auth_required(admin: bool = False):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return error(401, "Authentication required (Authorization: Bearer <token>).")
            if admin and not current_user.is_admin:
                return error(403, "Administrator role required.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


@bp.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)


def package_json(package: Package) -> dict:
    version = package.current_version
    manifest = Manifest.from_json(version.manifest)
    return {
        "id": package.id,
        "title": package.title,
        "version": version.number,
        "scorm_version": version.scorm_version,
        "edition": version.edition,
        "sha256": version.sha256,
        "completion_fallback": package.completion_fallback,
        "scos": [
            {"id": i.identifier, "title": i.title, "launch": i.launch, "type": i.scorm_type}
            for i in manifest.scos()
        ],
    }


@bp.post("/packages")
@auth_required(admin=True)
def create_package():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return error(422, "Send the SCORM zip as multipart field 'file'.",
                     [{"code": "file_required", "message": "No file was sent.", "path": None}])
    package_id = request.form.get("package_id", type=int)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.zip"
        upload.save(path)
        try:
            result = import_package(path, package_id=package_id)
        except PackageInvalid as exc:
            return error(422, "The package was rejected.", [e.as_dict() for e in exc.errors])
    package = db.session.get(Package, result.version.package_id)
    body = package_json(package)
    body["created"] = result.created
    return jsonify(body), 201 if result.created else 200


@bp.get("/packages/<int:package_id>")
@auth_required()
def get_package(package_id: int):
    package = db.session.get(Package, package_id)
    if package is None:
        return error(404, "No such package.")
    return jsonify(package_json(package))


@bp.post("/registrations")
@auth_required()
def create_registration():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error(400, "Send a JSON object {package_id, user_email}.")
    package = db.session.get(Package, data.get("package_id")) if isinstance(
        data.get("package_id"), int) else None
    if package is None:
        return error(422, "'package_id' must name an existing package.")
    email = str(data.get("user_email") or "").strip().lower()
    if not email or email == current_user.email:
        user = db.session.get(User, current_user.id)
    elif not current_user.is_admin:
        return error(403, "Only an administrator can register another learner.")
    else:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            return error(422, f"No user with email '{email}'.")
    reg = tracking.register(user, package)
    return jsonify(registration_json(reg)), 201


def registration_json(reg: Registration) -> dict:
    attempt = tracking.current_attempt(reg)
    scos = []
    if attempt is not None:
        states = db.session.scalars(select(ScoState).where(ScoState.attempt_id == attempt.id))
        scos = [
            {"id": s.item_id, "completion_status": s.completion_status,
             "success_status": s.success_status, "score_scaled": s.score_scaled,
             "score_raw": s.score_raw, "total_seconds": s.total_seconds, "exit": s.exit,
             "cmi": s.cmi}
            for s in states
        ]
    return {
        "id": reg.id,
        "package_id": reg.package_id,
        "package_version": reg.version.number,
        "user_email": reg.user.email,
        "launch_url": url_for("player.play", reg_id=reg.id, _external=True),
        "completion_status": reg.completion_status,
        "success_status": reg.success_status,
        "score": reg.score_scaled,
        "total_time": reg.total_seconds,
        "completion_decided_by": reg.decided_by,
        "attempt": attempt.number if attempt else 0,
        "scos": scos,
    }


@bp.get("/registrations/<int:reg_id>")
@auth_required()
def get_registration(reg_id: int):
    reg = db.session.get(Registration, reg_id)
    if reg is None or (reg.user_id != current_user.id and not current_user.is_admin):
        return error(404, "No such registration.")
    return jsonify(registration_json(reg))


__all__ = ["bp", "Attempt"]
