"""Completion rosters: one row per enrolled learner, computed in SQL from the tracking tables.

The status rules are those of `lms.progress` (module status from the package registration,
`Module.done_when`, the programme's `completion_rule`), written as set-based SQL so a roster of a
million learners is one streamed query per programme instead of a Python loop per learner.

A roster has a scope (a programme or class, a topic, a module, or every live programme) and
filters (unit, unit type, role, date range, overall status). Each scope resolves to one
`Section` per programme; `section_select` builds that programme's query. Columns are listed in
`columns()` with two forms: typed values (for pages, XLSX and the dashboards) and text already
formatted by the database (for the CSV export, where Python does no per-cell work).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from ..extensions import db
from ..models import Certificate, Enrollment, Module, Programme, Registration, Topic, Unit, User
from ..progress import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    LABELS,
    NOT_STARTED,
    PASSED,
    live_modules,
    needed_modules,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
UTC_OFFSET_HOURS = 7  # Vietnam has no daylight saving time
STATUSES = (NOT_STARTED, IN_PROGRESS, COMPLETED)
ROLE_GROUPS = {"civil_servant": "Cán bộ, công chức (có đơn vị)",
               "citizen": "Người dân (không có đơn vị)",
               "unit_manager": "Quản lý đơn vị", "admin": "Quản trị viên"}
DATE_FIELDS = ("enrolled", "completed")
EXCLUDED_ROLES = ("guest",)


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterFilters:
    programme_id: int | None = None
    topic_id: int | None = None
    module_id: int | None = None
    unit_id: int | None = None
    unit_kind: str | None = None
    role: str | None = None  # a ROLE_GROUPS key
    date_from: date | None = None
    date_to: date | None = None
    date_field: str = "enrolled"  # enrolled | completed
    status: str | None = None  # not_started | in_progress | completed

    def to_params(self) -> dict[str, Any]:
        out = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RosterFilters:
        """Parse query arguments or stored job parameters; invalid values raise ValueError."""

        def num(key: str) -> int | None:
            raw = str(params.get(key) or "").strip()
            if not raw:
                return None
            if not raw.isdigit():
                raise ValueError(key)
            return int(raw)

        def day(key: str) -> date | None:
            raw = str(params.get(key) or "").strip()
            return date.fromisoformat(raw) if raw else None

        def choice(key: str, allowed: Sequence[str]) -> str | None:
            raw = str(params.get(key) or "").strip()
            if raw and raw not in allowed:
                raise ValueError(key)
            return raw or None

        from ..units import KINDS

        return cls(
            programme_id=num("programme_id"), topic_id=num("topic_id"),
            module_id=num("module_id"), unit_id=num("unit_id"),
            unit_kind=choice("unit_kind", tuple(KINDS)), role=choice("role", tuple(ROLE_GROUPS)),
            date_from=day("date_from"), date_to=day("date_to"),
            date_field=choice("date_field", DATE_FIELDS) or "enrolled",
            status=choice("status", STATUSES),
        )

    def with_unit(self, unit_id: int | None) -> RosterFilters:
        from dataclasses import replace

        return replace(self, unit_id=unit_id)


# --- scope ------------------------------------------------------------------------------------


@dataclass
class Section:
    """One programme's part of a roster: who is counted (its enrolments) and over which modules.

    `modules` is what the rollup looks at (live modules of the scope, for "started");
    `required` the modules that count (and get columns); `needed` how many of them make the
    scope complete (the programme's completion rule, or all for a topic or a module).
    """

    programme: Programme
    modules: list[Module]
    required: list[Module]
    needed: int


class ScopeNotFound(LookupError):
    pass


def sections(filters: RosterFilters) -> list[Section]:
    """The programmes a roster covers, with the modules that count in each."""
    if filters.module_id is not None:
        module = db.session.get(Module, filters.module_id)
        if module is None:
            raise ScopeNotFound("module")
        # a module's own roster: the module is what has to be done, required or not
        return [Section(module.topic.programme, [module], [module], 1)]
    if filters.topic_id is not None:
        topic = db.session.get(Topic, filters.topic_id)
        if topic is None:
            raise ScopeNotFound("topic")
        mods = [m for m in topic.modules if m.retired_at is None]
        required = [m for m in mods if m.required]
        return [Section(topic.programme, mods, required, len(required))]
    if filters.programme_id is not None:
        programme = db.session.get(Programme, filters.programme_id)
        if programme is None:
            raise ScopeNotFound("programme")
        return [_programme_section(programme)]
    programmes = db.session.scalars(
        select(Programme).where(Programme.retired_at.is_(None))
        .order_by(Programme.position, Programme.id))
    return [_programme_section(p) for p in programmes]


def _programme_section(programme: Programme) -> Section:
    mods = live_modules(programme)
    required = [m for m in mods if m.required]
    needed = needed_modules(len(required), programme.completion_rule)
    return Section(programme, mods, required, needed)


def column_modules(secs: Sequence[Section]) -> list[Module]:
    """Modules that get columns: the required modules of every section, each once, in order."""
    seen: dict[int, Module] = {}
    for s in secs:
        for m in s.required:
            seen.setdefault(m.id, m)
    return list(seen.values())


# --- SQL expressions --------------------------------------------------------------------------


def _dialect() -> str:
    return db.engine.dialect.name


def _greatest(*exprs: ColumnElement) -> ColumnElement:
    """The largest non-null value (PostgreSQL GREATEST ignores NULLs; SQLite MAX does not)."""
    if len(exprs) == 1:
        return exprs[0]
    if _dialect() == "postgresql":
        return func.greatest(*exprs)
    return func.nullif(func.max(*[func.coalesce(e, "") for e in exprs]), "")


def _local_text(expr: ColumnElement, with_time: bool) -> ColumnElement:
    """A UTC timestamp as Vietnam local time, formatted by the database (dd/mm/yyyy[ hh:mm])."""
    if _dialect() == "postgresql":
        fmt = "DD/MM/YYYY HH24:MI" if with_time else "DD/MM/YYYY"
        return func.to_char(func.timezone("Asia/Ho_Chi_Minh", expr), fmt)
    fmt = "%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y"
    return func.strftime(fmt, expr, f"+{UTC_OFFSET_HOURS} hours")


def round_half_even(value: ColumnElement) -> ColumnElement:
    """Python's round(): to the nearest integer, ties to even (as lms.progress rounds scores).

    PostgreSQL's round(double precision) already does this; SQLite's rounds ties away from
    zero, so it gets the rule spelt out (for values >= 0; negative values are rare and use
    SQLite's rounding)."""
    if _dialect() == "postgresql":
        return cast(func.round(value), Integer)
    whole = cast(value, Integer)  # truncates towards zero
    frac = value - whole
    return case((value < 0, cast(func.round(value), Integer)),
                (frac > 0.5, whole + 1), (frac < 0.5, whole),
                else_=whole + whole % 2)


def _percent(score: ColumnElement) -> ColumnElement:
    return round_half_even(score * 100)


def _minutes(seconds: ColumnElement) -> ColumnElement:
    return round_half_even(func.coalesce(seconds, 0.0) / 60.0)


def status_expr(r: Any) -> ColumnElement:
    """`lms.progress.module_status(...).status` of a registration row (NULL row: not started)."""
    return case(
        (r.id.is_(None), NOT_STARTED),
        (r.success_status == "passed", PASSED),
        (and_(r.completion_status == "completed", r.success_status != "failed"), COMPLETED),
        (r.success_status == "failed", FAILED),
        (and_(r.completion_status.in_(("not attempted", "unknown")),
              func.coalesce(r.total_seconds, 0.0) == 0), NOT_STARTED),
        else_=IN_PROGRESS,
    )


def learner_unit(u: Any) -> ColumnElement:
    """A learner's unit: their unit, else the commune they live in."""
    return func.coalesce(u.unit_id, u.residence_unit_id)


def done_moment(r: Any) -> ColumnElement:
    """When a registration's module was done: its completion time, or its last update if later."""
    return _greatest(func.coalesce(r.completed_at, r.updated_at), r.updated_at)


def done_expr(module: Module, r: Any) -> ColumnElement[bool]:
    """`module_status(...).done`: passed, or (done_when "completed") completed."""
    if module.done_when == "completed":
        return or_(r.success_status == "passed", r.completion_status == "completed")
    return r.success_status == "passed"


def _label_case(status: ColumnElement) -> ColumnElement:
    return case(*[(status == code, label) for code, label in LABELS.items()], else_=None)


@dataclass
class Column:
    key: str
    header: str
    typed: ColumnElement
    text: ColumnElement
    kind: str = "text"  # text | int | datetime | date (how a typed value is written)


@dataclass
class SectionQuery:
    section: Section
    columns: list[Column] = field(default_factory=list)
    base: Select | None = None
    status: ColumnElement | None = None
    completed_at: ColumnElement | None = None


def _build(section: Section, col_modules: Sequence[Module], filters: RosterFilters) -> SectionQuery:
    u, e = User, Enrollment
    unit = aliased(Unit, name="eff_unit")
    cert = aliased(Certificate, name="cert")
    prog_id = section.programme.id
    q = (select().select_from(e).join(u, u.id == e.user_id)
         .outerjoin(unit, unit.id == learner_unit(u))
         .outerjoin(cert, and_(cert.user_id == e.user_id, cert.programme_id == prog_id,
                               cert.revoked_at.is_(None))))
    regs: dict[int, Any] = {}
    for m in section.modules:
        if m.package_id is None or m.package_id in regs:
            continue
        r = aliased(Registration, name=f"r{len(regs)}")
        regs[m.package_id] = r
        q = q.outerjoin(r, and_(r.user_id == e.user_id, r.package_id == m.package_id))

    def status_of(m: Module) -> ColumnElement:
        r = regs.get(m.package_id)  # type: ignore[arg-type]
        return literal(NOT_STARTED) if r is None else status_expr(r)

    def done_of(m: Module) -> ColumnElement[bool]:
        r = regs.get(m.package_id)  # type: ignore[arg-type]
        return false() if r is None else done_expr(m, r)

    req_ids = {m.id for m in section.required}
    done_count: ColumnElement = literal(0)
    for m in section.required:
        done_count = done_count + case((done_of(m), 1), else_=0)
    complete = (and_(literal(len(section.required)) > 0, done_count >= section.needed)
                if section.required else false())
    started = or_(*[status_of(m) != NOT_STARTED for m in section.modules]) \
        if section.modules else false()
    overall = case((complete, COMPLETED), (started, IN_PROGRESS), else_=NOT_STARTED)
    stamps = []
    for m in section.required:
        r = regs.get(m.package_id)  # type: ignore[arg-type]
        if r is not None:
            stamps.append(case((done_expr(m, r), done_moment(r)), else_=None))
    completed_at = (type_coerce(case((complete, _greatest(*stamps)), else_=None),
                                DateTime(timezone=True)) if stamps else null())

    cols: list[Column] = []

    def add(key: str, header: str, typed: ColumnElement, text: ColumnElement | None = None,
            kind: str = "text") -> None:
        cols.append(Column(key, header, typed, typed if text is None else text, kind))

    add("user_id", "Mã học viên", u.id, kind="int")
    add("name", "Họ và tên", u.name)
    add("email", "Email", u.email)
    add("phone", "Số điện thoại", u.phone)
    add("unit_code", "Mã đơn vị", unit.code)
    add("unit_name", "Đơn vị", unit.name)
    add("unit_kind", "Loại đơn vị", unit.kind,
        case(*[(unit.kind == k, v) for k, v in _unit_kinds().items()], else_=unit.kind))
    add("job_title", "Chức vụ", u.job_title)
    add("programme_code", "Mã lớp/chương trình", literal(section.programme.code, String))
    add("programme", "Lớp/chương trình", literal(section.programme.title, String))
    add("enrolled_at", "Ngày ghi danh", e.created_at, _local_text(e.created_at, False),
        kind="date")
    for m in col_modules:
        r = regs.get(m.package_id) if m.id in req_ids else None  # type: ignore[arg-type]
        prefix = m
        if m.id not in req_ids:  # a module of another programme: empty cells
            for suffix, kind in (("status", "text"), ("score", "int"), ("minutes", "int"),
                                 ("last", "datetime")):
                add(f"{m.code}:{suffix}", _module_header(prefix, suffix), null(), null(), kind)
            continue
        st = status_of(m)
        add(f"{m.code}:status", _module_header(prefix, "status"), st, _label_case(st))
        if r is None:
            add(f"{m.code}:score", _module_header(prefix, "score"), null(), kind="int")
            add(f"{m.code}:minutes", _module_header(prefix, "minutes"), literal(0), kind="int")
            add(f"{m.code}:last", _module_header(prefix, "last"), null(), kind="datetime")
            continue
        add(f"{m.code}:score", _module_header(prefix, "score"), _percent(r.score_scaled),
            kind="int")
        add(f"{m.code}:minutes", _module_header(prefix, "minutes"), _minutes(r.total_seconds),
            kind="int")
        add(f"{m.code}:last", _module_header(prefix, "last"), r.updated_at,
            _local_text(r.updated_at, True), kind="datetime")
    add("done", "Số học phần đạt", done_count, kind="int")
    add("needed", "Số học phần cần đạt", literal(section.needed, Integer), kind="int")
    add("status", "Trạng thái chung", overall, _label_case(overall))
    add("completed_at", "Ngày hoàn thành", completed_at, _local_text(completed_at, False),
        kind="date")
    add("certificate", "Số chứng chỉ", cert.serial)

    q = q.where(e.programme_id == prog_id, u.role.not_in(EXCLUDED_ROLES))
    q = _apply_filters(q, filters, u, e, unit, overall, completed_at)
    return SectionQuery(section, cols, q, overall, completed_at)


def _unit_kinds() -> dict[str, str]:
    from ..units import KINDS

    return KINDS


MODULE_HEADERS = {"status": "trạng thái", "score": "điểm (%)", "minutes": "thời gian (phút)",
                  "last": "hoạt động cuối"}


def _module_header(module: Module, suffix: str) -> str:
    title = module.title if len(module.title) <= 40 else module.title[:39].rstrip() + "…"
    return f"{module.code} {title} – {MODULE_HEADERS[suffix]}"


def _utc_bound(day: date) -> datetime:
    moment = datetime.combine(day, time.min, tzinfo=TZ).astimezone(UTC)
    return moment.replace(tzinfo=None) if _dialect() == "sqlite" else moment


def _apply_filters(q: Select, f: RosterFilters, u: Any, e: Any, unit: Any,
                   overall: ColumnElement, completed_at: ColumnElement) -> Select:
    if f.unit_id is not None:
        q = q.where(learner_unit(u) == f.unit_id)
    if f.unit_kind:
        q = q.where(unit.kind == f.unit_kind)
    if f.role == "civil_servant":
        q = q.where(u.unit_id.is_not(None))
    elif f.role == "citizen":
        q = q.where(u.unit_id.is_(None))
    elif f.role:
        q = q.where(u.role == f.role)
    stamp = e.created_at if f.date_field == "enrolled" else completed_at
    if f.date_from:
        q = q.where(stamp >= _utc_bound(f.date_from))
    if f.date_to:
        q = q.where(stamp < _utc_bound(f.date_to + timedelta(days=1)))
    if f.status:
        q = q.where(overall == f.status)
    return q


# --- public API -------------------------------------------------------------------------------


@dataclass
class Roster:
    filters: RosterFilters
    parts: list[SectionQuery]

    @property
    def columns(self) -> list[Column]:
        return self.parts[0].columns if self.parts else []

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def statements(self, mode: str = "typed") -> list[Select]:
        """One SELECT per programme, ordered by unit, name and id; same columns in each.

        mode "typed": values as stored (status codes, timestamps); "text": everything formatted
        by the database (labels, dd/mm/yyyy dates) for CSV; "xlsx": labels as text, numbers and
        timestamps typed.
        """
        out = []
        for part in self.parts:
            by_key = {c.key: c for c in part.columns}
            exprs = []
            for i, c in enumerate(part.columns):
                use_text = mode == "text" or (mode == "xlsx" and c.kind == "text")
                exprs.append((c.text if use_text else c.typed).label(f"c{i}"))
            unit, name = by_key["unit_name"].typed, by_key["name"].typed
            out.append(part.base.add_columns(*exprs)  # type: ignore[union-attr]
                       .order_by(unit.is_(None), unit, name, by_key["user_id"].typed))
        return out

    def count(self) -> int:
        total = 0
        for part in self.parts:
            base = part.base.add_columns(literal(1))  # type: ignore[union-attr]
            total += db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
        return total

    def rows(self, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Typed rows as dicts (for pages and tests); `limit` rows at most."""
        left = limit
        keys = self.keys
        for stmt in self.statements():
            if left is not None:
                if left <= 0:
                    return
                stmt = stmt.limit(left)
            for row in db.session.execute(stmt):
                if left is not None:
                    left -= 1
                yield dict(zip(keys, row, strict=True))

    def sql(self, mode: str = "text") -> list[str]:
        """The statements as SQL with literal values (for `psql \\copy` in the benchmark)."""
        return [str(s.compile(db.engine, compile_kwargs={"literal_binds": True}))
                for s in self.statements(mode)]


def build_roster(filters: RosterFilters) -> Roster:
    secs = sections(filters)
    cols = column_modules(secs)
    return Roster(filters, [_build(s, cols, filters) for s in secs])


def localtime(value: datetime | None) -> datetime | None:
    """A stored timestamp (aware, or naive UTC on SQLite) as naive Vietnam local time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TZ).replace(tzinfo=None)


__all__ = ["RosterFilters", "Roster", "Section", "ScopeNotFound", "build_roster", "sections",
           "status_expr", "done_expr", "done_moment", "learner_unit", "localtime",
           "EXCLUDED_ROLES"]
