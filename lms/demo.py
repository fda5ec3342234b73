"""Synthetic data for demonstrations and benchmarks: `flask lms gen-demo --learners N`.

Fills the database with a realistic city: the 128 units (the 118 of lms/data/units.yaml plus
clearly marked sample departments for the 10 the sources do not name), the catalog, and N
learners in the proportions of the city's report (shared/reference/002): per 59,841 class
learners, Lớp 1 45,344 · Lớp 2 11,749 · Lớp 3 1,294 · Lớp 4 1,454. Civil servants (Lớp 1, some
also in Lớp 3 or 4) belong to a unit; the rest are citizens living in a commune, in Lớp 2 or the
citizens' programme. Each enrolment gets registrations, attempts and SCO states with realistic
statuses, scores and time spent; a sample of the scored SCO states gets quiz interactions.

Every generated person has an unusable password ("!demo") and an address under
demo.haiphong.local. Rows go in with COPY on PostgreSQL and executemany on SQLite, in batches,
all in one transaction: an interrupted run leaves nothing.
"""

from __future__ import annotations

import io
import json
import random
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from .extensions import db
from .models import FrameworkVersion, Module, Programme, Unit, User
from .progress import live_modules, needed_modules

REPORT = {"lop-1": 45_344, "lop-2": 11_749, "lop-3": 1_294, "lop-4": 1_454}
REPORT_TOTAL = sum(REPORT.values())  # 59,841
UNITS_TOTAL = 128
DEMO_PASSWORD = "!demo"  # not an Argon2 hash: no password matches it
DEMO_DOMAIN = "demo.haiphong.local"
SCO_ID = "sco-1"
START = datetime(2025, 4, 1, 1, 0, tzinfo=UTC)
END = datetime(2025, 11, 28, 10, 0, tzinfo=UTC)

# (complete, in progress, not started) per programme code
PROFILES = {"lop-1": (0.72, 0.18), "lop-2": (0.58, 0.27), "lop-3": (0.66, 0.2),
            "lop-4": (0.52, 0.3), "nguoi-dan": (0.45, 0.35)}
DEFAULT_PROFILE = (0.55, 0.25)

SURNAMES = [("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 4), ("Vũ", 4),
            ("Phan", 3), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 1.3), ("Ngô", 1.3),
            ("Dương", 1), ("Lý", 0.5), ("Đào", 1), ("Đinh", 1), ("Mai", 0.5), ("Trịnh", 0.5),
            ("Lương", 0.5), ("Tô", 0.3), ("Hà", 0.5), ("Cao", 0.3), ("Lâm", 0.3)]
MIDDLE_M = ["Văn", "Đức", "Hữu", "Minh", "Quang", "Xuân", "Thanh", "Công", "Thế", "Tiến", "Duy",
            "Mạnh", "Anh", "Trọng", "Ngọc"]
MIDDLE_F = ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Hồng", "Minh", "Phương", "Thùy",
            "Khánh", "Bích", "Diệu", "Hải", "Mai"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Đạt", "Đức", "Giang", "Hải", "Hiếu", "Hoàng",
           "Hùng", "Huy", "Khánh", "Khoa", "Kiên", "Long", "Minh", "Nam", "Nghĩa", "Phong",
           "Phúc", "Quân", "Quang", "Sơn", "Thắng", "Thành", "Thịnh", "Toàn", "Trung", "Tuấn",
           "Tùng", "Việt", "Vinh", "Vũ", "Lộc", "Hưng", "Tú", "Thái", "Hòa", "Tiến"]
GIVEN_F = ["Anh", "Chi", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa",
           "Huyền", "Hương", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân",
           "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Tâm", "Thảo", "Thơ", "Thủy", "Trang",
           "Trâm", "Uyên", "Vân", "Yến", "Xuân", "Hồng", "Thư", "Nhàn", "Gấm", "Lụa"]
