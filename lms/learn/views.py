"""Routes of the learner pages. Access rules live in `access`, page data in `pages`."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import assignments, tracking
from ..extensions import db, limiter
from ..guest import is_guest, start_guest
from ..models import Module, Programme, Topic
from . import access, bp, pages
from .labels import kind_label, level_text, minutes_text, rule_words


def _programme(code: str) -> Programme:
    programme = db.session.scalar(select(Programme).where(Programme.code == code)
                                  .options(pages.TREE))
    if programme is None or not access.can_view_programme(current_user, programme):
        abort(404)
    return programme


def _topic(code: str) -> Topic:
    topic = db.session.scalar(select(Topic).where(Topic.code == code))
    admin = access.is_admin(current_user)
    if topic is None or not (admin or access.topic_live(topic)):
        abort(404)
    return topic


def _module(code: str) -> Module:
    module = db.session.scalar(select(Module).where(Module.code == code))
    if module is None or not access.can_view_module(current_user, module):
        abort(404)
    return module


def _enrol_if_assigned(programme: Programme) -> None:
    """A programme assignment enrols the learner when they open it (lms.assignments)."""
    if access.signed_in(current_user) and not is_guest(current_user):
        assignments.enrol_if_assigned(current_user, programme)


@bp.app_context_processor
def _helpers() -> dict:
    return {"kind_label": kind_label, "minutes_text": minutes_text, "level_text": level_text}


@bp.get("/hoc")
def catalog():
    assigned, programmes = pages.catalog(current_user)
    return render_template("learn/catalog.html", assigned=assigned.items, programmes=programmes)


@bp.get("/hoc/<code>")
def programme(code: str):
    prog = _programme(code)
    _enrol_if_assigned(prog)
    view = pages.programme_view(current_user, prog, pages.assigned_for(current_user))
    return render_template("learn/programme.html", view=view, prog=prog)


@bp.get("/hoc/chuyen-de/<code>", defaults={"programme_code": None}, endpoint="topic")
@bp.get("/hoc/<programme_code>/<code>", endpoint="topic")
def topic(code: str, programme_code: str | None):
    top = _topic(code)
    prog = _programme(top.programme.code)
    if programme_code != prog.code:
        return redirect(url_for("learn.topic", programme_code=prog.code, code=top.code))
    view = pages.programme_view(current_user, prog, pages.assigned_for(current_user))
    tview = next(t for t in view.topics if t.topic.id == top.id)
    return render_template("learn/topic.html", view=view, prog=prog, tview=tview,
                           topic_next=pages.next_row(tview.modules))


@bp.get("/hoc/module/<code>")
def module(code: str):
    mod = _module(code)
    prog = mod.topic.programme
    row = pages.module_row(current_user, mod)
    may_learn = access.may_learn(current_user, mod)
    return render_template(
        "learn/module.html", row=row, mod=mod, prog=prog, topic=mod.topic,
        competencies=pages.competencies(mod), may_learn=may_learn,
        guest_ok=prog.open and not access.signed_in(current_user),
        rule=rule_words(prog))


def _guest_limit() -> str:
    return current_app.config.get("RATELIMIT_GUEST_IP", "30 per hour")


def _is_anonymous_start() -> bool:
    return not access.signed_in(current_user)


@bp.post("/hoc/module/<code>/bat-dau")
@limiter.limit(_guest_limit, exempt_when=lambda: not _is_anonymous_start())
def start(code: str):
    """Launch the module in the SCORM player (the same registration/player path as /packages).

    Without an account, an open programme's module starts as a guest ("Học ngay").
    """
    mod = _module(code)
    prog = mod.topic.programme
    if not access.signed_in(current_user):
        if not prog.open:
            return current_app.login_manager.unauthorized()
        if not access.playable(mod):
            flash(_("Bài học đang được chuẩn bị."), "error")
            return redirect(url_for("learn.module", code=mod.code))
        start_guest()
    if not access.may_learn(current_user, mod):
        abort(403)
    if not access.playable(mod):
        flash(_("Bài học đang được chuẩn bị."), "error")
        return redirect(url_for("learn.module", code=mod.code))
    if prog.open and not current_user.is_admin:
        access.enrol(current_user, prog)  # idempotent
    reg = tracking.register(current_user, mod.package)
    return redirect(url_for("player.play", reg_id=reg.id))


@bp.post("/hoc/<code>/dang-ky")
@login_required
def enrol(code: str):
    prog = _programme(code)
    if not access.can_enrol(current_user, prog):
        abort(403)
    access.enrol(current_user, prog)
    flash(_("Bạn đã đăng ký «%(title)s». Chúc bạn học tốt!", title=prog.title), "success")
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return redirect(target)
    return redirect(url_for("learn.programme", code=prog.code))
