"""What the learner pages show: programmes, topics and modules with this learner's progress.

Views only read here; they decide nothing about access (that is `access`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import progress
from ..extensions import db
from ..models import Enrollment, Module, ModuleCompetency, Programme, Topic
from . import access, labels


@dataclass
class ModuleRow:
    module: Module
    progress: progress.ModuleProgress
    playable: bool

    @property
    def status_label(self) -> str:
        return labels.status_label(self.progress.status)

    @property
    def time_text(self) -> str:
        return labels.time_spent(self.progress.seconds)

    @property
    def started(self) -> bool:
        return self.progress.status != progress.NOT_STARTED


@dataclass
class TopicView:
    topic: Topic
    rollup: progress.Rollup
    modules: list[ModuleRow]

    @property
    def status_label(self) -> str:
        return labels.status_label(self.rollup.status)


@dataclass
class ProgrammeView:
    programme: Programme
    rollup: progress.Rollup
    topics: list[TopicView]
    enrolled: bool
    member: bool  # enrolled, assigned (any part) or admin: may study although closed
    signed_in: bool
    next_row: ModuleRow | None = None
    rule: str = ""
    assigned: bool = False

    @property
    def status_label(self) -> str:
        return labels.status_label(self.rollup.status)

    @property
    def may_study(self) -> bool:
        return self.programme.open or self.member

    @property
    def can_enrol(self) -> bool:
        return (self.signed_in and not self.enrolled and access.can_enrol(None, self.programme))

    @property
    def modules(self) -> list[ModuleRow]:
        return [row for t in self.topics for row in t.modules]


@dataclass
class Assigned:
    items: list = field(default_factory=list)
    programme_ids: set[int] = field(default_factory=set)


def assigned_for(user: object) -> Assigned:
    """The learner's mandated items (from `lms.assignments`) and what they cover."""
    items = access.assigned_items(user)  # type: ignore[arg-type]
    out = Assigned(items=items)
    for item in items:
        for module in item.target.modules:
            out.programme_ids.add(module.topic.programme_id)
        if isinstance(item.target.obj, Programme):
            out.programme_ids.add(item.target.obj.id)
    return out


# A programme's topics, modules and packages in three queries (not one per topic).
TREE = selectinload(Programme.topics).selectinload(Topic.modules).selectinload(Module.package)


def visible_programmes(user: object) -> list[Programme]:
    query = select(Programme).order_by(Programme.position, Programme.id).options(TREE)
    if not access.is_admin(user):
        query = query.where(Programme.retired_at.is_(None))
    return list(db.session.scalars(query))


def _enrolled_ids(user: object) -> set[int]:
    if not access.signed_in(user):
        return set()
    return set(db.session.scalars(
        select(Enrollment.programme_id).where(Enrollment.user_id == user.id)))  # type: ignore[attr-defined]


def _visible_topics(user: object, programme: Programme) -> list[Topic]:
    admin = access.is_admin(user)
    return [t for t in programme.topics if admin or t.retired_at is None]


def _visible_modules(user: object, topic: Topic) -> list[Module]:
    admin = access.is_admin(user)
    return [m for m in topic.modules if admin or m.retired_at is None]


def next_row(rows: list[ModuleRow]) -> ModuleRow | None:
    """Where to continue: the first module in progress, else the first one not done yet."""
    live = [r for r in rows if r.module.retired_at is None]
    for row in live:
        if row.progress.status in (progress.IN_PROGRESS, progress.FAILED):
            return row
    for row in live:
        if not row.progress.done:
            return row
    return None


def _user_id(user: object) -> int | None:
    return getattr(user, "id", None) if access.signed_in(user) else None


def programme_view(user: object, programme: Programme, assigned: Assigned,
                   enrolled_ids: set[int] | None = None,
                   prog: dict[int, progress.ModuleProgress] | None = None) -> ProgrammeView:
    """`prog`: the learner's progress, already read for (at least) this programme's modules."""
    if enrolled_ids is None:
        enrolled_ids = _enrolled_ids(user)
    topics = {t: _visible_modules(user, t) for t in _visible_topics(user, programme)}
    if prog is None:
        prog = progress.modules_progress(_user_id(user), [m for ms in topics.values() for m in ms])
    topic_views = [
        TopicView(t, progress.topic_rollup(t, prog),
                  [ModuleRow(m, prog[m.id], access.playable(m)) for m in modules])
        for t, modules in topics.items()
    ]
    enrolled = programme.id in enrolled_ids
    is_assigned = programme.id in assigned.programme_ids
    view = ProgrammeView(
        programme=programme,
        rollup=progress.programme_rollup(programme, prog),
        topics=topic_views,
        enrolled=enrolled,
        member=enrolled or is_assigned or access.is_admin(user),
        signed_in=access.signed_in(user),
        rule=labels.rule_words(programme),
        assigned=is_assigned,
    )
    view.next_row = next_row(view.modules)
    return view


def catalog(user: object) -> tuple[Assigned, list[ProgrammeView]]:
    assigned = assigned_for(user)
    enrolled = _enrolled_ids(user)
    programmes = visible_programmes(user)
    # One registrations query for the whole catalog, not one per programme.
    modules = [m for p in programmes for t in p.topics for m in t.modules]
    prog = progress.modules_progress(_user_id(user), modules)
    views = [programme_view(user, p, assigned, enrolled, prog) for p in programmes]
    return assigned, views


def competencies(module: Module) -> list[dict]:
    """The module's framework competencies with their names and levels, in framework order."""
    rows = db.session.scalars(
        select(ModuleCompetency).where(ModuleCompetency.module_id == module.id)
        .options(selectinload(ModuleCompetency.competency))).all()
    rows = sorted(rows, key=lambda mc: mc.competency.position)
    return [{"code": mc.competency.code, "name": mc.competency.name,
             "domain": mc.competency.domain_name,
             "level": labels.level_text(mc.competency.framework, mc.level)} for mc in rows]


def module_row(user: object, module: Module) -> ModuleRow:
    prog = progress.modules_progress(_user_id(user), [module])
    return ModuleRow(module, prog[module.id], access.playable(module))
