"""Completion rosters (lms/reports): the SQL roster equals lms.progress per learner; CSV and XLSX
exports through the job; who may see and fetch what."""

from __future__ import annotations

import csv
import io
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import func, select

from lms import demo
from lms.extensions import db
from lms.models import (
    Certificate,
    Enrollment,
    ExportJob,
    FrameworkVersion,
    Module,
    Programme,
    Registration,
    Topic,
    Unit,
    User,
)
from lms.progress import LABELS, live_modules, modules_progress, programme_rollup, topic_rollup
from lms.reports import exports
from lms.reports.roster import RosterFilters, build_roster, localtime
from tests.conftest import csrf_token, login_as, make_user

TRICKY_NAME = unicodedata.normalize("NFD", 'Đặng "Thị" Ánh Tuyết, Hà Nội; Ỷ Lan\tỬ')


def _catalog() -> None:
    """A small catalog with every rule the roster must follow: a module that is not required,
    one done when completed, a retired module, a "count" completion rule."""
    db.session.add(FrameworkVersion(code="tt02-2025", version="1", title="Khung năng lực số"))

    def programme(code: str, pos: int, modules: list[dict], rule: dict | None = None) -> None:
        prog = Programme(code=code, title=f"Chương trình {code}", kind="class", position=pos,
                         completion_rule=rule or {"mode": "all"}, audience=["cbccvc"])
        topic = Topic(code=f"{code}-cd1", title=f"Chuyên đề của {code}", programme=prog)
        db.session.add_all([prog, topic])
        for i, spec in enumerate(modules):
            db.session.add(Module(code=f"{code}-m{i + 1}", title=f"Bài {i + 1} của {code}",
                                  topic=topic, position=i, minutes=6, **spec))

    programme("lop-1", 0, [{}, {}, {"required": False}])
    programme("lop-2", 1, [{"done_when": "completed"}, {}])
    programme("lop-3", 2, [{}, {"retired_at": datetime(2025, 5, 1, tzinfo=UTC)}])
    programme("lop-4", 3, [{}])
    programme("nguoi-dan", 4, [{}, {}, {}], {"mode": "count", "count": 2})
    db.session.commit()


@pytest.fixture
def city(ctx):
    _catalog()
    demo.generate(400, seed=11, interaction_sample=0.2)
    person = db.session.scalars(select(User).where(User.unit_id.is_not(None),
                                                   User.role == "learner")).first()
    person.name = TRICKY_NAME
    db.session.commit()
    return person.id


def _expected(user_id: int, programme: Programme, modules: list[Module]) -> dict:
    progress = modules_progress(user_id, modules)
    regs = {r.package_id: r for r in db.session.scalars(
        select(Registration).where(Registration.user_id == user_id))}
    return {"progress": progress, "regs": regs}


def test_roster_figures_equal_progress_per_learner(city):
    roster = build_roster(RosterFilters())
    rows = list(roster.rows())
    enrolments = db.session.scalar(select(func.count()).select_from(Enrollment))
    assert len(rows) == enrolments == roster.count() > 400
    programmes = {p.code: p for p in db.session.scalars(select(Programme))}
    statuses = set()
    for row in rows:
        prog = programmes[row["programme_code"]]
        modules = live_modules(prog)
        exp = _expected(row["user_id"], prog, modules)
        rollup = programme_rollup(prog, exp["progress"])
        assert (row["status"], row["done"], row["needed"]) == (
            rollup.status, rollup.done, rollup.needed), row["user_id"]
        statuses.add(rollup.status)
        for m in modules:
            key = m.code
            if not m.required:
                assert f"{key}:status" not in row  # only required modules get columns
                continue
            mp = exp["progress"][m.id]
            reg = exp["regs"].get(m.package_id)
            assert row[f"{key}:status"] == mp.status
            assert row[f"{key}:score"] == mp.score
            assert row[f"{key}:minutes"] == (round(reg.total_seconds / 60) if reg else 0)
            assert row[f"{key}:last"] == (reg.updated_at if reg else None)
        done = [exp["regs"][m.package_id] for m in modules
                if m.required and exp["progress"][m.id].done]
        expected_at = (max(max(filter(None, (r.completed_at, r.updated_at))) for r in done)
                       if rollup.complete else None)
        assert _naive(row["completed_at"]) == _naive(expected_at)
        cert = db.session.scalar(select(Certificate.serial).where(
            Certificate.user_id == row["user_id"], Certificate.programme_id == prog.id))
        assert row["certificate"] == cert
        if row["status"] == "completed" and prog.certificate:
            assert cert
    assert statuses == {"completed", "in_progress", "not_started"}
    # the retired module of lop-3 and the module of another programme have no columns
    assert "lop-3-m2:status" not in roster.keys
    # the "count" rule: 2 of the 3 modules of nguoi-dan are enough
    assert {r["needed"] for r in rows if r["programme_code"] == "nguoi-dan"} == {2}


