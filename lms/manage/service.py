"""Creating and retiring assignments, appointing unit managers: checks, writes, audit entries.

Admins assign city-wide (`owner_unit_id` None). A unit manager assigns within their own unit:
every audience line is forced into that unit and `owner_unit_id` is set, so the assignment can
never reach anyone outside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from .. import audit
from ..accounts import find_by_contact
from ..assignments import MODELS, NOT_ASSIGNABLE_ROLES, assignees_query, norm_title, today_vn
from ..extensions import db
from ..models import Assignment, AssignmentAudience, Unit, User

MAX_LINES = 500


class ManageError(ValueError):
    """A change that cannot be made; the message is shown as it is."""


@dataclass
class AssignmentInput:
    target: str  # "programme:3"
    unit_ids: list[int] = field(default_factory=list)
    job_titles: str = ""
    titles_within_units: bool = False
    people: str = ""
    due_date: date | None = None
    note: str = ""


class InvalidAssignment(ValueError):
    """Field name -> messages, shown next to each field."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


def snapshot(a: Assignment) -> dict:
    return {"target": f"{a.target_type}:{a.target_id}", "due_date": a.due_date.isoformat(),
            "note": a.note, "owner_unit_id": a.owner_unit_id,
            "audiences": [{"unit_id": x.unit_id, "job_title": x.job_title, "user_id": x.user_id}
                          for x in a.audiences],
            "retired": a.retired_at is not None}


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, " ".join(line.split())) for n, line in enumerate(text.splitlines(), start=1)
            if line.strip()]


def _target(value: str, errors: dict[str, list[str]]) -> tuple[str, int] | None:
    kind, _, raw_id = (value or "").partition(":")
    model = MODELS.get(kind)
    obj = db.session.get(model, int(raw_id)) if model and raw_id.isdigit() else None
    if obj is None or obj.retired_at is not None:
        errors.setdefault("target", []).append("Hãy chọn chương trình, chuyên đề hoặc học phần.")
        return None
    return kind, obj.id


def _people(text: str, unit: Unit | None, errors: dict[str, list[str]]) -> list[User]:
    found: dict[int, User] = {}
    lines = _lines(text)
    if len(lines) > MAX_LINES:
        errors.setdefault("people", []).append(f"Tối đa {MAX_LINES} người mỗi lần giao.")
        return []
    for number, contact in lines:
        user = find_by_contact(contact)
        if user is None:
            message = f"Dòng {number}: không tìm thấy tài khoản «{contact}»."
        elif user.role in NOT_ASSIGNABLE_ROLES:
            message = f"Dòng {number}: «{contact}» là tài khoản khách, không giao bài được."
        elif unit is not None and user.unit_id != unit.id:
            message = f"Dòng {number}: «{contact}» không thuộc đơn vị {unit.name}."
        else:
            found[user.id] = user
            continue
        errors.setdefault("people", []).append(message)
    return list(found.values())


def _titles(text: str, errors: dict[str, list[str]]) -> list[str]:
    titles: dict[str, str] = {}
    for number, title in _lines(text):
        if len(title) > 200:
            errors.setdefault("job_titles", []).append(
                f"Dòng {number}: chức vụ dài quá 200 ký tự.")
        else:
            titles.setdefault(norm_title(title), title)
    return list(titles.values())


def _units(unit_ids: list[int], scope: Unit | None, errors: dict[str, list[str]]) -> list[Unit]:
    units = []
    for unit_id in dict.fromkeys(unit_ids):
        unit = db.session.get(Unit, unit_id)
        if unit is None or unit.retired_at is not None:
            errors.setdefault("units", []).append("Đơn vị đã chọn không còn hoạt động.")
        elif scope is not None and unit.id != scope.id:
            raise PermissionError("a unit manager assigns within their own unit only")
        else:
            units.append(unit)
    return units


