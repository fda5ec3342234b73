"""Mandated training: who is assigned what, by when, and how far they are.

An assignment names a target (programme, topic or module) and audience lines (a unit, a job title
optionally within a unit, or one person). Who is assigned is computed at read time from those
lines, so a person who joins an assigned unit later inherits the assignment with no extra
write. Guests are never assigned. An assignment made by a unit manager (`owner_unit_id` set)
only ever reaches people of that unit, whatever its lines say.

Programme assignments enrol lazily: `enrol_if_assigned` adds the Enrollment (source
"assignment") when the learner opens the programme, so creating an assignment for a whole city
writes no per-person rows and later members are handled the same way as the first ones.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

from flask import current_app, has_request_context, url_for
from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .extensions import db
from .models import (
    Assignment,
    AssignmentAudience,
    Enrollment,
    Module,
    Programme,
    Registration,
    Topic,
    User,
)
from .progress import (
    ModuleProgress,
    live_modules,
    module_status,
    programme_rollup,
    topic_rollup,
)

VIETNAM = timezone(timedelta(hours=7), "ICT")
NOT_ASSIGNABLE_ROLES = ("guest",)
KINDS = {"programme": "Chương trình", "topic": "Chuyên đề", "module": "Học phần"}
CHUNK = 500  # ids per IN (...) list


def today_vn() -> date:
    """Today in Hai Phong: due dates are calendar days there."""
    return datetime.now(VIETNAM).date()


def norm_title(value: str | None) -> str:
    """Job titles compare case-insensitively, trimmed, inner spaces collapsed, NFC."""
    return " ".join(unicodedata.normalize("NFC", value or "").split()).casefold()


class Person(Protocol):
    """A User or a row with these columns."""

    id: int
    role: str
    unit_id: int | None
    job_title: str | None


# --- matching: Python (one person) and SQL (everyone) agree -----------------------------------


def line_applies(line: AssignmentAudience, person: Person) -> bool:
    if line.user_id is not None:
        return line.user_id == person.id
    if line.job_title:
        same_title = norm_title(person.job_title) == norm_title(line.job_title)
        return same_title and (line.unit_id is None or line.unit_id == person.unit_id)
    return line.unit_id is not None and line.unit_id == person.unit_id


def applies(assignment: Assignment, person: Person) -> bool:
    """Is this person assigned by this assignment (whatever its state)?"""
    if person.role in NOT_ASSIGNABLE_ROLES:
        return False
    if assignment.owner_unit_id is not None and person.unit_id != assignment.owner_unit_id:
        return False
    return any(line_applies(line, person) for line in assignment.audiences)


def _titles_matching(wanted: str, unit_id: int | None) -> list[str]:
    """The stored job-title spellings that match `wanted`. Case folding is done in Python:
    SQLite's lower() and PostgreSQL's under the C collation only fold ASCII letters."""
    query = select(User.job_title).where(User.job_title.is_not(None)).distinct()
    if unit_id is not None:
        query = query.where(User.unit_id == unit_id)
    key = norm_title(wanted)
    return [t for t in db.session.scalars(query) if norm_title(t) == key]


def _line_clause(line: AssignmentAudience) -> ColumnElement[bool]:
    if line.user_id is not None:
        return User.id == line.user_id
    if line.job_title:
        titles = _titles_matching(line.job_title, line.unit_id)
        if not titles:
            return false()
        clause = User.job_title.in_(titles)
        return and_(clause, User.unit_id == line.unit_id) if line.unit_id else clause
    if line.unit_id is not None:
        return User.unit_id == line.unit_id
    return false()


def assignees_query(assignment: Assignment) -> Select:
    """SELECT of the users an assignment reaches now (guests never)."""
    lines = [_line_clause(line) for line in assignment.audiences]
    query = select(User).where(User.role.not_in(NOT_ASSIGNABLE_ROLES),
                               or_(*lines) if lines else false())
    if assignment.owner_unit_id is not None:
        query = query.where(User.unit_id == assignment.owner_unit_id)
    return query.order_by(User.id)


def _candidates(person_ids: Sequence[int] = (), unit_ids: Sequence[int] = ()) -> Select:
    """Live assignments that may reach these people: a cheap SQL filter, refined by `applies`."""
    conds = [and_(AssignmentAudience.job_title.is_not(None),
                  AssignmentAudience.unit_id.is_(None))]
    if person_ids:
        conds.append(AssignmentAudience.user_id.in_(person_ids))
    if unit_ids:
        conds.append(AssignmentAudience.unit_id.in_(unit_ids))
    lines = select(AssignmentAudience.assignment_id).where(or_(*conds))
    return (select(Assignment)
            .where(Assignment.retired_at.is_(None), Assignment.id.in_(lines))
            .options(selectinload(Assignment.audiences))
            .order_by(Assignment.due_date, Assignment.id))


def assignments_for(person: Person) -> list[Assignment]:
    """The live assignments that reach one person."""
    if person is None or person.role in NOT_ASSIGNABLE_ROLES:
        return []
    units = [person.unit_id] if person.unit_id is not None else []
    rows = db.session.scalars(_candidates([person.id], units)).all()
    return [a for a in rows if applies(a, person)]


def assignments_by_person(people: Sequence[Person]) -> dict[int, list[Assignment]]:
    """The live assignments reaching each of these people (a unit's members, a page)."""
    if not people:
        return {}
    ids = [p.id for p in people]
    units = sorted({p.unit_id for p in people if p.unit_id is not None})
    found: dict[int, Assignment] = {}
    for i in range(0, len(ids), CHUNK):
        for a in db.session.scalars(_candidates(ids[i:i + CHUNK], units)):
            found[a.id] = a
    ordered = sorted(found.values(), key=lambda a: (a.due_date, a.id))
    return {p.id: [a for a in ordered if applies(a, p)] for p in people}


# --- targets and progress ---------------------------------------------------------------------


@dataclass
class Target:
    kind: str
    id: int
    title: str
    obj: Programme | Topic | Module

    @property
    def modules(self) -> list[Module]:
        if isinstance(self.obj, Programme):
            return live_modules(self.obj)
        if isinstance(self.obj, Topic):
            return [m for m in self.obj.modules if m.retired_at is None]
        return [self.obj]

    @property
    def live(self) -> bool:
        return self.obj.retired_at is None

    def status(self, progress: dict[int, ModuleProgress]) -> tuple[bool, int]:
        """(done, percent) for one learner's module progress."""
        if isinstance(self.obj, Programme):
            r = programme_rollup(self.obj, progress)
            return r.complete, r.percent
        if isinstance(self.obj, Topic):
            r = topic_rollup(self.obj, progress)
            return r.complete, r.percent
        done = progress[self.obj.id].done
        return done, 100 if done else 0


MODELS: dict[str, type[Programme] | type[Topic] | type[Module]] = {
    "programme": Programme, "topic": Topic, "module": Module}


def load_targets(assignments: Iterable[Assignment]) -> dict[tuple[str, int], Target]:
    wanted: dict[str, set[int]] = {}
    for a in assignments:
        wanted.setdefault(a.target_type, set()).add(a.target_id)
    out: dict[tuple[str, int], Target] = {}
    for kind, ids in wanted.items():
        model = MODELS.get(kind)
        if model is None:
            continue
        for obj in db.session.scalars(select(model).where(model.id.in_(ids))):
            out[(kind, obj.id)] = Target(kind, obj.id, obj.title, obj)
    return out


def progress_by_user(user_ids: Sequence[int], modules: Iterable[Module]
                     ) -> dict[int, dict[int, ModuleProgress]]:
    """Every user's progress in these modules, from their registrations (chunked queries)."""
    modules = {m.id: m for m in modules}.values()
    package_ids = {m.package_id for m in modules if m.package_id is not None}
    regs: dict[tuple[int, int], Registration] = {}
    if package_ids:
        for i in range(0, len(user_ids), CHUNK):
            for r in db.session.scalars(select(Registration).where(
                    Registration.user_id.in_(user_ids[i:i + CHUNK]),
                    Registration.package_id.in_(package_ids))):
                regs[(r.user_id, r.package_id)] = r
    return {uid: {m.id: module_status(m, regs.get((uid, m.package_id))) for m in modules}
            for uid in user_ids}


# --- what a learner sees ----------------------------------------------------------------------


def _path(endpoint: str, **values: object) -> str:
    """A URL path for an endpoint, also outside a request (reminder jobs)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def target_url(target: Target) -> str:
    obj = target.obj
    if isinstance(obj, Programme):
        return _path("learn.programme", code=obj.code)
    if isinstance(obj, Topic):
        return _path("learn.topic", code=obj.code)
    return _path("learn.module", code=obj.code)


@dataclass
class AssignedItem:
    title: str
    kind: str  # programme | topic | module
    due_date: date
    done: bool
    percent: int
    overdue: bool
    target: Target = field(repr=False)
    assignment_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The learner page of the target, computed when asked."""
        return target_url(self.target)

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def days_left(self) -> int:
        return (self.due_date - today_vn()).days


def sort_key(item: AssignedItem) -> tuple:
    return (item.done, item.due_date, item.title)


def build_items(assignments: Sequence[Assignment], targets: dict[tuple[str, int], Target],
                progress: dict[int, ModuleProgress], today: date) -> list[AssignedItem]:
    """One item per target (the earliest due date wins when several assignments name it)."""
    items: dict[tuple[str, int], AssignedItem] = {}
    for a in assignments:
        target = targets.get((a.target_type, a.target_id))
        if target is None or not target.live:
            continue
        key = (target.kind, target.id)
        item = items.get(key)
        if item is None:
            done, percent = target.status(progress)
            item = items[key] = AssignedItem(target.title, target.kind, a.due_date, done,
                                             percent, False, target)
        item.due_date = min(item.due_date, a.due_date)
        item.assignment_ids.append(a.id)
        if a.note:
            item.notes.append(a.note)
    for item in items.values():
        item.overdue = not item.done and item.due_date < today
    return sorted(items.values(), key=sort_key)


def assigned_items(user: Person, today: date | None = None) -> list[AssignedItem]:
    """What this learner must finish, not-done first by due date."""
    if user is None or not getattr(user, "is_authenticated", True):
        return []
    assignments = assignments_for(user)
    if not assignments:
        return []
    targets = load_targets(assignments)
    modules = [m for t in targets.values() for m in t.modules]
    progress = progress_by_user([user.id], modules)[user.id]
    return build_items(assignments, targets, progress, today or today_vn())


def _covers(assignment: Assignment, module: Module) -> bool:
    kind, tid = assignment.target_type, assignment.target_id
    return ((kind == "module" and tid == module.id)
            or (kind == "topic" and tid == module.topic_id)
            or (kind == "programme" and tid == module.topic.programme_id))


def is_assigned(user: Person, obj: Module | Topic | Programme) -> bool:
    """Does a live assignment of this person cover the module (or the topic/programme)?"""
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    assignments = assignments_for(user)
    if isinstance(obj, Module):
        return any(_covers(a, obj) for a in assignments)
    if isinstance(obj, Topic):
        return any((a.target_type == "topic" and a.target_id == obj.id)
                   or (a.target_type == "programme" and a.target_id == obj.programme_id)
                   for a in assignments)
    return any(a.target_type == "programme" and a.target_id == obj.id for a in assignments)


def enrol_if_assigned(user: Person, programme: Programme) -> Enrollment | None:
    """Enrol (source "assignment") when a programme assignment reaches the learner and they are
    not enrolled yet; call it when the learner opens the programme. Commits."""
    existing = db.session.scalar(select(Enrollment).where(
        Enrollment.user_id == user.id, Enrollment.programme_id == programme.id))
    if existing is not None:
        return existing
    if not any(a.target_type == "programme" and a.target_id == programme.id
               for a in assignments_for(user)):
        return None
    enrollment = Enrollment(user_id=user.id, programme_id=programme.id, source="assignment")
    db.session.add(enrollment)
    try:
        db.session.commit()
    except IntegrityError:  # the same learner opened it twice at once
        db.session.rollback()
        return db.session.scalar(select(Enrollment).where(
            Enrollment.user_id == user.id, Enrollment.programme_id == programme.id))
    return enrollment
