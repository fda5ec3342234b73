"""Admins appoint and revoke unit managers from a unit's overview (`/manage?unit=<id>`)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Unit
from . import bp
from .forms import ActionForm, ManagerForm
from .service import ManageError, appoint_manager, revoke_manager


def _admin_unit() -> Unit:
    if not current_user.is_admin:
        abort(403)
    raw = request.args.get("unit", "")
    unit = db.session.get(Unit, int(raw)) if raw.isdigit() else None
    return unit or abort(404)


@bp.post("/manage/managers")
@login_required
def appoint_manager_view():
    unit = _admin_unit()
    form = ManagerForm()
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for("manage.overview", unit=unit.id))
    try:
        user = appoint_manager(unit, form.contact.data, current_user._get_current_object())
    except ManageError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(f"{user.name} đã là người quản lý {unit.name}.", "success")
    return redirect(url_for("manage.overview", unit=unit.id))


@bp.post("/manage/managers/<int:user_id>/revoke")
@login_required
def revoke_manager_view(user_id: int):
    unit = _admin_unit()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        user = revoke_manager(unit, user_id, current_user._get_current_object())
    except ManageError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(f"{user.name} không còn là người quản lý {unit.name}.", "success")
    return redirect(url_for("manage.overview", unit=unit.id))
