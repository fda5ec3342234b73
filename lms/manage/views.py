"""Unit-manager pages: the unit overview, its people, one person's results."""

from __future__ import annotations

from types import SimpleNamespace

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import audit
from ..assignments import KINDS as ASSIGN_KINDS
from ..assignments import NOT_ASSIGNABLE_ROLES, assigned_items, today_vn
from ..extensions import db
from ..models import Enrollment, Package, Registration, Unit, User
from ..progress import LABELS, module_status
from ..units import KINDS
from . import bp
from .access import require_area, scope_unit, unit_args
from .forms import ActionForm, ManagerForm
from .report import count, members_query, statuses, unit_overview
from .service import managers_of

PAGE_SIZE = 50


@bp.get("/manage")
@login_required
def overview():
    unit = scope_unit()
    if unit is None:  # an admin: choose a unit
        q = (request.args.get("q") or "").strip()
        query = select(Unit).where(Unit.retired_at.is_(None)).order_by(Unit.kind, Unit.name)
        if q:
            query = query.where(Unit.name.ilike(f"%{q}%") | (Unit.code == q))
        return render_template("manage/choose_unit.html", units=db.session.scalars(query).all(),
                               q=q, kinds=KINDS)
    ov = unit_overview(unit, today_vn())
    admin = current_user.is_admin
    return render_template("manage/overview.html", ov=ov, unit=unit, args=unit_args(unit),
                           assign_kinds=ASSIGN_KINDS,
                           managers=managers_of(unit.id) if admin else None,
                           manager_form=ManagerForm() if admin else None,
                           action_form=ActionForm())


@bp.get("/manage/people")
@login_required
def people():
    unit = scope_unit()
    if unit is None:
        return redirect(url_for("manage.overview"))
    q = (request.args.get("q") or "").strip()[:100]
    only_overdue = request.args.get("status") == "overdue"
    page = max(1, request.args.get("page", 1, type=int) or 1)
    query = members_query(unit.id, q)
    today = today_vn()
    if only_overdue:  # needs everyone's status: computed for the whole (searched) unit
        rows = [r for r in statuses(db.session.scalars(query).all(), today)[0] if r.overdue]
        total = len(rows)
        rows = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    else:
        total = count(query)
        people_page = db.session.scalars(
            query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        rows = statuses(people_page, today)[0]
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template("manage/people.html", unit=unit, rows=rows, q=q, page=page,
                           pages=pages, total=total, only_overdue=only_overdue,
                           args=unit_args(unit))


@bp.get("/manage/people/<int:person_id>")
@login_required
def person(person_id: int):
    require_area()
    person = db.session.get(User, person_id)
    if current_user.is_admin and not request.args.get("unit"):
        unit = db.session.get(Unit, person.unit_id) if person and person.unit_id else None
    else:
        unit = scope_unit()
    if (person is None or unit is None or person.unit_id != unit.id
            or person.role in NOT_ASSIGNABLE_ROLES):
        abort(404)  # never reveal whether someone exists in another unit
    items = assigned_items(person)
    regs = db.session.execute(
        select(Registration, Package).join(Package, Package.id == Registration.package_id)
        .where(Registration.user_id == person.id).order_by(Registration.updated_at.desc())
    ).all()
    enrollments = db.session.scalars(select(Enrollment).where(
        Enrollment.user_id == person.id).order_by(Enrollment.created_at)).all()
    audit.record("manage.person_view", "user", person.id, after={"unit_id": unit.id})
    db.session.commit()
    return render_template("manage/person.html", unit=unit, person=person, items=items,
                           regs=regs, enrollments=enrollments, args=unit_args(unit),
                           label=_reg_label)


def _reg_label(reg: Registration) -> str:
    """The module status words for a registration (module_status reads only done_when)."""
    return LABELS[module_status(SimpleNamespace(done_when="completed"), reg).status]
