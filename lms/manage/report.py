"""What a unit manager sees: members, their mandated items, counts per assignment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, or_, select

from ..assignments import (
    NOT_ASSIGNABLE_ROLES,
    AssignedItem,
    Target,
    assignments_by_person,
    build_items,
    load_targets,
    progress_by_user,
)
from ..extensions import db
from ..models import Assignment, Unit, User


def members_query(unit_id: int, q: str = "") -> Select:
    """The unit's people (guests never), by name; q searches name, email, phone, job title."""
    query = select(User).where(User.unit_id == unit_id,
                               User.role.not_in(NOT_ASSIGNABLE_ROLES))
    q = " ".join(q.split())
    if q:
        like = f"%{q}%"
        query = query.where(or_(User.name.ilike(like), User.email.ilike(like),
                                User.phone.ilike(like), User.job_title.ilike(like)))
    return query.order_by(User.name, User.id)


def count(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


@dataclass
class PersonStatus:
    person: User
    items: list[AssignedItem]

    @property
    def done(self) -> int:
        return sum(i.done for i in self.items)

    @property
    def overdue(self) -> bool:
        return any(i.overdue for i in self.items)

    @property
    def overdue_count(self) -> int:
        return sum(i.overdue for i in self.items)


def statuses(people: Sequence[User], today: date
             ) -> tuple[list[PersonStatus], dict[int, list[Assignment]],
                        dict[tuple[str, int], Target]]:
    """Each person's mandated items, with the assignments and targets involved."""
    by_person = assignments_by_person(people)
    assignments = {a.id: a for items in by_person.values() for a in items}
    targets = load_targets(assignments.values())
    modules = [m for t in targets.values() for m in t.modules]
    progress = progress_by_user([p.id for p in people], modules)
    out = [PersonStatus(p, build_items(by_person[p.id], targets, progress[p.id], today))
           for p in people]
    return out, by_person, targets


@dataclass
class AssignmentSummary:
    assignment: Assignment
    target: Target
    assigned: int = 0
    done: int = 0
    overdue: int = 0

    @property
    def not_done(self) -> int:
        return self.assigned - self.done


@dataclass
class UnitOverview:
    unit: Unit
    people: int
    summaries: list[AssignmentSummary]
    overdue_people: int


def unit_overview(unit: Unit, today: date) -> UnitOverview:
    people = list(db.session.scalars(members_query(unit.id)))
    rows, by_person, targets = statuses(people, today)
    summaries: dict[int, AssignmentSummary] = {}
    for row in rows:
        done_by_target = {(i.kind, i.target.id): i.done for i in row.items}
        for a in by_person[row.person.id]:
            target = targets.get((a.target_type, a.target_id))
            if target is None or not target.live:
                continue
            s = summaries.setdefault(a.id, AssignmentSummary(a, target))
            s.assigned += 1
            if done_by_target.get((target.kind, target.id)):
                s.done += 1
            elif a.due_date < today:
                s.overdue += 1
    ordered = sorted(summaries.values(), key=lambda s: (s.assignment.due_date, s.target.title))
    return UnitOverview(unit, len(people), ordered, sum(r.overdue for r in rows))