def _naive(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def test_topic_and_module_scopes_and_filters(city):
    topic = db.session.scalar(select(Topic).where(Topic.code == "lop-2-cd1"))
    rows = list(build_roster(RosterFilters(topic_id=topic.id)).rows())
    assert rows and {r["programme_code"] for r in rows} == {"lop-2"}
    for row in rows:
        progress = modules_progress(row["user_id"], [m for m in topic.modules])
        assert row["status"] == topic_rollup(topic, progress).status
    module = topic.modules[0]  # done when "completed"
    rows = list(build_roster(RosterFilters(module_id=module.id)).rows())
    for row in rows:
        mp = modules_progress(row["user_id"], [module])[module.id]
        assert row["status"] == ("completed" if mp.done else
                                 "in_progress" if mp.status != "not_started" else "not_started")
    # the three statuses split the roster exactly
    total = build_roster(RosterFilters()).count()
    parts = [build_roster(RosterFilters(status=s)).count()
             for s in ("not_started", "in_progress", "completed")]
    assert sum(parts) == total and all(parts)
    # a unit: only people whose unit (or, for citizens, commune of residence) it is
    unit_id = db.session.scalar(select(User.unit_id).where(User.unit_id.is_not(None)))
    unit_rows = list(build_roster(RosterFilters(unit_id=unit_id)).rows())
    users = {u.id: u for u in db.session.scalars(select(User))}
    assert unit_rows
    assert all((users[r["user_id"]].unit_id or users[r["user_id"]].residence_unit_id) == unit_id
               for r in unit_rows)
    citizens = list(build_roster(RosterFilters(role="citizen")).rows())
    assert citizens and all(users[r["user_id"]].unit_id is None for r in citizens)
    # a date range on the enrolment date (Hai Phong days)
    first = min(e.created_at for e in db.session.scalars(select(Enrollment)))
    day = localtime(first).date()
    in_day = list(build_roster(RosterFilters(date_from=day, date_to=day)).rows())
    assert in_day and all(localtime(r["enrolled_at"]).date() == day for r in in_day)


# --- exports through the job and the pages ----------------------------------------------------


def _admin(client) -> int:
    uid = make_user("admin@example.vn", "admin")
    login_as(client, uid)
    return uid


def _manager(email: str, unit_id: int) -> int:
    uid = make_user(email)
    user = db.session.get(User, uid)
    user.role, user.unit_id = "unit_manager", unit_id
    db.session.commit()
    return uid


def _export(client, fmt: str, **filters) -> ExportJob:
    page = client.get("/reports/roster", query_string=filters)
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "fmt": fmt, **filters}
    resp = client.post("/reports/roster/export", data=data)
    assert resp.status_code == 302
    job_id = resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    deadline = time.time() + 120
    while True:
        state = client.get(f"/reports/exports/{job_id}?format=json").get_json()
        if state["status"] in ("finished", "failed") or time.time() > deadline:
            break
        time.sleep(0.3)
    assert state["status"] == "finished", state
    db.session.expire_all()
    return db.session.get(ExportJob, job_id)


def _download(client, job: ExportJob) -> bytes:
    resp = client.get(f"/reports/exports/{job.id}/download")
    assert resp.status_code == 200
    assert job.filename and job.filename in resp.headers["Content-Disposition"]
    return resp.data


def test_csv_round_trips_vietnamese_names(city, client, worker):
    _admin(client)
    job = _export(client, "csv")
    data = _download(client, job)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads Vietnamese correctly
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Mã học viên", "Họ và tên", "Email"]
    names = {u.id: u.name for u in db.session.scalars(select(User))}
    assert len(body) == db.session.scalar(select(func.count()).select_from(Enrollment))
    for line in body:
        assert line[1] == names[int(line[0])]  # byte for byte, NFD and punctuation included
    assert any(line[1] == TRICKY_NAME for line in body)
    status_col = header.index("Trạng thái chung")
    assert {line[status_col] for line in body} == {LABELS["completed"], LABELS["in_progress"],
                                                   LABELS["not_started"]}


