"""Who may see and start what in the catalog, and self-enrolment.

A learner may start a module of an open programme, or one assigned to them (through
`lms.assignments.is_assigned`) or of a programme they are enrolled in; admins may start any
module. Retired programmes, topics and modules are hidden from everyone but admins.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import assignments
from ..extensions import db
from ..guest import is_guest
from ..models import Enrollment, Module, Programme, Topic, User


def signed_in(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def assigned_items(user: User) -> list[assignments.AssignedItem]:
    """The learner's mandated items (`lms.assignments`); none for visitors and guests."""
    if not signed_in(user) or is_guest(user):
        return []
    return assignments.assigned_items(user)


def is_assigned(user: User, module: Module) -> bool:
    if not signed_in(user) or is_guest(user):
        return False
    return assignments.is_assigned(user, module)


def is_admin(user: object) -> bool:
    return signed_in(user) and bool(getattr(user, "is_admin", False))


def programme_live(programme: Programme) -> bool:
    return programme.retired_at is None


def topic_live(topic: Topic) -> bool:
    return topic.retired_at is None and programme_live(topic.programme)


def module_live(module: Module) -> bool:
    return module.retired_at is None and topic_live(module.topic)


def can_view_programme(user: object, programme: Programme) -> bool:
    return programme_live(programme) or is_admin(user)


def can_view_module(user: object, module: Module) -> bool:
    return module_live(module) or is_admin(user)


def enrolment(user: object, programme: Programme) -> Enrollment | None:
    if not signed_in(user):
        return None
    return db.session.scalar(select(Enrollment).where(
        Enrollment.user_id == user.id, Enrollment.programme_id == programme.id))


def playable(module: Module) -> bool:
    return module.package is not None and module.package.current_version_id is not None


def may_learn(user: object, module: Module) -> bool:
    """May this user study the module (whether or not a package is linked yet)?"""
    if not signed_in(user):
        return False
    if is_admin(user):
        return True
    if not module_live(module):
        return False
    programme = module.topic.programme
    if programme.open:
        return True
    if is_guest(user):
        return False
    return is_assigned(user, module) or enrolment(user, programme) is not None


def can_start(user: object, module: Module) -> bool:
    return playable(module) and may_learn(user, module)


def can_enrol(user: object, programme: Programme) -> bool:
    """Self-enrolment: open, live programmes only (closed classes are assigned)."""
    return programme.open and programme_live(programme)


def package_allowed(user: object, package_id: int) -> bool:
    """May the user launch this package outside the catalog pages (the plain /packages list)?

    A package that delivers catalog modules follows the modules' rules; any other package is
    for signed-in accounts (not guests), as before the catalog existed.
    """
    return package_id in allowed_package_ids(user, [package_id])


def enrol(user: User, programme: Programme, source: str = "self") -> Enrollment:
    """Enrol (idempotent: a second call, even a concurrent one, returns the same row)."""
    existing = enrolment(user, programme)
    if existing is not None:
        return existing
    row = Enrollment(user_id=user.id, programme_id=programme.id, source=source)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return enrolment(user, programme)  # type: ignore[return-value]
    return row


def allowed_package_ids(user: object, package_ids: list[int]) -> set[int]:
    """`package_allowed` for many packages at once (a few queries, not one per package)."""
    if is_admin(user):
        return set(package_ids)
    if not signed_in(user):
        return set()
    modules = db.session.scalars(select(Module).where(Module.package_id.in_(package_ids))).all()
    by_package: dict[int, list[Module]] = {}
    for m in modules:
        by_package.setdefault(m.package_id, []).append(m)  # type: ignore[arg-type]
    guest = is_guest(user)
    enrolled: set[int] = set()
    covered: set[int] = set()
    if not guest:
        enrolled = set(db.session.scalars(select(Enrollment.programme_id).where(
            Enrollment.user_id == user.id)))  # type: ignore[attr-defined]
        for item in assigned_items(user):  # type: ignore[arg-type]
            covered.update(m.id for m in item.target.modules)

    def ok(m: Module) -> bool:
        prog = m.topic.programme
        return module_live(m) and (prog.open or m.id in covered or prog.id in enrolled)

    return {pid for pid in package_ids
            if (not guest if pid not in by_package else any(ok(m) for m in by_package[pid]))}