TITLES_COMMUNE = [("Công chức Văn phòng – Thống kê", 8), ("Công chức Tư pháp – Hộ tịch", 6),
                  ("Công chức Địa chính – Xây dựng", 6), ("Công chức Tài chính – Kế toán", 5),
                  ("Công chức Văn hóa – Xã hội", 6), ("Chuyên viên", 20),
                  ("Cán bộ chuyên trách công nghệ thông tin", 3), ("Chủ tịch UBND", 1),
                  ("Phó Chủ tịch UBND", 2), ("Trưởng phòng", 4), ("Phó Trưởng phòng", 5),
                  ("Viên chức", 10), ("Thành viên Tổ công nghệ số cộng đồng", 6)]
TITLES_DEPT = [("Chuyên viên", 40), ("Chuyên viên chính", 12), ("Trưởng phòng", 5),
               ("Phó Trưởng phòng", 8), ("Cán bộ chuyên trách công nghệ thông tin", 4),
               ("Viên chức", 20), ("Phó Giám đốc Sở", 1), ("Văn thư", 3)]
QUESTIONS = 6  # interactions per sampled quiz


@dataclass
class DemoReport:
    learners: int = 0
    units_added: int = 0
    packages_added: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _scaled(total: int, part: int) -> int:
    return round(total * part / REPORT_TOTAL)


def plan(learners: int) -> dict[str, int]:
    """How many civil servants and citizens, and how many learners per class, for N learners."""
    civil = _scaled(learners, REPORT["lop-1"])
    return {"civil_servants": civil, "citizens": learners - civil,
            **{code: _scaled(learners, n) for code, n in REPORT.items()}}


# --- catalog and units --------------------------------------------------------------------


def ensure_units() -> int:
    """The 118 known units, plus sample departments up to the city's 128 (marked as samples)."""
    from .units import seed_units

    added = seed_units()
    have = db.session.scalar(select(func.count()).select_from(Unit)) or 0
    depts = db.session.scalar(select(func.count()).select_from(Unit)
                              .where(Unit.kind == "so_ban_nganh")) or 0
    k = depts
    while have < UNITS_TOTAL:
        k += 1
        code = f"MAU-{k:02d}"
        if db.session.scalar(select(Unit.id).where(Unit.code == code)) is None:
            db.session.add(Unit(code=code, name=f"Sở, ngành mẫu {k} (dữ liệu thử)",
                                kind="so_ban_nganh"))
            have += 1
            added += 1
    db.session.commit()
    return added


def _demo_zip(module: Module) -> bytes:
    title = module.title.replace("&", "&amp;").replace("<", "&lt;")
    manifest = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="demo.{module.code}" version="1"
    xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
    xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org"><organization identifier="org"><title>{title}</title>
    <item identifier="{SCO_ID}" identifierref="r1"><title>{title}</title></item>
  </organization></organizations>
  <resources><resource identifier="r1" type="webcontent" adlcp:scormtype="sco"
    href="index.html"><file href="index.html"/></resource></resources>