def test_xlsx_opens_and_figures_equal_database(city, client, worker):
    from openpyxl import load_workbook

    _admin(client)
    job = _export(client, "xlsx")
    path = Path(job.path)
    wb = load_workbook(io.BytesIO(_download(client, job)), read_only=False)
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
    sheet = list(ws.iter_rows(values_only=True))
    roster = build_roster(RosterFilters())
    assert list(sheet[0]) == roster.headers
    expected = list(roster.rows())
    assert len(sheet) - 1 == len(expected)
    for got, want in zip(sheet[1:], expected, strict=True):
        for col, value in zip(roster.columns, got, strict=True):
            raw = want[col.key]
            if col.kind in ("date", "datetime"):
                exp = localtime(raw)
                if exp is not None and col.kind == "date":
                    assert value.date() == exp.date()
                elif exp is not None:
                    assert abs(value - exp) < timedelta(milliseconds=1)
                else:
                    assert value is None
            elif col.key.endswith("status"):
                assert value == (LABELS[raw] if raw else None)
            elif col.key == "unit_kind":
                assert value  # the kind's label
            else:
                assert value == raw, (col.key, value, raw)
    assert path.is_file()


def test_unit_manager_exports_only_their_unit(city, client, worker):
    units = list(db.session.scalars(select(Unit).order_by(Unit.id)))
    mine = db.session.scalar(select(User.unit_id).where(User.unit_id.is_not(None)))
    other = next(u.id for u in units if u.id != mine)
    login_as(client, _manager("quanly@example.vn", mine))
    job = _export(client, "csv", unit_id=str(other))  # asking for another unit changes nothing
    body = list(csv.reader(io.StringIO(_download(client, job).decode("utf-8-sig"))))[1:]
    users = {u.id: u for u in db.session.scalars(select(User))}
    expected = db.session.scalar(
        select(func.count()).select_from(Enrollment).join(User, User.id == Enrollment.user_id)
        .where(func.coalesce(User.unit_id, User.residence_unit_id) == mine))
    assert len(body) == expected > 0
    assert all((users[int(r[0])].unit_id or users[int(r[0])].residence_unit_id) == mine
               for r in body)
    page = client.get("/reports/roster", query_string={"unit_id": other})
    assert page.status_code == 200
    assert f'data-roster-total="{expected}"' in page.get_data(as_text=True)


def _get(client, url: str) -> int:
    """The status of a GET by this client. The test holds an app context that requests share,
    so Flask-Login's per-context user is forgotten first (each client is a different person)."""
    g.pop("_login_user", None)
    return client.get(url).status_code


def test_only_requester_or_admin_can_fetch(city, client, app, worker):
    unit_id = db.session.scalar(select(User.unit_id).where(User.unit_id.is_not(None)))
    owner = _manager("chu@example.vn", unit_id)
    login_as(client, owner)
    job = _export(client, "csv")
    assert _get(client, f"/reports/exports/{job.id}/download") == 200

    other = app.test_client()
    login_as(other, _manager("khac@example.vn", unit_id))  # same unit, not the requester
    assert _get(other, f"/reports/exports/{job.id}") == 404
    assert _get(other, f"/reports/exports/{job.id}/download") == 404

    learner = app.test_client()
    login_as(learner, make_user("hocvien@example.vn"))
    assert _get(learner, "/reports/roster") == 403
    assert _get(learner, f"/reports/exports/{job.id}/download") == 403

    anonymous = app.test_client()
    assert _get(anonymous, f"/reports/exports/{job.id}/download") == 302  # to the login page

    admin = app.test_client()
    login_as(admin, make_user("admin@example.vn", "admin"))
    assert _get(admin, f"/reports/exports/{job.id}/download") == 200
    assert _get(client, f"/reports/exports/{job.id}/download") == 200  # the requester again


def test_failed_export_leaves_no_file(city, app, monkeypatch):
    admin = make_user("admin@example.vn", "admin")
    job = exports.create_job(admin, "csv", RosterFilters(), None)

    def broken(roster, path, progress=None):
        path.write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setitem(exports.WRITERS, "csv", broken)
    with pytest.raises(OSError):
        exports.run_export(job.id)
    db.session.expire_all()
    failed = db.session.get(ExportJob, job.id)
    assert failed.status == "failed" and failed.path is None and "disk full" in failed.error
    assert list(exports.export_dir().glob(f"{job.id}*")) == []
    client = app.test_client()
    login_as(client, admin)
    assert client.get(f"/reports/exports/{job.id}/download").status_code == 404
    state = client.get(f"/reports/exports/{job.id}?format=json").get_json()
    assert state["status"] == "failed" and state["download"] is None


def test_expired_exports_are_removed(city, app):
    admin = make_user("admin@example.vn", "admin")
    job = exports.create_job(admin, "csv", RosterFilters(status="completed"), None)
    exports.run_export(job.id)
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    path = Path(job.path)
    assert path.is_file() and job.expires_at is not None
    client = app.test_client()
    login_as(client, admin)
    assert client.get(f"/reports/exports/{job.id}/download").status_code == 200
    job.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    assert client.get(f"/reports/exports/{job.id}/download").status_code == 404  # expired
    assert exports.purge_expired() == 1
    assert not path.exists() and db.session.get(ExportJob, job.id) is None
