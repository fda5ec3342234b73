"""City and unit dashboards: figures equal a direct count (lms.progress per learner), SVG charts
are well-formed and carry the numbers, access per role, and a failed refresh changes nothing.

`build_city` generates a small city (units, a mandated class, the citizens' programme, staff,
citizens, a guest, enrolments, registrations across months, quiz interactions); the SCORM report
and browser tests reuse it.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from lxml import etree

from lms.extensions import db
from lms.models import (
    Assignment,
    AssignmentAudience,
    Attempt,
    Enrollment,
    Interaction,
    Module,
    Package,
    PackageVersion,
    Programme,
    Registration,
    ScoState,
    Topic,
    Unit,
    User,
)

from .conftest import csrf_token, login_as

VN = timedelta(hours=7)
SVG_RE = re.compile(r"<svg\b.*?</svg>", re.S)


@dataclass
class City:
    units: dict[str, int] = field(default_factory=dict)
    programmes: dict[str, int] = field(default_factory=dict)
    modules: dict[str, int] = field(default_factory=dict)
    packages: dict[str, int] = field(default_factory=dict)
    admin: int = 0
    managers: dict[str, int] = field(default_factory=dict)
    learner: int = 0
    staff: dict[str, list[int]] = field(default_factory=dict)


def _package(title: str) -> tuple[int, int]:
    pkg = Package(title=title)
    db.session.add(pkg)
    db.session.flush()
    ver = PackageVersion(package_id=pkg.id, number=1, sha256="0" * 64, scorm_version="2004",
                         edition="4th", title=title, manifest={}, sequencing={}, size_bytes=0,
                         file_count=0)
    db.session.add(ver)
    db.session.flush()
    pkg.current_version_id = ver.id
    return pkg.id, ver.id


def _user(name: str, role: str = "learner", unit: int | None = None,
          residence: int | None = None, title: str | None = None,
          created: datetime | None = None) -> int:
    u = User(name=name, email=f"{name.lower().replace(' ', '.')}@example.vn", role=role,
             password_hash="x", unit_id=unit, residence_unit_id=residence, job_title=title,
             created_at=created or datetime(2025, 1, 1, tzinfo=UTC))
    db.session.add(u)
    db.session.flush()
    return u.id


QUESTIONS = {"q1": "Mật khẩu mạnh gồm những gì?", "q2": "Nhận biết tin nhắn lừa đảo",
             "q3": "Đăng nhập Cổng dịch vụ công"}


def build_city(seed: int = 7, learners: int = 90) -> City:
    """A small generated city, committed. Deterministic for a given seed."""
    rng = random.Random(seed)
    city = City()
    for code, name, kind in (("X01", "Xã An Lão", "xa"), ("P02", "Phường Hồng Bàng", "phuong"),
                             ("D03", "Đặc khu Cát Hải", "dac_khu"),
                             ("S04", "Sở Khoa học và Công nghệ", "so_ban_nganh")):
        unit = Unit(code=code, name=name, kind=kind)
        db.session.add(unit)
        db.session.flush()
        city.units[code] = unit.id

    lop1 = Programme(code="lop-1", kind="class", title="Lớp 1 – Kỹ năng số cơ bản",
                     target_rate=80, completion_rule={"mode": "all"}, position=1)
    dan = Programme(code="nguoi-dan", kind="programme", title="Người dân học số",
                    target_rate=70, completion_rule={"mode": "count", "count": 1}, position=0)
    db.session.add_all([lop1, dan])
    db.session.flush()
    city.programmes = {"lop-1": lop1.id, "nguoi-dan": dan.id}
    specs = [("L1-01", lop1, "passed", True), ("L1-02", lop1, "completed", True),
             ("L1-03", lop1, "passed", False), ("ND-01", dan, "passed", True),
             ("ND-02", dan, "completed", True)]
    versions: dict[str, int] = {}
    for i, (code, prog, done_when, required) in enumerate(specs):
        topic = Topic(programme_id=prog.id, code=f"T-{code}", title=f"Chuyên đề {code}",
                      position=i)
        db.session.add(topic)
        db.session.flush()
        pid, vid = _package(f"Gói {code}")
        mod = Module(topic_id=topic.id, code=code, title=f"Học phần {code} – an toàn số",
                     package_id=pid, done_when=done_when, required=required, position=i)
        db.session.add(mod)
        db.session.flush()
        city.modules[code], city.packages[code], versions[code] = mod.id, pid, vid

    city.admin = _user("Quản Trị", "admin")
    city.learner = _user("Học Viên Lẻ")
    for code in ("X01", "P02"):
        city.managers[code] = _user(f"Quản Lý {code}", "unit_manager", unit=city.units[code])
    _user("Khách Vãng Lai", "guest", residence=city.units["X01"])

    months = [datetime(2025, m, d, h, tzinfo=UTC) for m, d, h in
              ((1, 10, 3), (2, 14, 9), (3, 31, 20), (4, 2, 8), (5, 20, 12))]
    titles = ["Chuyên viên", "chuyên viên ", "Văn thư", "Kế toán"]
    for n in range(learners):
        unit_code = rng.choice(["X01", "P02", "D03", "S04"])
        staff = rng.random() < 0.6
        name = f"Nguyễn Thị Hồng {n:03d}"
        if staff:
            uid = _user(name, unit=city.units[unit_code], title=rng.choice(titles))
            city.staff.setdefault(unit_code, []).append(uid)
        else:
            uid = _user(name, residence=city.units[unit_code])
        progs = [lop1] if staff else [dan]
        if rng.random() < 0.2:
            progs.append(dan if staff else lop1)
        for prog in progs:
            if staff and prog is lop1 and rng.random() < 0.15:
                continue  # assigned but never opened the class
            enrolled = rng.choice(months) + timedelta(hours=rng.randint(0, 5))
            db.session.add(Enrollment(user_id=uid, programme_id=prog.id, created_at=enrolled))
            for code, p, _, _ in specs:
                if p is prog and rng.random() < 0.85:
                    _registration(rng, uid, city.packages[code], versions[code], enrolled,
                                  code == "L1-01")
    # mandated: the class for the commune X01 and the ward P02 (unit lines), for one officer of
    # D03 by name, and for "Chuyên viên" (any spelling) of the department S04.
    a = Assignment(target_type="programme", target_id=lop1.id, due_date=date(2025, 6, 30))
    a.audiences = [AssignmentAudience(unit_id=city.units["X01"]),
                   AssignmentAudience(unit_id=city.units["P02"]),
                   AssignmentAudience(job_title="CHUYÊN VIÊN", unit_id=city.units["S04"])]
    if city.staff.get("D03"):
        a.audiences.append(AssignmentAudience(user_id=city.staff["D03"][0]))
    retired = Assignment(target_type="programme", target_id=lop1.id, due_date=date(2025, 1, 1),
                         retired_at=datetime(2025, 2, 1, tzinfo=UTC))
    retired.audiences = [AssignmentAudience(unit_id=city.units["D03"])]
    db.session.add_all([a, retired])
    db.session.commit()
    return city


def _registration(rng: random.Random, uid: int, pid: int, vid: int, start: datetime,
                  quiz: bool) -> None:
    kind = rng.choice(["none", "progress", "completed", "passed", "passed", "failed"])
    when = start + timedelta(days=rng.randint(0, 70), hours=rng.randint(0, 23))
    comp, succ, score, secs = {
        "none": ("not attempted", "unknown", None, 0.0),
        "progress": ("incomplete", "unknown", None, 240.0),
        "completed": ("completed", "unknown", None, 400.0),
        "passed": ("completed", "passed", rng.choice([0.8, 0.9, 1.0]), 420.0),
        "failed": ("completed", "failed", rng.choice([0.2, 0.45, 0.6]), 380.0),
    }[kind]
    reg = Registration(user_id=uid, package_id=pid, package_version_id=vid,
                       completion_status=comp, success_status=succ, score_scaled=score,
                       total_seconds=secs, created_at=start, updated_at=when,
                       completed_at=when - timedelta(hours=1) if comp == "completed" else None)
    db.session.add(reg)
    db.session.flush()
    if not quiz or kind in ("none", "progress"):
        return
    for number in (1, 2) if kind == "passed" and rng.random() < 0.3 else (1,):
        att = Attempt(registration_id=reg.id, number=number)
        db.session.add(att)
        db.session.flush()
        sco = ScoState(attempt_id=att.id, item_id="sco", updated_at=when)
        db.session.add(sco)
        db.session.flush()
        for idx, (qid, text) in enumerate(QUESTIONS.items()):
            wrong = rng.random() < {"q1": 0.2, "q2": 0.6, "q3": 0.35}[qid]
            if number == 2 or kind == "passed":
                wrong = wrong and qid == "q2" and number == 1
            db.session.add(Interaction(sco_state_id=sco.id, idx=idx, interaction_id=qid,
                                       type="choice", result="wrong" if wrong else "correct",
                                       description=text))


# --- the oracle: lms.progress per learner, in Python ------------------------------------------


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Expected:
    learners: Counter = field(default_factory=Counter)  # programme code
    completed: Counter = field(default_factory=Counter)
    assigned: Counter = field(default_factory=Counter)  # (programme code, unit code)
    assigned_done: Counter = field(default_factory=Counter)
    months_enrolled: Counter = field(default_factory=Counter)  # (programme code, YYYY-MM)
    months_completed: Counter = field(default_factory=Counter)
    unfinished: dict[str, set[int]] = field(default_factory=dict)  # unit code → user ids
    citizens: Counter = field(default_factory=Counter)  # unit code
    citizen_learners: Counter = field(default_factory=Counter)
    citizen_done: Counter = field(default_factory=Counter)


def expected() -> Expected:
    from lms.assignments import assignments_for
    from lms.progress import live_modules, modules_progress, programme_rollup

    out = Expected()
    units = {u.id: u.code for u in db.session.scalars(db.select(Unit))}
    programmes = list(db.session.scalars(db.select(Programme)))
    enrolled = {(e.user_id, e.programme_id): e for e in db.session.scalars(db.select(Enrollment))}
    for user in db.session.scalars(db.select(User).where(User.role != "guest")):
        mandated = {a.target_id for a in assignments_for(user) if a.target_type == "programme"}
        citizen = user.unit_id is None and user.residence_unit_id and user.role == "learner"
        any_enrolled = any_done = False
        for prog in programmes:
            enr = enrolled.get((user.id, prog.id))
            if enr is None and prog.id not in mandated:
                continue
            mods = live_modules(prog)
            progress = modules_progress(user.id, mods)
            complete = programme_rollup(prog, progress).complete
            stamp = None
            if complete:
                regs = db.session.scalars(db.select(Registration).where(
                    Registration.user_id == user.id,
                    Registration.package_id.in_([m.package_id for m in mods
                                                 if m.required and progress[m.id].done])))
                stamp = max(max(_aware(r.completed_at or r.updated_at), _aware(r.updated_at))
                            for r in regs)
            if enr is not None:
                any_enrolled = True
                any_done = any_done or complete
                out.learners[prog.code] += 1
                out.months_enrolled[(prog.code, (_aware(enr.created_at) + VN)
                                     .strftime("%Y-%m"))] += 1
                if complete:
                    out.completed[prog.code] += 1
                    out.months_completed[(prog.code, (stamp + VN).strftime("%Y-%m"))] += 1
            if prog.id in mandated:
                code = units[user.unit_id]
                out.assigned[(prog.code, code)] += 1
                out.assigned_done[(prog.code, code)] += int(complete)
                if not complete:
                    out.unfinished.setdefault(code, set()).add(user.id)
        if citizen:
            code = units[user.residence_unit_id]
            out.citizens[code] += 1
            out.citizen_learners[code] += int(any_enrolled)
            out.citizen_done[code] += int(any_done)
    return out


# --- tests ------------------------------------------------------------------------------------


def switch_user(client, user_id: int) -> None:
    """Log in as another user; the tests hold an app context, where Flask-Login caches the
    current user in `g` across requests."""
    from flask import g

    g.pop("_login_user", None)
    login_as(client, user_id)



@pytest.fixture
def city(ctx) -> City:
    from lms.reports.dashboard import refresh

    built = build_city()
    refresh()
    return built


def test_city_figures_equal_a_direct_count(city):
    from lms.reports import dashboard as dash

    exp = expected()
    assert exp.learners["lop-1"] > 20 and exp.completed["lop-1"] > 3  # the city is not trivial
    d = dash.city_dashboard()
    by_code = {r.programme.code: r for r in d.programmes}
    for code in ("lop-1", "nguoi-dan"):
        assert by_code[code].learners == exp.learners[code]
        assert by_code[code].completed == exp.completed[code]
    assert d.selected.programme.code == "lop-1"  # the mandated class is shown first
    rates = {r.unit.code: (r.assigned, r.done) for r in d.unit_rates}
    want = {unit: (n, exp.assigned_done[("lop-1", unit)])
            for (prog, unit), n in exp.assigned.items() if prog == "lop-1"}
    assert rates == want
    assert set(rates) == {"X01", "P02", "D03", "S04"}  # D03 via the person line only
    assert rates["D03"][0] == 1
    gaps = [r.gap for r in d.unit_rates]
    assert gaps == sorted(gaps, reverse=True)  # furthest behind first
    assert all(r.gap > 0 for r in d.behind)

    months = {p.month: (p.enrolled, p.completed) for p in d.months}
    assert {m: e for m, (e, _) in months.items() if e} == {
        m: n for (p, m), n in exp.months_enrolled.items() if p == "lop-1"}
    assert {m: c for m, (_, c) in months.items() if c} == {
        m: n for (p, m), n in exp.months_completed.items() if p == "lop-1"}
    assert d.months[-1].enrolled_total == exp.learners["lop-1"]

    communes = {c.unit.code: (c.citizens, c.learners, c.completed) for c in d.communes}
    assert communes == {code: (exp.citizens[code], exp.citizen_learners[code],
                               exp.citizen_done[code]) for code in exp.citizens}


def test_unit_dashboard_figures_and_who_still_has_to_finish(city, client):
    from lms.reports import dashboard as dash

    exp = expected()
    unit = db.session.get(Unit, city.units["X01"])
    d = dash.unit_dashboard(unit)
    lop1 = next(r for r in d.programmes if r.programme.code == "lop-1")
    assert (lop1.assigned, lop1.assigned_done) == (exp.assigned[("lop-1", "X01")],
                                                   exp.assigned_done[("lop-1", "X01")])
    todo, total = dash.unfinished(unit.id, per_page=1000)
    assert {t.user.id for t in todo} == exp.unfinished["X01"]
    assert total == len(exp.unfinished["X01"])

    login_as(client, city.managers["X01"])
    page = client.get(f"/reports/dashboard/units/{unit.id}").get_data(as_text=True)
    shown = {int(x) for x in re.findall(r'<tr data-person="(\d+)"', page)}
    assert shown == exp.unfinished["X01"]
    assert f"Người chưa hoàn thành lớp bắt buộc ({total})" in page


def test_svg_charts_are_well_formed_accessible_and_carry_the_numbers(city, client):
    exp = expected()
    login_as(client, city.admin)
    resp = client.get("/reports/dashboard")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    svgs = SVG_RE.findall(page)
    assert len(svgs) >= 4
    parsed = {}
    for raw in svgs:
        root = etree.fromstring(raw.encode())
        ns = {"s": "http://www.w3.org/2000/svg"}
        assert root.get("role") == "img"
        title = root.find("s:title", ns)
        desc = root.find("s:desc", ns)
        assert title is not None and title.text and desc is not None and desc.text
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert root.get("viewBox").startswith("0 0 360 ")  # drawn for a 360 px phone
        parsed[root.get("id")] = root
    texts = " ".join(parsed["chart-programmes"].itertext())
    assert str(exp.learners["lop-1"]) in texts and str(exp.completed["lop-1"]) in texts
    monthly = " ".join(parsed["chart-monthly"].itertext())
    assert f"{exp.learners['lop-1']} học viên" in monthly
    # each unit row links to that unit's dashboard
    assert f'href="/reports/dashboard/units/{city.units["X01"]}?programme=' in page
    # the numbers are also in a table
    assert f'<td class="num" data-learners>{exp.learners["lop-1"]}</td>' in page


def test_charts_without_data_are_still_valid_svg():
    from lms.reports.charts import Series, bar_chart, fmt_number, line_chart

    for svg in (bar_chart("a", "T <&>", "D", [], [Series("x", [])]),
                line_chart("b", "T", "D", [], [Series("x", [])]),
                line_chart("c", "T", "D", ["01/2025"], [Series("x", [3])]),
                bar_chart("d", "T", "D", ["Xã Đông & Tây"], [Series("y", [12345])],
                          target=80, max_value=100, percent=True)):
        root = etree.fromstring(str(svg).encode())
        assert root.tag.endswith("svg")
    assert fmt_number(12345) == "12.345" and fmt_number(85.5, percent=True) == "85,5%"
    assert fmt_number(80.0, percent=True) == "80%"


@pytest.mark.parametrize("who,path,status", [
    ("anonymous", "/reports/dashboard", 302),
    ("learner", "/reports/dashboard", 403),
    ("learner", "/reports/dashboard/units/{X01}", 403),
    ("manager", "/reports/dashboard", 302),
    ("manager", "/reports/dashboard/units/{X01}", 200),
    ("manager", "/reports/dashboard/units/{P02}", 404),
    ("admin", "/reports/dashboard", 200),
    ("admin", "/reports/dashboard/units/{P02}", 200),
    ("admin", "/reports/dashboard/units/999999", 404),
])
def test_dashboard_access_per_role(city, client, who, path, status):
    users = {"learner": city.learner, "manager": city.managers["X01"], "admin": city.admin}
    if who in users:
        login_as(client, users[who])
    resp = client.get(path.format(**city.units))
    assert resp.status_code == status
    if who == "anonymous":
        assert "/login" in resp.headers["Location"]
    if who == "manager" and status == 302:
        assert resp.headers["Location"].endswith(f"/reports/dashboard/units/{city.units['X01']}")


def test_refresh_button_runs_the_job_and_needs_admin(city, client, worker):
    """In-process without Redis; with Redis (CI) the job goes to the real worker."""
    from lms.models import DashRefresh

    before = db.session.scalar(db.select(db.func.count()).select_from(DashRefresh))
    login_as(client, city.managers["X01"])
    page = client.get(f"/reports/dashboard/units/{city.units['X01']}").get_data(as_text=True)
    assert "Cập nhật số liệu ngay" not in page
    assert client.post("/reports/dashboard/refresh",
                       data={"csrf_token": csrf_token(
                           client.get("/learn").get_data(as_text=True))}
                       ).status_code in (400, 403)
    switch_user(client, city.admin)
    page = client.get("/reports/dashboard").get_data(as_text=True)
    assert client.post("/reports/dashboard/refresh", data={}).status_code == 400  # no CSRF
    resp = client.post("/reports/dashboard/refresh", data={"csrf_token": csrf_token(page)})
    assert resp.status_code == 302

    def refreshed() -> int:
        db.session.expire_all()
        db.session.rollback()
        return db.session.scalar(db.select(db.func.count()).select_from(DashRefresh))

    deadline = time.time() + 60
    while refreshed() == before and time.time() < deadline:
        time.sleep(0.2)
    assert refreshed() == before + 1


def test_refresh_returns_only_to_a_page_of_this_site(city, client, worker):
    login_as(client, city.admin)
    token = csrf_token(client.get("/reports/dashboard").get_data(as_text=True))
    back = client.post("/reports/dashboard/refresh",
                       data={"csrf_token": token, "next": "/reports/dashboard?programme=1"})
    assert back.headers["Location"].endswith("/reports/dashboard?programme=1")
    for evil in ("https://evil.example/", "//evil.example/x"):
        resp = client.post("/reports/dashboard/refresh", data={"csrf_token": token, "next": evil})
        assert resp.status_code == 302 and "evil.example" not in resp.headers["Location"]


def test_a_failed_refresh_leaves_the_previous_figures(city, monkeypatch):
    from lms.models import DashLearnerProgress, DashUnitProgramme
    from lms.reports import dashboard as dash
    from lms.reports import scorm_report

    rows = db.session.scalar(db.select(db.func.count()).select_from(DashLearnerProgress))
    units = db.session.scalar(db.select(db.func.count()).select_from(DashUnitProgramme))
    db.session.add(Enrollment(user_id=city.learner, programme_id=city.programmes["lop-1"]))
    db.session.commit()

    def boom() -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(scorm_report, "refresh_module_stats", boom)
    with pytest.raises(RuntimeError):
        dash.refresh()
    assert db.session.scalar(db.select(db.func.count()).select_from(DashLearnerProgress)) == rows
    assert db.session.scalar(db.select(db.func.count()).select_from(DashUnitProgramme)) == units
    monkeypatch.undo()
    dash.refresh()
    assert db.session.scalar(
        db.select(db.func.count()).select_from(DashLearnerProgress)) == rows + 1
