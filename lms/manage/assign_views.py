"""Assignment pages: admins at /admin/assignments (city-wide), unit managers at
/manage/assignments (inside their unit). One template and one handler serve both."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..assignments import KINDS, load_targets, today_vn
from ..extensions import db
from ..models import Assignment, Unit, User
from . import bp
from .access import scope_unit, unit_args
from .forms import ActionForm, AssignmentForm, target_choices, unit_choices
from .report import unit_overview
from .service import (
    AssignmentInput,
    InvalidAssignment,
    ManageError,
    count_assignees,
    create_assignment,
    retire_assignment,
)


def _admin_required() -> None:
    if not current_user.is_admin:
        abort(403)


def describe(assignments: list[Assignment]) -> dict[int, list[str]]:
    """Audience lines in words, per assignment."""
    unit_ids = {x.unit_id for a in assignments for x in a.audiences if x.unit_id}
    user_ids = {x.user_id for a in assignments for x in a.audiences if x.user_id}
    units = {u.id: u.name for u in db.session.scalars(
        select(Unit).where(Unit.id.in_(unit_ids)))} if unit_ids else {}
    users = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    out: dict[int, list[str]] = {}
    for a in assignments:
        lines = []
        for x in a.audiences:
            if x.user_id:
                u = users.get(x.user_id)
                lines.append(f"Người học: {u.name} ({u.email or u.phone})" if u else "Người học")
            elif x.job_title:
                where = f" tại {units.get(x.unit_id, '')}" if x.unit_id else " (toàn thành phố)"
                lines.append(f"Chức vụ: {x.job_title}{where}")
            elif x.unit_id:
                lines.append(f"Đơn vị: {units.get(x.unit_id, '')}")
        out[a.id] = lines
    return out


def _form(scope: Unit | None) -> AssignmentForm:
    form = AssignmentForm()
    form.target.choices = target_choices()
    form.units.choices = unit_choices(scope)
    return form


def _submit(form: AssignmentForm, scope: Unit | None) -> Assignment | None:
    """Validate and create; None (with errors on the form) when something is wrong."""
    if scope is not None and any(v != str(scope.id) for v in request.form.getlist("units")):
        abort(403)  # a unit manager never targets another unit
    if not form.validate_on_submit():
        return None
    data = AssignmentInput(target=form.target.data or "", unit_ids=list(form.units.data or []),
                           job_titles=form.job_titles.data or "",
                           titles_within_units=bool(form.titles_within_units.data),
                           people=form.people.data or "", due_date=form.due_date.data,
                           note=form.note.data or "")
    try:
        return create_assignment(data, current_user._get_current_object(), scope)
    except PermissionError:
        abort(403)
    except InvalidAssignment as exc:
        db.session.rollback()
        for name, messages in exc.errors.items():
            field = getattr(form, name, None)
            errors = field.errors if field is not None else form.form_errors
            if isinstance(errors, tuple):
                errors = field.errors = list(errors)
            errors.extend(messages)
        return None


def _page(scope: Unit | None, form: AssignmentForm, assignments: list[Assignment],
          others: list | None = None):
    targets = load_targets(assignments)
    counts = {a.id: count_assignees(a) for a in assignments if a.retired_at is None}
    status = 422 if form.is_submitted() and (form.errors or form.form_errors) else 200
    return render_template(
        "manage/assignments.html", form=form, unit=scope, assignments=assignments,
        targets=targets, lines=describe(assignments), counts=counts, others=others or [],
        kinds=KINDS, action_form=ActionForm(), today=today_vn(), args=unit_args(scope),
        admin_page=scope is None), status


@bp.route("/admin/assignments", methods=["GET", "POST"])
@login_required
def admin_assignments():
    _admin_required()
    form = _form(None)
    if request.method == "POST":
        created = _submit(form, None)
        if created is not None:
            flash("Đã giao bài cho các đối tượng đã chọn.", "success")
            return redirect(url_for("manage.admin_assignments"))
    show_retired = request.args.get("retired") == "1"
    query = select(Assignment).order_by(Assignment.retired_at.is_not(None),
                                        Assignment.due_date, Assignment.id)
    if not show_retired:
        query = query.where(Assignment.retired_at.is_(None))
    return _page(None, form, db.session.scalars(query).all())


@bp.post("/admin/assignments/<int:assignment_id>/retire")
@login_required
def admin_retire(assignment_id: int):
    _admin_required()
    _retire(db.session.get(Assignment, assignment_id) or abort(404))
    return redirect(url_for("manage.admin_assignments"))


@bp.route("/manage/assignments", methods=["GET", "POST"])
@login_required
def unit_assignments():
    scope = scope_unit()
    if scope is None:
        return redirect(url_for("manage.admin_assignments"))
    form = _form(scope)
    if request.method == "POST":
        created = _submit(form, scope)
        if created is not None:
            flash("Đã giao bài trong đơn vị.", "success")
            return redirect(url_for("manage.unit_assignments", **unit_args(scope)))
    own = db.session.scalars(select(Assignment).where(
        Assignment.owner_unit_id == scope.id, Assignment.retired_at.is_(None))
        .order_by(Assignment.due_date, Assignment.id)).all()
    others = [s for s in unit_overview(scope, today_vn()).summaries
              if s.assignment.owner_unit_id != scope.id]
    return _page(scope, form, list(own), others)


@bp.post("/manage/assignments/<int:assignment_id>/retire")
@login_required
def unit_retire(assignment_id: int):
    scope = scope_unit()
    if scope is None:
        return redirect(url_for("manage.admin_assignments"))
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.owner_unit_id != scope.id:
        abort(404)  # only the unit's own assignments, and without saying others exist
    _retire(assignment)
    return redirect(url_for("manage.unit_assignments", **unit_args(scope)))


def _retire(assignment: Assignment) -> None:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        retire_assignment(assignment, current_user._get_current_object())
    except ManageError as exc:
        flash(str(exc), "error")
    else:
        flash("Đã thu hồi việc giao bài; kết quả học đã có vẫn được giữ.", "success")
