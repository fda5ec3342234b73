"""Guests ("Học ngay"): learning an open programme's module without an account.

A guest is a `User` with role "guest", no email or phone and an unusable password, logged in
for the browser session only. When the person then registers or logs in, `adopt_guest` moves
everything the guest did into that account in one transaction and deletes the guest row.
Guests never reach admin or manager pages, and old guests nobody adopted are removed by
`flask lms purge-guests --days 30`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, abort, current_app, request, session
from flask_login import current_user, login_user, user_logged_in, user_logged_out
from sqlalchemy import delete, exists, func, select

from . import audit
from .extensions import db
from .models import (
    ApiToken,
    AssignmentAudience,
    Attempt,
    Enrollment,
    Interaction,
    LearnerGlobal,
    Objective,
    Registration,
    ScoState,
    User,
    utcnow,
)
from .tracking import RANK_COMPLETION, RANK_SUCCESS

ROLE = "guest"
NAME = "Khách"
UNUSABLE_PASSWORD = "!guest"
# Pages where a guest is treated as signed out, so the forms show instead of a redirect.
AUTH_ENDPOINTS = {"auth.login", "auth.register", "auth.forgot_password", "auth.reset_password"}
FORBIDDEN_PREFIXES = ("/admin", "/manage")
FORBIDDEN_BLUEPRINTS = {"people", "manage", "admin_catalog"}


def is_guest(user: object) -> bool:
    return getattr(user, "role", None) == ROLE


def start_guest() -> User:
    """Create a guest and log it in for this browser session only."""
    guest = User(name=NAME, role=ROLE, password_hash=UNUSABLE_PASSWORD)
    db.session.add(guest)
    db.session.commit()
    login_user(guest, remember=False)
    session["guest"] = True
    session["guest_id"] = guest.id
    return guest


def _forget_guest() -> None:
    session.pop("guest", None)
    session.pop("guest_id", None)


# --- adoption -------------------------------------------------------------------------------


def _better(rank: dict[str, int], a: str, b: str) -> str:
    return a if rank.get(a, 0) >= rank.get(b, 0) else b


def _naive(value: datetime | None) -> datetime:
    """Comparable timestamps (SQLite hands back naive UTC, PostgreSQL aware)."""
    if value is None:
        return datetime.min
    return value.replace(tzinfo=None) if value.tzinfo else value


def _last_activity(attempt: Attempt) -> datetime:
    stamp = db.session.scalar(
        select(func.max(ScoState.updated_at)).where(ScoState.attempt_id == attempt.id))
    return max(_naive(stamp), _naive(attempt.started_at))


def _merge_registration(keep: Registration, other: Registration) -> None:
    """Merge the guest's registration `other` into the account's `keep` (same package).

    The rule (nothing is ever deleted but the emptied guest row):
    - every attempt of both is kept, with all its SCO states, interactions and objectives;
    - attempts are renumbered by their last activity, oldest first, so the attempt worked on
      most recently (usually the guest's, just now) is the current one the player resumes;
      the registration runs on the package version of that newest attempt;
    - the package-level result is the better of the two: completion and success by rank
      (a pass is never lost), the higher score, the time of both added up, the earlier
      completion date.
    """
    both = [(keep, a) for a in db.session.scalars(
        select(Attempt).where(Attempt.registration_id == keep.id))]
    both += [(other, a) for a in db.session.scalars(
        select(Attempt).where(Attempt.registration_id == other.id))]
    both.sort(key=lambda pair: (_last_activity(pair[1]), pair[0] is other, pair[1].number))
    # Renumber in two steps so the unique (registration, number) never collides midway.
    for n, (_, attempt) in enumerate(both, start=1):
        attempt.registration_id = keep.id
        attempt.number = -n
    db.session.flush()
    for _, attempt in both:
        attempt.number = -attempt.number
    if both:
        keep.package_version_id = both[-1][0].package_version_id
    completion = _better(RANK_COMPLETION, keep.completion_status, other.completion_status)
    if completion != keep.completion_status:
        keep.decided_by = other.decided_by
    keep.completion_status = completion
    keep.success_status = _better(RANK_SUCCESS, keep.success_status, other.success_status)
    scores = [s for s in (keep.score_scaled, other.score_scaled) if s is not None]
    keep.score_scaled = max(scores) if scores else None
    keep.total_seconds = (keep.total_seconds or 0.0) + (other.total_seconds or 0.0)
    done = [d for d in (keep.completed_at, other.completed_at) if d is not None]
    keep.completed_at = min(done, key=_naive) if done else None
    keep.created_at = min(keep.created_at, other.created_at, key=_naive)
    keep.updated_at = max(keep.updated_at, other.updated_at, key=_naive)
    db.session.flush()  # attempts leave `other` before it is deleted
    db.session.delete(other)


def _move_registrations(guest: User, account: User) -> int:
    mine = {r.package_id: r for r in db.session.scalars(
        select(Registration).where(Registration.user_id == account.id))}
    theirs = db.session.scalars(select(Registration).where(Registration.user_id == guest.id)).all()
    for reg in theirs:
        if reg.package_id in mine:
            _merge_registration(mine[reg.package_id], reg)
        else:
            reg.user_id = account.id
    return len(theirs)


def _move_enrollments(guest: User, account: User) -> None:
    mine = {e.programme_id: e for e in db.session.scalars(
        select(Enrollment).where(Enrollment.user_id == account.id))}
    for enr in db.session.scalars(select(Enrollment).where(Enrollment.user_id == guest.id)):
        keep = mine.get(enr.programme_id)
        if keep is None:
            enr.user_id = account.id
            continue
        keep.created_at = min(keep.created_at, enr.created_at, key=_naive)
        done = [d for d in (keep.completed_at, enr.completed_at) if d is not None]
        keep.completed_at = min(done, key=_naive) if done else None
        db.session.delete(enr)


def _move_globals(guest: User, account: User) -> None:
    """Global objectives and shared data; where both have a key, the newer value wins."""
    mine = {(g.kind, g.scope, g.key): g for g in db.session.scalars(
        select(LearnerGlobal).where(LearnerGlobal.user_id == account.id))}
    for row in db.session.scalars(select(LearnerGlobal).where(LearnerGlobal.user_id == guest.id)):
        keep = mine.get((row.kind, row.scope, row.key))
        if keep is None:
            row.user_id = account.id
            continue
        if _naive(row.updated_at) > _naive(keep.updated_at):
            keep.value, keep.updated_at = row.value, row.updated_at
        db.session.delete(row)


def adopt_guest(account: User, guest_id: int | None = None) -> bool:
    """Carry the session's guest (or `guest_id`) into `account`, then delete the guest.

    Registrations the account lacks move over; for a package both have, the guest's attempts
    go after the account's and the registration keeps the better result. One transaction.
    """
    if guest_id is None:
        guest_id = session.get("guest_id")
        _forget_guest()
    if not guest_id or is_guest(account):
        return False
    guest = db.session.get(User, int(guest_id))
    if guest is None or not is_guest(guest) or guest.id == account.id:
        return False
    try:
        moved = _move_registrations(guest, account)
        _move_enrollments(guest, account)
        _move_globals(guest, account)
        db.session.flush()
        _delete_users([guest.id])
        audit.record("guest.adopt", "user", account.id, before={"guest_id": guest.id},
                     after={"registrations": moved}, actor_id=account.id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return True


# --- clean-up -------------------------------------------------------------------------------


def _delete_users(user_ids: list[int]) -> None:
    """Delete users with everything that hangs off them (explicitly: SQLite keeps no cascades)."""
    if not user_ids:
        return
    regs = select(Registration.id).where(Registration.user_id.in_(user_ids))
    attempts = select(Attempt.id).where(Attempt.registration_id.in_(regs))
    states = select(ScoState.id).where(ScoState.attempt_id.in_(attempts))
    for stmt in (
        delete(Interaction).where(Interaction.sco_state_id.in_(states)),
        delete(Objective).where(Objective.sco_state_id.in_(states)),
        delete(ScoState).where(ScoState.attempt_id.in_(attempts)),
        delete(Attempt).where(Attempt.registration_id.in_(regs)),
        delete(Registration).where(Registration.user_id.in_(user_ids)),
        delete(LearnerGlobal).where(LearnerGlobal.user_id.in_(user_ids)),
        delete(Enrollment).where(Enrollment.user_id.in_(user_ids)),
        delete(ApiToken).where(ApiToken.user_id.in_(user_ids)),
        delete(AssignmentAudience).where(AssignmentAudience.user_id.in_(user_ids)),
        delete(User).where(User.id.in_(user_ids)),
    ):
        db.session.execute(stmt.execution_options(synchronize_session=False))


def purge_guests(days: int) -> int:
    """Delete guests created more than `days` ago with no progress saved since then."""
    cutoff = utcnow() - timedelta(days=days)
    recent = exists().where(Registration.user_id == User.id, Registration.updated_at >= cutoff)
    ids = list(db.session.scalars(
        select(User.id).where(User.role == ROLE, User.created_at < cutoff, ~recent)))
    try:
        _delete_users(ids)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return len(ids)


# --- request hooks --------------------------------------------------------------------------


def _guest_rules() -> None:
    if not session.get("guest"):  # cheap: no user load on ordinary requests
        return
    if not is_guest(current_user):
        return
    if request.endpoint in AUTH_ENDPOINTS:
        # Let the guest see the login and sign-up forms; success adopts the guest.
        current_app.login_manager._update_request_context_with_user()
        return
    if request.path.startswith(FORBIDDEN_PREFIXES) or request.blueprint in FORBIDDEN_BLUEPRINTS:
        abort(403)


def _on_login(sender, user, **extra) -> None:
    if not is_guest(user) and session.get("guest_id"):
        adopt_guest(user)


def _on_logout(sender, user, **extra) -> None:
    _forget_guest()  # a shared phone: the next person must not inherit the guest's work


def init_guest(app: Flask) -> None:
    app.before_request(_guest_rules)
    user_logged_in.connect(_on_login, app)
    user_logged_out.connect(_on_logout, app)
    app.context_processor(lambda: {"is_guest": is_guest})

