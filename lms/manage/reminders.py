"""Reminders of mandated training, sent by a daily job (lms.jobs.send_reminders) or by
`flask lms send-reminders`.

- A learner whose assigned item is due within REMINDER_DAYS (or already overdue) and not done
  gets one email listing those items with their due dates.
- Each unit manager gets one digest of their unit's overdue people.
- At most one email of each kind per person and day (Hai Phong calendar): every message sent is
  recorded in `reminders_sent` in the same transaction, so a re-run (a retry of the job, the
  CLI run by hand) sends nothing twice, and two runs at once cannot both send.
People without an email address cannot be reminded by mail; they are counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..assignments import (
    CHUNK,
    AssignedItem,
    _path,
    assignees_query,
    build_items,
    load_targets,
    progress_by_user,
    today_vn,
)
from ..extensions import db
from ..mail import Mail, connection, render_mail
from ..models import Assignment, ReminderSent, Unit, User
from .service import managers_of

LEARNER = "learner"
DIGEST = "digest"


@dataclass(frozen=True)
class Line:
    """One pending item as the emails show it (plain values: no database access later)."""

    title: str
    kind_label: str
    due_date: date
    overdue: bool
    days: int  # days left (>= 0) or days late (> 0 when overdue)
    percent: int
    url: str
    key: str  # "programme:3"

    @classmethod
    def of(cls, item: AssignedItem, today: date) -> Line:
        days = abs((item.due_date - today).days)
        return cls(item.title, item.kind_label.lower(), item.due_date, item.overdue, days,
                   item.percent, item.url, f"{item.kind}:{item.target.id}")


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str | None
    phone: str | None
    job_title: str | None
    unit_id: int | None


def pending(today: date, days: int) -> dict[Person, list[Line]]:
    """Everyone with a live assigned item due by today + days and not done, with those items."""
    horizon = today + timedelta(days=days)
    assignments = list(db.session.scalars(
        select(Assignment).where(Assignment.retired_at.is_(None), Assignment.due_date <= horizon)
        .options(selectinload(Assignment.audiences)).order_by(Assignment.id)))
    targets = load_targets(assignments)
    assignments = [a for a in assignments
                   if (t := targets.get((a.target_type, a.target_id))) is not None and t.live]
    people: dict[int, User] = {}
    by_person: dict[int, list[Assignment]] = defaultdict(list)
    for a in assignments:
        for user in db.session.scalars(assignees_query(a)):
            people[user.id] = user
            by_person[user.id].append(a)
    modules = list({m.id: m for t in targets.values() for m in t.modules}.values())
    ids = sorted(people)
    out: dict[Person, list[Line]] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        progress = progress_by_user(chunk, modules)
        for uid in chunk:
            items = build_items(by_person[uid], targets, progress[uid], today)
            lines = [Line.of(item, today) for item in items if not item.done]
            if lines:
                u = people[uid]
                out[Person(u.id, u.name, u.email, u.phone, u.job_title, u.unit_id)] = lines
    return out


def _send_once(send: Callable[..., str], kind: str, person_id: int, email: str, day: date,
               mail: Mail, lines: list[Line]) -> bool:
    """Record, send, commit: the record is only kept if the message went out, and a second
    run finds the record (or blocks on it and then finds it) instead of sending again."""
    db.session.add(ReminderSent(kind=kind, user_id=person_id, day=day, items=[
        {"target": line.key, "due_date": line.due_date.isoformat()} for line in lines]))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    try:
        send(email, *mail)
    except BaseException:
        db.session.rollback()  # not sent: not recorded, the retry sends it
        raise
    db.session.commit()
    return True


def send_reminders(today: date | None = None, days: int | None = None) -> dict[str, int]:
    """Send today's reminders and digests; returns counts (learners, digests, already_sent,
    no_email). A delivery error propagates after the messages already sent were recorded, so
    a retried job continues where this one stopped."""
    today = today or today_vn()
    days = current_app.config.get("REMINDER_DAYS", 7) if days is None else days
    base = current_app.config.get("PUBLIC_URL", "")
    todo = pending(today, days)
    already = {(kind, user_id) for kind, user_id in db.session.execute(
        select(ReminderSent.kind, ReminderSent.user_id).where(ReminderSent.day == today))}
    overdue_by_unit: dict[int, list[tuple[Person, list[Line]]]] = defaultdict(list)
    for person, lines in todo.items():
        late = [line for line in lines if line.overdue]
        if late and person.unit_id is not None:
            overdue_by_unit[person.unit_id].append((person, late))
    digests = []
    for unit_id, rows in sorted(overdue_by_unit.items()):
        unit = db.session.get(Unit, unit_id)
        rows.sort(key=lambda r: (r[0].name, r[0].id))
        digests += [(Person(m.id, m.name, m.email, m.phone, m.job_title, m.unit_id), unit.name,
                     rows) for m in managers_of(unit_id)]
    db.session.commit()  # nothing written yet: end the read transaction before sending
    counts: Counter[str] = Counter(learners=0, digests=0, already_sent=0, no_email=0)
    with connection() as send:
        for person, lines in sorted(todo.items(), key=lambda pl: pl[0].id):
            if not person.email:
                counts["no_email"] += 1
            elif (LEARNER, person.id) in already:
                counts["already_sent"] += 1
            else:
                mail = render_mail("reminder", person=person, lines=lines, today=today,
                                   base=base, overdue=any(line.overdue for line in lines))
                if _send_once(send, LEARNER, person.id, person.email, today, mail, lines):
                    counts["learners"] += 1
                else:
                    counts["already_sent"] += 1
        for manager, unit_name, rows in digests:
            if not manager.email:
                counts["no_email"] += 1
            elif (DIGEST, manager.id) in already:
                counts["already_sent"] += 1
            else:
                mail = render_mail("overdue_digest", manager=manager, unit_name=unit_name,
                                   rows=rows, today=today, base=base,
                                   link=base + _path("manage.people", status="overdue"))
                lines = [line for _, late in rows for line in late]
                if _send_once(send, DIGEST, manager.id, manager.email, today, mail, lines):
                    counts["digests"] += 1
                else:
                    counts["already_sent"] += 1
    return dict(counts)
