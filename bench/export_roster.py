"""Roster export benchmark (PostgreSQL + Redis): the export job against `psql \\copy`.

    .venv/bin/python bench/export_roster.py [--learners 200000] [--db bench_roster] [--reuse]
                                            [--xlsx]

1. (re)creates the database, migrates it and fills it with `flask lms gen-demo --learners N`;
2. enqueues a CSV export of every learner of every programme and class (the real job code,
   lms.jobs.export_roster) and runs it in a separate RQ worker process (`flask lms worker
   --burst`), measuring the job's time and the worker's peak RSS (its work-horse included);
3. in the same run, `psql \\copy` of the same rows (the same SQL, formatted by the database) to
   a file; prints both times and their ratio (aim: at most 3x), and checks both files hold the
   same rows.
The worker's peak RSS must stay under 300 MB whatever N: rows are streamed from a server-side
cursor and written as they come.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import support  # noqa: E402

REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")  # its own Redis database


def prepare(db_name: str, learners: int, reuse: bool, env: dict[str, str]) -> None:
    if support.fresh_database(db_name, env, reuse):
        return
    began = time.monotonic()
    out = support.flask(["lms", "gen-demo", "--learners", str(learners)], env,
                capture_output=True).stdout
    print(out.strip().splitlines()[-1])
    print(f"gen-demo --learners {learners}: {time.monotonic() - began:.1f} s")


def enqueue_export(fmt: str) -> tuple[str, list[str], str]:
    """Create the export job and put it on the queue; return (job id, SQL, RQ job id)."""
    from lms import create_app, jobs
    from lms.reports.exports import create_job
    from lms.reports.roster import RosterFilters, build_roster

    app = create_app()
    with app.app_context():
        job = create_job(support.bench_admin_id(), fmt, RosterFilters(), None)
        sql = build_roster(RosterFilters()).sql("text")
        rq_job = jobs.enqueue(jobs.export_roster, job.id, queue_name="exports",
                              timeout=6 * 3600, retries=0)
        return job.id, sql, rq_job.id


def run_worker(env: dict[str, str]) -> int:
    """A burst RQ worker in its own process; returns its peak RSS in kB (work-horse included)."""
    return support.run_burst_worker(env).rss_kb


def job_result(job_id: str, rq_id: str) -> tuple[float, int, str, str]:
    from rq.job import Job

    from lms import create_app, jobs
    from lms.extensions import db
    from lms.models import ExportJob

    app = create_app()
    with app.app_context():
        job = db.session.get(ExportJob, job_id)
        rq_job = Job.fetch(rq_id, connection=jobs._redis(REDIS))
        seconds = (rq_job.ended_at - rq_job.started_at).total_seconds()
        return seconds, job.rows_done, job.status, job.path or ""


def psql_copy(sql: list[str], target: Path, db_name: str) -> float:
    args = ["psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db_name]
    for stmt in sql:
        one_line = " ".join(stmt.split())
        args += ["-c", f"\\copy ({one_line}) TO STDOUT WITH (FORMAT csv)"]
    # the export job's own session settings (lms.reports.exports.PG_SETTINGS), so both run
    # the same query the same way
    from lms.reports.exports import PG_SETTINGS

    options = " ".join(f"-c {k}={v}" for k, v in PG_SETTINGS.items())
    began = time.monotonic()
    with open(target, "wb") as fh:
        subprocess.run(args, stdout=fh, check=True, env={**os.environ, "PGOPTIONS": options})
    return time.monotonic() - began


def same_rows(ours: Path, theirs: Path) -> tuple[int, int, bool]:
    """Row counts of both files, and whether every row is equal (empty string = NULL)."""
    with open(ours, encoding="utf-8-sig", newline="") as a, \
            open(theirs, encoding="utf-8", newline="") as b:
        ra, rb = csv.reader(a), csv.reader(b)
        next(ra)  # our header
        n_a = n_b = 0
        equal = True
        for row_a, row_b in zip(ra, rb, strict=False):
            n_a += 1
            n_b += 1
            if equal and row_a != row_b:
                equal = False
                print("first difference:\n ", row_a[:12], "\n ", row_b[:12])
        n_a += sum(1 for _ in ra)
        n_b += sum(1 for _ in rb)
    return n_a, n_b, equal and n_a == n_b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", type=int, default=200_000)
    ap.add_argument("--db", default="bench_roster")
    ap.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    ap.add_argument("--xlsx", action="store_true", help="also time an XLSX export")
    args = ap.parse_args()

    os.environ.update({"DATABASE_URL": f"{support.PG}/{args.db}", "REDIS_URL": REDIS,
                       "LMS_INSTANCE_PATH": str(Path("/tmp") / f"{args.db}-instance")})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    prepare(args.db, args.learners, args.reuse, env)

    job_id, sql, rq_id = enqueue_export("csv")
    peak_kb = run_worker(env)
    seconds, rows, status, path = job_result(job_id, rq_id)
    if status != "finished":
        raise SystemExit(f"export job {job_id} ended {status}")
    size = Path(path).stat().st_size
    theirs = Path(path).with_suffix(".psql.csv")
    copy_s = psql_copy(sql, theirs, args.db)
    n_ours, n_theirs, equal = same_rows(Path(path), theirs)
    print(f"rows: export {n_ours}, psql {n_theirs}; same rows: {'yes' if equal else 'NO'}")
    print(f"CSV export job (worker): {seconds:.2f} s for {rows} rows, {size / 1e6:.0f} MB")
    print(f"psql \\copy of the same rows: {copy_s:.2f} s")
    print(f"ratio export/psql: {seconds / copy_s:.2f}x (aim <= 3x)")
    print(f"worker peak RSS: {peak_kb / 1024:.0f} MB (limit 300 MB)")
    theirs.unlink(missing_ok=True)
    if args.xlsx:
        job_id, _, rq_id = enqueue_export("xlsx")
        peak_kb = run_worker(env)
        seconds, rows, status, path = job_result(job_id, rq_id)
        print(f"XLSX export job (worker): {status}, {seconds:.2f} s for {rows} rows, "
              f"{Path(path).stat().st_size / 1e6:.0f} MB; worker peak RSS "
              f"{peak_kb / 1024:.0f} MB")
    if peak_kb / 1024 >= 300 or not equal:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
