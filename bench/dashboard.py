"""Dashboard benchmark (PostgreSQL): time the dashboard and SCORM-report pages at N learners.

    .venv/bin/python bench/dashboard.py [--learners 200000] [--db bench_dash] [--reuse]
                                        [--runs 20] [--explain]

1. (re)creates its own database, migrates it and fills it with `flask lms gen-demo --learners N`
   (`--reuse` keeps an existing database that was filled before);
2. adds the mandated-class assignments the demo data implies (Lớp 1 for every unit, Lớp 4 for
   the departments) unless there are some, and rebuilds the summaries (`lms.reports.dashboard.
   refresh`, the job's code), printing how long that takes;
3. times each page through the Flask test client, logged in as an admin or a unit manager:
   median and p95 over `--runs` requests after a warm-up, and the ratio to a trivial `/healthz`
   request timed in the same run;
4. `--explain`: prints EXPLAIN (ANALYZE, BUFFERS) of every SQL statement one request of each page
   runs (captured from SQLAlchemy), for docs/dashboards.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.support import PG, bench_admin_id, flask, fresh_database  # noqa: E402


def prepare(db_name: str, learners: int, reuse: bool, env: dict[str, str]) -> None:
    if fresh_database(db_name, env, reuse, quiet=False):
        return
    began = time.monotonic()
    flask(["lms", "gen-demo", "--learners", str(learners)], env)
    print(f"gen-demo --learners {learners}: {time.monotonic() - began:.0f} s")


def add_assignments() -> int:
    """Lớp 1 for every unit, Lớp 4 for the departments (what the demo's enrolments imply)."""
    from sqlalchemy import func, select

    from lms.extensions import db
    from lms.models import Assignment, AssignmentAudience, Programme, Unit

    if db.session.scalar(select(func.count()).select_from(Assignment)):
        return 0
    units = db.session.scalars(select(Unit).where(Unit.retired_at.is_(None))).all()
    made = 0
    for code, kinds in (("lop-1", None), ("lop-4", {"so_ban_nganh"})):
        prog = db.session.scalar(select(Programme).where(Programme.code == code))
        if prog is None:
            continue
        a = Assignment(target_type="programme", target_id=prog.id, due_date=date(2025, 12, 31),
                       note="bench")
        a.audiences = [AssignmentAudience(unit_id=u.id) for u in units
                       if kinds is None or u.kind in kinds]
        db.session.add(a)
        made += 1
    db.session.commit()
    return made


def pick(app) -> dict:
    """The users and objects the timed requests use: the unit with most people, etc."""
    from sqlalchemy import func, select

    from lms.extensions import db
    from lms.models import DashModuleStats, Module, Programme, User

    with app.app_context():
        admin = bench_admin_id()
        unit_id = db.session.scalar(
            select(User.unit_id).where(User.unit_id.is_not(None)).group_by(User.unit_id)
            .order_by(func.count().desc()).limit(1))
        manager = db.session.scalar(select(User.id).where(
            User.role == "unit_manager", User.unit_id == unit_id).limit(1))
        package = db.session.scalar(select(DashModuleStats.package_id)
                                    .group_by(DashModuleStats.package_id)
                                    .order_by(func.sum(DashModuleStats.registered).desc())
                                    .limit(1))
        module = db.session.scalar(select(Module.id).where(Module.package_id == package)
                                   .limit(1))
        lop2 = db.session.scalar(select(Programme.id).where(Programme.code == "lop-2"))
        return {"admin": admin, "manager": manager, "unit": unit_id, "module": module,
                "lop2": lop2}


def login(client, user_id: int) -> None:
    with client.session_transaction() as s:
        s["_user_id"] = str(user_id)
        s["_fresh"] = True


def pages(ids: dict) -> list[tuple[str, str, str]]:
    """(name, who, path)"""
    return [
        ("healthz (baseline)", "anonymous", "/healthz"),
        ("city dashboard", "admin", "/reports/dashboard"),
        ("city dashboard, Lớp 2", "admin", f"/reports/dashboard?programme={ids['lop2']}"),
        ("unit dashboard (admin)", "admin", f"/reports/dashboard/units/{ids['unit']}"),
        ("unit dashboard (manager)", "manager", f"/reports/dashboard/units/{ids['unit']}"),
        ("unit dashboard, page 5", "manager",
         f"/reports/dashboard/units/{ids['unit']}?page=5"),
        ("SCORM report, city", "admin", f"/reports/modules/{ids['module']}"),
        ("SCORM report, unit", "manager", f"/reports/modules/{ids['module']}"),
        ("SCORM questions CSV", "admin", f"/reports/modules/{ids['module']}/questions.csv"),
    ]


def time_pages(app, ids: dict, runs: int) -> list[tuple[str, float, float, int]]:
    clients = {}
    for who in ("anonymous", "admin", "manager"):
        clients[who] = app.test_client()
        if who != "anonymous":
            login(clients[who], ids[who])
    out = []
    for name, who, path in pages(ids):
        client = clients[who]
        for _ in range(3):  # warm-up: caches, connection pool
            resp = client.get(path)
            assert resp.status_code == 200, (path, resp.status_code)
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            resp = client.get(path)
            samples.append((time.perf_counter() - t) * 1000)
            assert resp.status_code == 200
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
        out.append((name, statistics.median(samples), p95, len(resp.data)))
    return out


def explain(app, ids: dict) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement one request of each page runs."""
    from sqlalchemy import event

    from lms.extensions import db

    with app.app_context():
        engine = db.engine
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    for name, who, path in pages(ids)[1:]:
        client = app.test_client()
        if who != "anonymous":
            login(client, ids[who])
        captured.clear()
        event.listen(engine, "before_cursor_execute", grab)
        try:
            client.get(path)
        finally:
            event.remove(engine, "before_cursor_execute", grab)
        print(f"\n### {name}: {path} ({len(captured)} statements)")
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for statement, params in captured:
                if "FROM users" in statement and "WHERE users.id =" in statement:
                    continue  # the login's user lookup
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plan = [r[0] for r in cur.fetchall()]
                print("\n" + " ".join(statement.split())[:400])
                print("\n".join("    " + line for line in plan))
        finally:
            raw.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", type=int, default=200_000)
    ap.add_argument("--db", default="bench_dash")
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--explain", action="store_true")
    args = ap.parse_args()

    url = f"{PG}/{args.db}"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"DATABASE_URL": url, "PYTHONPATH": str(ROOT),
                "LMS_INSTANCE_PATH": env.get("LMS_INSTANCE_PATH", f"/tmp/{args.db}-instance")})
    prepare(args.db, args.learners, args.reuse, env)

    from lms import create_app

    os.environ["LMS_INSTANCE_PATH"] = env["LMS_INSTANCE_PATH"]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        from sqlalchemy import func, select

        from lms.extensions import db
        from lms.models import User
        from lms.reports.dashboard import refresh

        print(f"assignments added: {add_assignments()}")
        people = db.session.scalar(select(func.count()).select_from(User))
        run = refresh()  # ends with VACUUM (ANALYZE) of the summary tables
        print(f"users: {people}; summaries rebuilt in {run.seconds:.1f} s "
              f"({run.learner_rows} learner-programme rows)")
    ids = pick(app)
    rows = time_pages(app, ids, args.runs)
    base = rows[0][1]
    print(f"\n{'page':32} {'median ms':>10} {'p95 ms':>10} {'× healthz':>10} {'bytes':>9}")
    for name, med, p95, size in rows:
        print(f"{name:32} {med:10.1f} {p95:10.1f} {med / base:10.1f} {size:9d}")
    worst = max(p95 for _, _, p95, _ in rows[1:])
    print(f"\nslowest p95: {worst:.1f} ms — {'OK' if worst < 300 else 'OVER'} the 300 ms budget")
    if args.explain:
        explain(app, ids)


if __name__ == "__main__":
    main()