def create_assignment(data: AssignmentInput, actor: User, scope: Unit | None) -> Assignment:
    """Check everything, then write the assignment and its audit entry (one commit).

    scope: None for an admin (city-wide), else the unit manager's unit. Raises
    InvalidAssignment with per-field messages, PermissionError for another unit."""
    errors: dict[str, list[str]] = {}
    target = _target(data.target, errors)
    units = _units(data.unit_ids, scope, errors)
    titles = _titles(data.job_titles, errors)
    people = _people(data.people, scope, errors)
    if data.due_date is None:
        errors.setdefault("due_date", []).append("Hãy chọn hạn hoàn thành.")
    elif data.due_date < today_vn():
        errors.setdefault("due_date", []).append("Hạn hoàn thành không được ở trong quá khứ.")
    if len(data.note) > 2000:
        errors.setdefault("note", []).append("Ghi chú dài quá 2000 ký tự.")
    if data.titles_within_units and titles and not units and scope is None:
        errors.setdefault("units", []).append(
            "Hãy chọn đơn vị để giới hạn chức vụ trong các đơn vị đó.")
    lines: list[AssignmentAudience] = []
    if scope is not None:  # a unit manager: everything inside their unit
        lines += [AssignmentAudience(unit_id=scope.id) for _ in units[:1]]
        lines += [AssignmentAudience(unit_id=scope.id, job_title=t) for t in titles]
    elif data.titles_within_units and titles:
        lines += [AssignmentAudience(unit_id=u.id, job_title=t) for u in units for t in titles]
    else:
        lines += [AssignmentAudience(unit_id=u.id) for u in units]
        lines += [AssignmentAudience(job_title=t) for t in titles]
    lines += [AssignmentAudience(user_id=u.id) for u in people]
    if not lines and not errors:
        errors.setdefault("audience", []).append(
            "Hãy chọn ít nhất một đối tượng: đơn vị, chức vụ hoặc người học.")
    if errors or target is None:
        raise InvalidAssignment(errors)
    assignment = Assignment(target_type=target[0], target_id=target[1], due_date=data.due_date,
                            note=data.note.strip(), owner_unit_id=scope.id if scope else None,
                            created_by_id=actor.id, audiences=lines)
    db.session.add(assignment)
    db.session.flush()
    after = snapshot(assignment)
    after["assignees"] = count_assignees(assignment)
    audit.record("assignment.create", "assignment", assignment.id, after=after,
                 actor_id=actor.id)
    db.session.commit()
    return assignment


def count_assignees(assignment: Assignment) -> int:
    query = assignees_query(assignment).order_by(None).with_only_columns(func.count(User.id))
    return db.session.scalar(query) or 0


def retire_assignment(assignment: Assignment, actor: User) -> None:
    if assignment.retired_at is not None:
        raise ManageError("Việc giao này đã được thu hồi.")
    before = snapshot(assignment)
    assignment.retired_at = datetime.now(UTC)
    audit.record("assignment.retire", "assignment", assignment.id, before=before,
                 after=snapshot(assignment), actor_id=actor.id)
    db.session.commit()


# --- unit managers ----------------------------------------------------------------------------


def _who(user: User) -> dict:
    return {"user_id": user.id, "name": user.name, "role": user.role, "unit_id": user.unit_id}


def appoint_manager(unit: Unit, contact: str, actor: User) -> User:
    """Make the account behind `contact` manager of `unit` (it becomes a member of the unit)."""
    if unit.retired_at is not None:
        raise ManageError("Đơn vị đã ngừng hoạt động.")
    user = find_by_contact(contact or "")
    if user is None:
        raise ManageError(f"Không tìm thấy tài khoản «{(contact or '').strip()}».")
    if user.role == "admin":
        raise ManageError("Tài khoản quản trị đã có mọi quyền; không cần giao quản lý đơn vị.")
    if user.role in NOT_ASSIGNABLE_ROLES:
        raise ManageError("Tài khoản khách không thể quản lý đơn vị.")
    if user.role == "unit_manager" and user.unit_id == unit.id:
        raise ManageError(f"{user.name} đã là người quản lý đơn vị này.")
    before = _who(user)
    user.role, user.unit_id = "unit_manager", unit.id
    audit.record("unit.manager_appoint", "unit", unit.id, before=before, after=_who(user),
                 actor_id=actor.id)
    db.session.commit()
    return user


def revoke_manager(unit: Unit, user_id: int, actor: User) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.role != "unit_manager" or user.unit_id != unit.id:
        raise ManageError("Người này không phải người quản lý đơn vị này.")
    before = _who(user)
    user.role = "learner"  # stays a member of the unit
    audit.record("unit.manager_revoke", "unit", unit.id, before=before, after=_who(user),
                 actor_id=actor.id)
    db.session.commit()
    return user


def managers_of(unit_id: int) -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.role == "unit_manager", User.unit_id == unit_id).order_by(User.name)))
