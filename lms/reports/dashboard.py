"""City and unit dashboards: figures read from small summary tables.

`refresh()` rebuilds the summaries (`Dash*` models) from the tracking tables with set-based SQL,
in one transaction: readers keep seeing the previous figures until it commits, and a failed
refresh leaves them untouched. It runs as an RQ job (`lms.jobs.refresh_dashboards`, every
`DASHBOARD_REFRESH_MINUTES` on a worker), from `flask lms refresh-dashboards`, or when an admin
asks for it. The pages then read a few hundred rows at most, whatever the number of learners.

Definitions (the same rules as `lms.progress` and the roster export):
- a learner of a programme: an enrolment (guests excluded); their unit is their unit, else the
  commune they live in;
- completed: the programme's completion rule is met over its required live modules (each done
  as `Module.done_when` says); the completion date is the last of those modules' done dates;
- mandated: reached by a live programme assignment (`lms.assignments.assignees_query`), enrolled
  or not; a unit's rate is mandated-and-completed / mandated, against `Programme.target_rate`;
- citizens: accounts with role learner and no unit, counted in their residence commune.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    Select,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from ..assignments import assignees_query
from ..extensions import db
from ..models import (
    Assignment,
    DashCommune,
    DashLearnerProgress,
    DashMonthly,
    DashRefresh,
    DashUnitProgramme,
    Enrollment,
    Programme,
    Registration,
    Unit,
    User,
)
from ..progress import NOT_STARTED, live_modules, needed_modules
from .roster import EXCLUDED_ROLES, done_expr, done_moment, learner_unit, localtime, status_expr

DEFAULT_TARGET = 80
BEHIND_COUNT = 10


# --- SQL helpers ------------------------------------------------------------------------------


def _dialect() -> str:
    return db.engine.dialect.name


def month_of(expr: ColumnElement) -> ColumnElement:
    """"YYYY-MM" of a UTC timestamp, in Vietnam time (no daylight saving: +7 hours)."""
    if _dialect() == "postgresql":
        return func.to_char(func.timezone("Asia/Ho_Chi_Minh", expr), "YYYY-MM")
    return func.strftime("%Y-%m", expr, "+7 hours")


def _flag(cond: ColumnElement[bool]) -> ColumnElement:
    return case((cond, 1), else_=0)


# --- refresh ----------------------------------------------------------------------------------


def _pairs(programme: Programme) -> Select:
    """(user_id, enrolled_at, assigned, due_date) for everyone enrolled in or assigned to it."""
    branches: list[Select] = [
        select(Enrollment.user_id.label("user_id"), Enrollment.created_at.label("enrolled_at"),
               literal(0).label("assigned"), cast(null(), Date).label("due_date"))
        .where(Enrollment.programme_id == programme.id)
    ]
    assignments = db.session.scalars(select(Assignment).where(
        Assignment.retired_at.is_(None), Assignment.target_type == "programme",
        Assignment.target_id == programme.id)).all()
    for a in assignments:
        q = assignees_query(a).order_by(None)
        branches.append(q.with_only_columns(
            User.id.label("user_id"), cast(null(), DateTime(timezone=True)).label("enrolled_at"),
            literal(1).label("assigned"),
            literal(a.due_date, Date).label("due_date")))
    both = union_all(*branches).subquery("both")
    return (select(both.c.user_id, func.min(both.c.enrolled_at).label("enrolled_at"),
                   func.max(both.c.assigned).label("assigned"),
                   func.min(both.c.due_date).label("due_date"))
            .group_by(both.c.user_id))


def _module_totals(programme: Programme) -> tuple[Select | None, int]:
    """Per user: required modules done, started anything, last done moment; and `needed`."""
    modules = live_modules(programme)
    required = [m for m in modules if m.required]
    needed = needed_modules(len(required), programme.completion_rule)
    packages = sorted({m.package_id for m in modules if m.package_id is not None})
    if not packages:
        return None, needed
    r = Registration
    done_terms = [_flag(and_(r.package_id == m.package_id, done_expr(m, r)))
                  for m in required if m.package_id is not None]
    done_any = or_(*[and_(r.package_id == m.package_id, done_expr(m, r))
                     for m in required if m.package_id is not None]) if done_terms else None
    done_sum = sum(done_terms[1:], done_terms[0]) if done_terms else literal(0)
    last_done = (func.max(case((done_any, done_moment(r)), else_=None))
                 if done_any is not None else null())
    q = (select(r.user_id.label("user_id"), func.sum(done_sum).label("done"),
                func.max(_flag(status_expr(r) != NOT_STARTED)).label("started"),
                last_done.label("last_done"))
         .where(r.package_id.in_(packages)).group_by(r.user_id))
    return q, needed


def _refresh_programme(programme: Programme) -> None:
    pairs = _pairs(programme).subquery("pairs")
    totals_q, needed = _module_totals(programme)
    u = User
    if totals_q is not None:
        totals = totals_q.subquery("totals")
        done = func.coalesce(totals.c.done, 0)
        started = func.coalesce(totals.c.started, 0)
        complete = and_(literal(needed) > 0, done >= needed)
        completed_at = case((complete, totals.c.last_done), else_=None)
    else:
        totals = None
        done, started, completed_at = literal(0), literal(0), null()
    q = (select(pairs.c.user_id, literal(programme.id), u.name,
                learner_unit(u), u.unit_id.is_not(None),
                pairs.c.enrolled_at, pairs.c.assigned == 1, pairs.c.due_date, done,
                literal(needed), started == 1, completed_at)
         .select_from(pairs).join(u, u.id == pairs.c.user_id)
         .where(u.role.not_in(EXCLUDED_ROLES)))
    if totals is not None:
        q = q.outerjoin(totals, totals.c.user_id == pairs.c.user_id)
    t = DashLearnerProgress.__table__
    cols = ["user_id", "programme_id", "name", "unit_id", "staff", "enrolled_at", "assigned",
            "due_date", "done", "needed", "started", "completed_at"]
    db.session.execute(insert(t).from_select(cols, q))


def _refresh_aggregates() -> None:
    lp = DashLearnerProgress
    enrolled = lp.enrolled_at.is_not(None)
    finished = lp.completed_at.is_not(None)
    unit_q = (select(lp.unit_id, lp.programme_id, func.sum(_flag(enrolled)),
                     func.sum(_flag(and_(enrolled, lp.started))),
                     func.sum(_flag(and_(enrolled, finished))),
                     func.sum(_flag(lp.assigned)),
                     func.sum(_flag(and_(lp.assigned, finished))))
              .group_by(lp.unit_id, lp.programme_id))
    db.session.execute(insert(DashUnitProgramme.__table__).from_select(
        ["unit_id", "programme_id", "learners", "started", "completed", "assigned",
         "assigned_done"], unit_q))

    events = union_all(
        select(lp.programme_id, lp.unit_id, month_of(lp.enrolled_at).label("month"),
               literal(1).label("e"), literal(0).label("c")).where(enrolled),
        select(lp.programme_id, lp.unit_id, month_of(lp.completed_at).label("month"),
               literal(0).label("e"), literal(1).label("c")).where(enrolled, finished),
    ).subquery("events")
    monthly_q = (select(events.c.programme_id, events.c.unit_id, events.c.month,
                        func.sum(events.c.e), func.sum(events.c.c))
                 .group_by(events.c.programme_id, events.c.unit_id, events.c.month))
    db.session.execute(insert(DashMonthly.__table__).from_select(
        ["programme_id", "unit_id", "month", "enrolled", "completed"], monthly_q))

    per_user = (select(lp.user_id, func.max(_flag(enrolled)).label("e"),
                       func.max(_flag(and_(enrolled, finished))).label("c"))
                .where(lp.staff.is_(False)).group_by(lp.user_id).subquery("per_user"))
    u = User
    commune_q = (select(u.residence_unit_id, func.count(),
                        func.coalesce(func.sum(per_user.c.e), 0),
                        func.coalesce(func.sum(per_user.c.c), 0))
                 .select_from(u).outerjoin(per_user, per_user.c.user_id == u.id)
                 .where(u.unit_id.is_(None), u.residence_unit_id.is_not(None),
                        u.role == "learner")
                 .group_by(u.residence_unit_id))
    db.session.execute(insert(DashCommune.__table__).from_select(
        ["unit_id", "citizens", "learners", "completed"], commune_q))


def refresh() -> DashRefresh:
    """Rebuild every dashboard summary in one transaction (nothing changes if it fails)."""
    from .scorm_report import refresh_module_stats

    started = datetime.now(UTC)
    clock = time.perf_counter()
    try:
        for model in (DashLearnerProgress, DashUnitProgramme, DashMonthly, DashCommune):
            db.session.execute(delete(model))
        for programme in db.session.scalars(
                select(Programme).where(Programme.retired_at.is_(None))):
            _refresh_programme(programme)
        rows = db.session.scalar(select(func.count()).select_from(DashLearnerProgress)) or 0
        _refresh_aggregates()
        refresh_module_stats()
        run = DashRefresh(started_at=started, finished_at=datetime.now(UTC),
                          seconds=round(time.perf_counter() - clock, 3), learner_rows=rows)
        db.session.add(run)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    _vacuum()
    return run


SUMMARY_TABLES = ("dash_learner_progress", "dash_unit_programme", "dash_monthly",
                  "dash_commune", "dash_module_stats", "dash_question_stats")


def _vacuum() -> None:
    """PostgreSQL: reclaim the rows the refresh replaced and refresh the planner's statistics,
    so the partial index serves index-only scans (VACUUM cannot run inside a transaction)."""
    if _dialect() != "postgresql":
        return
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(SUMMARY_TABLES)}")


def last_refresh() -> DashRefresh | None:
    return db.session.scalar(select(DashRefresh).order_by(DashRefresh.id.desc()).limit(1))


# --- reading ----------------------------------------------------------------------------------


@dataclass
class ProgrammeRow:
    programme: Programme
    learners: int = 0
    started: int = 0
    completed: int = 0
    assigned: int = 0
    assigned_done: int = 0

    @property
    def target(self) -> int:
        return self.programme.target_rate or DEFAULT_TARGET

    @property
    def rate(self) -> float | None:
        """Mandated completion rate in percent (None when nobody is mandated)."""
        return None if not self.assigned else 100.0 * self.assigned_done / self.assigned

    @property
    def completion_rate(self) -> float | None:
        return None if not self.learners else 100.0 * self.completed / self.learners


@dataclass
class UnitRate:
    unit: Unit
    assigned: int
    done: int
    target: int

    @property
    def rate(self) -> float:
        return 100.0 * self.done / self.assigned if self.assigned else 0.0

    @property
    def gap(self) -> float:
        """Percentage points below the target (negative: above it)."""
        return self.target - self.rate

    @property
    def missing(self) -> int:
        """How many more completions reach the target."""
        need = -(-self.target * self.assigned // 100)
        return max(0, need - self.done)


@dataclass
class MonthPoint:
    month: str  # YYYY-MM
    enrolled: int
    completed: int
    enrolled_total: int
    completed_total: int

    @property
    def label(self) -> str:
        return f"{self.month[5:]}/{self.month[:4]}"


@dataclass
class CommuneRow:
    unit: Unit
    citizens: int
    learners: int
    completed: int

    @property
    def reach(self) -> float:
        return 100.0 * self.learners / self.citizens if self.citizens else 0.0


@dataclass
class Dashboard:
    unit: Unit | None
    programmes: list[ProgrammeRow]
    selected: ProgrammeRow | None
    months: list[MonthPoint]
    unit_rates: list[UnitRate] = field(default_factory=list)
    behind: list[UnitRate] = field(default_factory=list)
    communes: list[CommuneRow] = field(default_factory=list)
    refreshed: DashRefresh | None = None


def _programmes() -> list[Programme]:
    return list(db.session.scalars(select(Programme).where(Programme.retired_at.is_(None))
                                   .order_by(Programme.position, Programme.id)))


def programme_rows(unit_id: int | None = None) -> list[ProgrammeRow]:
    """Per live programme: totals for the city, or for one unit."""
    d = DashUnitProgramme
    q = select(d.programme_id, func.sum(d.learners), func.sum(d.started), func.sum(d.completed),
               func.sum(d.assigned), func.sum(d.assigned_done)).group_by(d.programme_id)
    if unit_id is not None:
        q = q.where(d.unit_id == unit_id)
    sums = {row[0]: [int(v or 0) for v in row[1:]] for row in db.session.execute(q)}
    return [ProgrammeRow(p, *sums.get(p.id, [0, 0, 0, 0, 0])) for p in _programmes()]


def choose(rows: Sequence[ProgrammeRow], wanted: int | None) -> ProgrammeRow | None:
    """The programme asked for, else the first mandated class, else the first class."""
    for row in rows:
        if row.programme.id == wanted:
            return row
    for row in rows:
        if row.assigned:
            return row
    classes = [r for r in rows if r.programme.kind == "class"]
    return (classes or list(rows) or [None])[0]


def monthly(programme_id: int, unit_id: int | None = None) -> list[MonthPoint]:
    m = DashMonthly
    q = (select(m.month, func.sum(m.enrolled), func.sum(m.completed))
         .where(m.programme_id == programme_id).group_by(m.month).order_by(m.month))
    if unit_id is not None:
        q = q.where(m.unit_id == unit_id)
    points: list[MonthPoint] = []
    e_total = c_total = 0
    for month, enrolled, completed in db.session.execute(q):
        e_total += int(enrolled or 0)
        c_total += int(completed or 0)
        points.append(MonthPoint(month, int(enrolled or 0), int(completed or 0),
                                 e_total, c_total))
    return points


def unit_rates(programme: Programme, unit_id: int | None = None) -> list[UnitRate]:
    """Every unit with mandated learners in this programme, furthest behind first."""
    d = DashUnitProgramme
    q = (select(Unit, d.assigned, d.assigned_done).join(Unit, Unit.id == d.unit_id)
         .where(d.programme_id == programme.id, d.assigned > 0))
    if unit_id is not None:
        q = q.where(d.unit_id == unit_id)
    target = programme.target_rate or DEFAULT_TARGET
    rates = [UnitRate(unit, int(a), int(done), target) for unit, a, done in db.session.execute(q)]
    return sorted(rates, key=lambda r: (-r.gap, -r.assigned, r.unit.name))


def communes(unit_id: int | None = None) -> list[CommuneRow]:
    c = DashCommune
    q = select(Unit, c.citizens, c.learners, c.completed).join(Unit, Unit.id == c.unit_id)
    if unit_id is not None:
        q = q.where(c.unit_id == unit_id)
    rows = [CommuneRow(u, int(a), int(b), int(d)) for u, a, b, d in db.session.execute(q)]
    return sorted(rows, key=lambda r: (-r.learners, r.unit.name))


def city_dashboard(programme_id: int | None = None) -> Dashboard:
    rows = programme_rows()
    selected = choose(rows, programme_id)
    months = monthly(selected.programme.id) if selected else []
    rates = unit_rates(selected.programme) if selected else []
    behind = [r for r in rates if r.gap > 0][:BEHIND_COUNT]
    return Dashboard(None, rows, selected, months, rates, behind, communes(), last_refresh())


def unit_dashboard(unit: Unit, programme_id: int | None = None) -> Dashboard:
    rows = programme_rows(unit.id)
    selected = choose(rows, programme_id)
    months = monthly(selected.programme.id, unit.id) if selected else []
    rates = [UnitRate(unit, r.assigned, r.assigned_done, r.target) for r in rows if r.assigned]
    return Dashboard(unit, rows, selected, months, rates, [], communes(unit.id), last_refresh())


@dataclass
class Unfinished:
    user: User
    programme: Programme
    done: int
    needed: int
    due_date: date | None
    enrolled: bool

    def overdue(self, today: date) -> bool:
        return self.due_date is not None and self.due_date < today


def unfinished(unit_id: int, page: int = 1, per_page: int = 50,
               programme_id: int | None = None) -> tuple[list[Unfinished], int]:
    """Mandated learners of the unit who have not completed, earliest due date first."""
    lp = DashLearnerProgress
    # the predicate of the partial index ix_dash_lp_todo, written the same way
    cond = [lp.unit_id == unit_id, lp.assigned, lp.completed_at.is_(None)]
    if programme_id is not None:
        cond.append(lp.programme_id == programme_id)
    total = db.session.scalar(select(func.count()).select_from(lp).where(*cond)) or 0
    q = (select(lp, User, Programme).join(User, User.id == lp.user_id)
         .join(Programme, Programme.id == lp.programme_id).where(*cond)
         .order_by(lp.due_date, lp.name, lp.user_id)  # the order of ix_dash_lp_todo
         .limit(per_page).offset((max(1, page) - 1) * per_page))
    out = [Unfinished(user, prog, row.done, row.needed, row.due_date,
                      row.enrolled_at is not None)
           for row, user, prog in db.session.execute(q)]
    return out, int(total)


__all__ = ["refresh", "last_refresh", "city_dashboard", "unit_dashboard", "unfinished",
           "programme_rows", "monthly", "unit_rates", "communes", "month_of"]


def when_label(moment: datetime | None) -> str:
    """A stored timestamp as Hai Phong local time, dd/mm/yyyy hh:mm."""
    local = localtime(moment)
    return "" if local is None else local.strftime("%d/%m/%Y %H:%M")