</manifest>"""
    page = ("<!doctype html><meta charset='utf-8'><title>Bài học mẫu</title>"
            f"<h1>{title}</h1><p>Bài học mẫu (dữ liệu thử): nội dung thật chưa được dựng.</p>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("imsmanifest.xml", manifest)
        zf.writestr("index.html", page)
    return buf.getvalue()


def ensure_catalog() -> int:
    """Load the catalog if it is missing; give every module without a package a small sample
    package (imported through the normal pipeline) so it can be tracked. Returns packages added."""
    from .catalog import seed_structure
    from .importer import import_package

    if db.session.scalar(select(func.count()).select_from(Programme)) == 0:
        seed_structure()
    added = 0
    modules = db.session.scalars(select(Module).where(Module.package_id.is_(None))).all()
    with tempfile.TemporaryDirectory() as tmp:
        for module in modules:
            path = Path(tmp) / f"{module.code}.zip"
            path.write_bytes(_demo_zip(module))
            result = import_package(path)
            module.package_id = result.version.package_id
            db.session.commit()
            added += 1
    return added


@dataclass(frozen=True)
class Mod:
    """What the generator needs of a module (plain values: no ORM access in the hot loop)."""
    code: str
    minutes: int
    required: bool


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    kind: str
    retired: bool


@dataclass
class ProgrammeInfo:
    id: int
    code: str
    title: str
    certificate: bool
    target_group: str
    modules: list[tuple[Mod, int, int]]  # (module, package_id, package_version_id)
    needed: int


def _programmes() -> dict[str, ProgrammeInfo]:
    out: dict[str, ProgrammeInfo] = {}
    progs = db.session.scalars(select(Programme).where(Programme.retired_at.is_(None))
                               .order_by(Programme.position)).all()
    for p in progs:
        mods = []
        for m in live_modules(p):
            if m.package_id is None or m.package is None or m.package.current_version_id is None:
                continue
            mods.append((Mod(m.code, m.minutes or 6, bool(m.required)), m.package_id,
                         m.package.current_version_id))
        required = [m for m, _, _ in mods if m.required]
        needed = needed_modules(len(required), p.completion_rule)
        out[p.code] = ProgrammeInfo(p.id, p.code, p.title, bool(p.certificate),
                                    ", ".join(p.audience or []), mods, needed)
    return out


# --- writers: COPY on PostgreSQL, executemany on SQLite -----------------------------------------


TABLES: dict[str, tuple[str, ...]] = {
    "users": ("id", "email", "phone", "name", "password_hash", "role", "birth_year", "unit_id",
              "job_title", "residence_unit_id", "created_at"),
    "enrollments": ("id", "user_id", "programme_id", "source", "created_at", "completed_at"),
    "registrations": ("id", "user_id", "package_id", "package_version_id", "completion_status",
                      "success_status", "score_scaled", "total_seconds", "decided_by",
                      "completed_at", "created_at", "updated_at"),
    "attempts": ("id", "registration_id", "number", "session_count", "sequencing_seq",
                 "current_item", "ended", "started_at"),
    "sco_states": ("id", "attempt_id", "item_id", "seq", "cmi", "completion_status",
                   "success_status", "score_scaled", "score_raw", "base_seconds",
                   "base_session", "total_seconds", "exit", "entry", "launched", "exited",
                   "updated_at"),
    "interactions": ("id", "sco_state_id", "idx", "interaction_id", "type", "learner_response",
                     "result", "correct_responses", "weighting", "latency", "timestamp",
                     "description"),
    "certificates": ("id", "serial", "user_id", "programme_id", "framework_id", "learner_name",
                     "birth_year", "unit_name", "programme_title", "target_group",
                     "competencies", "issuer", "completed_on", "issued_at"),
}
ORDER = tuple(TABLES)  # foreign keys point backwards in this order


class Sink:
    """Buffers rows per table and writes them in FK order when a batch is full."""

    def __init__(self, conn: Any, batch: int) -> None:
        self.conn = conn
        self.batch = batch
        self.pg = conn.dialect.name == "postgresql"
        self.rows: dict[str, list[tuple]] = {t: [] for t in TABLES}
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)

    def add(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)

    def maybe_flush(self) -> None:
        if len(self.rows["users"]) >= self.batch:
            self.flush()

    def flush(self) -> None:
        for table in ORDER:
            rows = self.rows[table]
            if not rows:
                continue
            cols = TABLES[table]
            if self.pg:
                cur = self.conn.connection.driver_connection.cursor()
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for start in range(0, len(rows), 5000):
                        copy.write("".join("\t".join(map(_copy_text, row)) + "\n"
                                           for row in rows[start:start + 5000]))
            else:
                marks = ", ".join("?" for _ in cols)
                self.conn.exec_driver_sql(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                    [tuple(_sqlite(v) for v in row) for row in rows])
            self.counts[table] += len(rows)
            rows.clear()


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLAlchemy's SQLite storage: naive UTC text
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return naive.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


# --- the generator --------------------------------------------------------------------------


class Ids:
    def __init__(self, conn: Any) -> None:
        self.next = {t: (conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")).scalar()
                         or 0) + 1 for t in TABLES}

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> Callable[[], str]:
    values = [p[0] for p in pairs]
    cum: list[float] = []
    total = 0.0
    for _, w in pairs:
        total += w
        cum.append(total)

    def pick() -> str:
        return rng.choices(values, cum_weights=cum)[0]

    return pick


class Generator:
    def __init__(self, rng: random.Random, sink: Sink, ids: Ids, units: list[Place],
                 programmes: dict[str, ProgrammeInfo], framework_id: int | None, issuer: str,
                 interaction_sample: float) -> None:
        self.rng, self.sink, self.ids = rng, sink, ids
        self.communes = [u for u in units if u.kind != "so_ban_nganh" and not u.retired]
        self.depts = [u for u in units if u.kind == "so_ban_nganh" and not u.retired]
        workplaces = self.communes + self.depts
        self.workplaces = workplaces
        self.work_weights = list(_cumulative([1.0] * len(self.communes)
                                             + [3.0] * len(self.depts)))
        self.programmes = programmes
        self.framework_id = framework_id
        self.issuer = issuer
        self.sample = interaction_sample
        self.surname = _weighted(rng, SURNAMES)
        self.title_commune = _weighted(rng, TITLES_COMMUNE)
        self.title_dept = _weighted(rng, TITLES_DEPT)

    # people
    def name(self) -> str:
        rng = self.rng
        female = rng.random() < 0.52
        middle = rng.choice(MIDDLE_F if female else MIDDLE_M)
        given = rng.choice(GIVEN_F if female else GIVEN_M)
        if rng.random() < 0.18:  # two-part given names are common
            given = f"{rng.choice(MIDDLE_F if female else MIDDLE_M)} {given}"
        return f"{self.surname()} {middle} {given}"

    def moment(self, after: datetime, max_days: float) -> datetime:
        value = after + timedelta(seconds=self.rng.uniform(0, max_days * 86400))
        return min(value, END)

    def person(self, civil: bool) -> dict[str, Any]:
        rng = self.rng
        uid = self.ids.take("users")
        created = self.moment(START, (END - START).days * 0.8)
        if civil:
            unit = rng.choices(self.workplaces, cum_weights=self.work_weights)[0]
            title = self.title_dept() if unit.kind == "so_ban_nganh" else self.title_commune()
            row = dict(id=uid, email=f"cb{uid}@{DEMO_DOMAIN}", phone=None, name=self.name(),
                       birth_year=rng.randint(1966, 2001), unit=unit, job_title=title,
                       residence=None, created=created)
        else:
            home = rng.choice(self.communes)
            by_phone = rng.random() < 0.6
            row = dict(id=uid, email=None if by_phone else f"nd{uid}@{DEMO_DOMAIN}",
                       phone=f"09{uid:08d}" if by_phone else None, name=self.name(),
                       birth_year=rng.randint(1950, 2008), unit=None, job_title=None,
                       residence=home, created=created)
        self.sink.add("users", (uid, row["email"], row["phone"], row["name"], DEMO_PASSWORD,
                                "learner", row["birth_year"],
                                row["unit"].id if row["unit"] else None, row["job_title"],
                                row["residence"].id if row["residence"] else None, created))
        return row

    # learning
    def enrol(self, person: dict[str, Any], code: str, source: str) -> None:
        prog = self.programmes.get(code)
        if prog is None or not prog.modules:
            return
        rng = self.rng
        enrolled = self.moment(person["created"], 20)
        self.sink.add("enrollments", (self.ids.take("enrollments"), person["id"], prog.id,
                                      source, enrolled, None))
        complete_p, progress_p = PROFILES.get(code, DEFAULT_PROFILE)
        draw = rng.random()
        n = len(prog.modules)
        if draw < complete_p:
            passed, last = n, None
        elif draw < complete_p + progress_p:
            passed = rng.randrange(n)
            last = rng.choices(("incomplete", "failed", "viewed"), weights=(5, 2, 2))[0]
        else:
            passed, last = 0, ("launched" if rng.random() < 0.2 else None)
        t = enrolled
        done_modules = 0
        finished_at = None
        for i, (module, package_id, version_id) in enumerate(prog.modules):
            if i < passed:
                state = "passed"
            elif i == passed and last is not None:
                state = last
            else:
                break
            t = self.moment(t, 6)
            end = self.registration(person["id"], module, package_id, version_id, state, t)
            t = end
            if state == "passed" and module.required:
                done_modules += 1
                finished_at = end
        if prog.certificate and prog.modules and done_modules >= prog.needed > 0 \
                and self.framework_id is not None and finished_at is not None:
            self.certificate(person, prog, finished_at)

    def registration(self, user_id: int, module: Mod, package_id: int, version_id: int,
                     state: str, started: datetime) -> datetime:
        rng = self.rng
        minutes = module.minutes
        score: float | None = None
        if state == "passed":
            completion, success = "completed", "passed"
            score = round(rng.uniform(0.7, 1.0), 2)
            seconds = round(minutes * 60 * rng.uniform(0.9, 2.4))
        elif state == "failed":
            completion, success = "completed", "failed"
            score = round(rng.uniform(0.2, 0.69), 2)
            seconds = round(minutes * 60 * rng.uniform(0.8, 1.8))
        elif state == "viewed":  # watched the lesson, quiz not done
            completion, success = "completed", "unknown"
            seconds = round(minutes * 60 * rng.uniform(0.8, 1.3))
        elif state == "incomplete":
            completion, success = "incomplete", "unknown"
            seconds = round(minutes * 60 * rng.uniform(0.1, 0.8))
        else:  # launched, nothing recorded
            completion, success, seconds = "not attempted", "unknown", 0
        sessions = 1 if seconds == 0 else rng.randint(1, 3)
        updated = min(started + timedelta(seconds=seconds + rng.uniform(60, 86400 * sessions)),
                      END)
        completed_at = updated if completion == "completed" else None
        reg_id = self.ids.take("registrations")
        self.sink.add("registrations", (reg_id, user_id, package_id, version_id, completion,
                                        success, score, float(seconds), "content", completed_at,
                                        started, updated))
        att_id = self.ids.take("attempts")
        ended = completion == "completed"
        self.sink.add("attempts", (att_id, reg_id, 1, sessions, 0, SCO_ID, ended, started))
        sco_id = self.ids.take("sco_states")
        cmi = {"cmi.core.lesson_status": success if success != "unknown" else completion,
               "cmi.core.lesson_location": "" if ended else str(rng.randint(1, 9))}
        if score is not None:
            cmi["cmi.core.score.raw"] = str(round(score * 100))
        self.sink.add("sco_states", (
            sco_id, att_id, SCO_ID, sessions * 4, json.dumps(cmi), completion, success, score,
            None if score is None else round(score * 100), float(seconds), sessions,
            float(seconds), "" if ended else "suspend", "resume" if sessions > 1 else "ab-initio",
            True, ended, updated))
        if score is not None and rng.random() < self.sample:
            self.interactions(sco_id, module.code, score, started)
        return updated

    def interactions(self, sco_id: int, code: str, score: float, when: datetime) -> None:
        rng = self.rng
        for k in range(QUESTIONS):
            # later questions are harder: they are answered wrong more often
            wrong = rng.random() > min(0.97, score + 0.12 - 0.07 * k)
            answer = "b" if k % 2 else "a"
            given = rng.choice([c for c in "abcd" if c != answer]) if wrong else answer
            stamp = (when + timedelta(seconds=30 * (k + 1))).strftime("%Y-%m-%dT%H:%M:%S")
            self.sink.add("interactions", (
                self.ids.take("interactions"), sco_id, k, f"{code}-q{k + 1}", "choice", given,
                "wrong" if wrong else "correct", json.dumps([answer]), "1",
                f"PT{rng.randint(5, 90)}S", stamp, f"Câu hỏi {k + 1} của bài {code}"))

    def certificate(self, person: dict[str, Any], prog: ProgrammeInfo, when: datetime) -> None:
        from .certificates.serial import ALPHABET, check_char

        cert_id = self.ids.take("certificates")
        value = cert_id % (32 ** 6)  # unique: the row id (up to a billion certificates)
        body = "Z"  # generated certificates: the 7 characters start with Z
        for _ in range(6):
            body += ALPHABET[value % 32]
            value //= 32
        year = when.year
        full = body + check_char(f"{year}{body}")
        serial = f"HP-{year}-{full[:4]}-{full[4:]}"
        unit = person["unit"] or person["residence"]
        self.sink.add("certificates", (
            cert_id, serial, person["id"], prog.id, self.framework_id,
            person["name"], person["birth_year"], unit.name if unit else None, prog.title,
            prog.target_group, "[]", self.issuer, when.date(),
            when + timedelta(minutes=5)))


def _cumulative(weights: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


def generate(learners: int, seed: int = 1, batch: int = 20_000,
             interaction_sample: float = 0.05,
             progress: Callable[[str], None] | None = None) -> DemoReport:
    """Add `learners` synthetic learners (plus one unit manager per unit) with their learning."""
    from flask import current_app

    began = time.monotonic()
    report = DemoReport(learners=learners)
    report.units_added = ensure_units()
    report.packages_added = ensure_catalog()
    programmes = _programmes()
    units = [Place(u.id, u.name, u.kind, u.retired_at is not None)
             for u in db.session.scalars(select(Unit).order_by(Unit.id))]
    framework = db.session.scalar(select(FrameworkVersion).where(FrameworkVersion.active)
                                  .order_by(FrameworkVersion.id.desc()))
    issuer = current_app.config.get("CERT_ISSUER_NAME", "Sở Khoa học và Công nghệ Hải Phòng")
    numbers = plan(learners)
    rng = random.Random(seed)
    db.session.commit()
    with db.engine.begin() as conn:
        sink = Sink(conn, batch)
        ids = Ids(conn)
        gen = Generator(rng, sink, ids, units, programmes,
                        framework.id if framework else None, issuer, interaction_sample)
        _check_free(conn, ids, learners)
        if sink.pg and conn.exec_driver_sql(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar():
            # every id is allocated here, so references are right by construction: skip the
            # per-row foreign-key triggers during the COPY (this transaction only; superuser)
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for unit in units:  # one manager per unit, to try the unit view
            if unit.retired:
                continue
            uid = ids.take("users")
            sink.add("users", (uid, f"ql{uid}@{DEMO_DOMAIN}", None, gen.name(), DEMO_PASSWORD,
                               "unit_manager", rng.randint(1970, 1995), unit.id,
                               "Cán bộ quản lý đào tạo", None, START))
        civil_p = numbers["civil_servants"] / learners if learners else 0
        p3 = numbers["lop-3"] / max(1, numbers["civil_servants"])
        p4 = numbers["lop-4"] / max(1, numbers["civil_servants"])
        p2 = numbers["lop-2"] / max(1, numbers["citizens"])
        for i in range(learners):
            if rng.random() < civil_p:
                person = gen.person(civil=True)
                gen.enrol(person, "lop-1", "assignment")
                if rng.random() < p3:
                    gen.enrol(person, "lop-3", "assignment")
                if rng.random() < p4:
                    gen.enrol(person, "lop-4", "assignment")
            else:
                person = gen.person(civil=False)
                gen.enrol(person, "lop-2" if rng.random() < p2 else "nguoi-dan", "self")
            if len(sink.rows["users"]) >= batch:
                sink.flush()
                if progress:
                    progress(f"{i + 1}/{learners} học viên")
        sink.flush()
        if sink.pg:
            for table in TABLES:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
    if sink.pg:
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in TABLES:
                conn.exec_driver_sql(f"ANALYZE {table}")
    report.counts = dict(sink.counts)
    report.seconds = time.monotonic() - began
    return report


def _check_free(conn: Any, ids: Ids, learners: int) -> None:
    """Generated phone numbers (09 + user id) must not belong to anyone already."""
    first = ids.next["users"]
    last = first + learners + UNITS_TOTAL + 1
    taken = conn.execute(select(func.count()).select_from(User).where(
        User.phone >= f"09{first:08d}", User.phone <= f"09{last:08d}")).scalar()
    if taken:
        raise RuntimeError("generated phone numbers would collide with existing users")
