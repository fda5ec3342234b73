"""Bulk import of civil servants (PostgreSQL + Redis): 20,000 rows through the real job.

    .venv/bin/python bench/people_import.py [--rows 20000] [--baseline 2000] [--db bench_people]

1. (re)creates the database, migrates it and loads the city's units;
2. writes a CSV of `--rows` civil servants with a handful of bad rows (invalid email, invalid
   phone, unknown unit, missing name, duplicate email, retired unit, no contact);
3. each import is `lms.jobs.import_people` enqueued on the `imports` queue and run by a
   separate burst RQ worker process (`flask lms worker --burst`), whose peak RSS (work-horse
   included) is measured:
   a. a clean `--baseline`-row file (the memory baseline),
   b. the file with bad rows, as uploaded: every bad row reported with its line, nothing
      applied, and "import the valid rows, skip the bad ones" offered,
   c. the same file with skip_invalid=True (what the admin's confirmation runs): every good
      row created in one transaction (rows/s), exactly the bad lines skipped and listed,
   d. that file again with skip_invalid=True: nothing changes (every good row unchanged);
4. prints the figures and the ratio of the 20,000-row worker's peak RSS to the baseline's
   (flat memory: the import streams the file twice, keeps only the contacts seen and the bad
   line numbers, and writes in batches of 1,000).
Exits 1 if any expectation fails.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import support  # noqa: E402

REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")  # its own Redis database
HEADER = ["ho_ten", "email", "so_dien_thoai", "ma_don_vi", "chuc_vu"]
TITLES = ["Chuyên viên", "Phó Chủ tịch UBND", "Chủ tịch UBND", "Công chức Văn phòng - Thống kê",
          "Công chức Tư pháp - Hộ tịch", "Kế toán", "Phó Giám đốc Sở", "Trưởng phòng"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
GIVEN = ["Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thu Hà", "Đức Hùng", "Ngọc Lan",
         "Thanh Sơn", "Hải Yến", "Văn Tùng"]


def prepare(db_name: str, env: dict[str, str]) -> None:
    support.fresh_database(db_name, env)
    support.flask(["lms", "seed-units"], env, capture_output=True)


def unit_codes() -> tuple[list[str], str]:
    """Active unit codes, and one unit retired for the bench (a bad row names it)."""
    from lms import create_app
    from lms.extensions import db
    from lms.models import Unit
    from lms.units import retire_unit

    app = create_app()
    with app.app_context():
        units = list(db.session.scalars(db.select(Unit).order_by(Unit.code)))
        retired = units[-1]
        retire_unit(retired)
        db.session.commit()
        return [u.code for u in units[:-1]], retired.code


def person(n: int, codes: list[str], prefix: str, mobile: str = "09") -> list[str]:
    name = f"{FAMILY[n % 10]} {GIVEN[(n // 10) % 10]} {n}"
    phone = f"{mobile}{n:08d}" if n % 3 == 0 else ""  # a third also give a phone number
    return [name, f"{prefix}{n}@haiphong.gov.vn", phone, codes[n % len(codes)],
            TITLES[n % len(TITLES)]]


def write_files(folder: Path, rows: int, baseline: int, codes: list[str], retired: str
                ) -> tuple[Path, Path, dict[int, str]]:
    """(baseline file, file with `rows` good rows and the bad ones, bad line -> reason)."""
    folder.mkdir(parents=True, exist_ok=True)
    base_path = folder / "baseline.csv"
    with base_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for n in range(baseline):
            w.writerow(person(n, codes, "mau", mobile="08"))  # other people than the 20,000
    good = [person(n, codes, "cb") for n in range(rows)]
    bad_rows = {  # position in the data (0-based) -> (row, why)
        17: (["Lê Văn Sai Email", "khong-phai-email@", "", codes[0], "Chuyên viên"],
             "email không hợp lệ"),
        2_500: (["Trần Thị Sai Số", "", "12345", codes[1], "Kế toán"], "số điện thoại sai"),
        6_001: (["Phạm Văn Không Đơn Vị", "kdv@haiphong.gov.vn", "", "XX999", "Chuyên viên"],
                "không có đơn vị"),
        9_999: (["", "khong-ten@haiphong.gov.vn", "", codes[2], "Chuyên viên"], "thiếu họ tên"),
        12_345: (["Bùi Văn Trùng", "cb5@haiphong.gov.vn", "", codes[3], "Chuyên viên"],
                 "email trùng dòng trước"),
        15_000: (["Ngô Thị Đơn Vị Cũ", "cu@haiphong.gov.vn", "", retired, "Chuyên viên"],
                 "đơn vị đã ngừng hoạt động"),
        19_000: (["Đỗ Văn Không Liên Hệ", "", "", codes[4], "Chuyên viên"],
                 "thiếu email và số điện thoại"),
    }
    bad_rows = {k: v for k, v in bad_rows.items() if k < rows}
    with_bad = folder / "can-bo-co-loi.csv"
    bad_lines: dict[int, str] = {}
    with with_bad.open("w", encoding="utf-8", newline="") as fb:
        wb = csv.writer(fb)
        wb.writerow(HEADER)
        line = 1
        for i, row in enumerate(good):
            if i in bad_rows:
                line += 1
                wb.writerow(bad_rows[i][0])
                bad_lines[line] = bad_rows[i][1]
            line += 1
            wb.writerow(row)
    return base_path, with_bad, bad_lines


def enqueue(path: Path, content_root: Path, skip_invalid: bool = False) -> str:
    """Put an import of a copy of `path` on the queue (the job deletes its upload, or keeps it
    for the admin's confirmation when it refused the file for bad rows)."""
    from lms import create_app, jobs

    upload = content_root / "_uploads" / f"bench-{time.monotonic_ns()}{path.suffix}"
    upload.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, upload)
    app = create_app()
    with app.app_context():
        job = jobs.enqueue(jobs.import_people, str(upload), support.bench_admin_id(), skip_invalid,
                           queue_name="imports", timeout=1800, retries=0)
        return job.id


HORSE_KB: list[int] = []  # the work-horse's peak RSS of each run_worker, in order


def run_worker(env: dict[str, str]) -> int:
    """A burst RQ worker in its own process; its peak RSS in kB (work-horse included). The
    work-horse's own peak goes to HORSE_KB."""
    peak = support.run_burst_worker(env)
    HORSE_KB.append(peak.horse_kb)
    return peak.rss_kb


def job_outcome(rq_id: str) -> tuple[dict, float]:
    from rq.job import Job

    from lms import jobs

    job = Job.fetch(rq_id, connection=jobs._redis(REDIS))
    status = job.get_status(refresh=True)
    if str(getattr(status, "value", status)) != "finished":
        raise SystemExit(f"import job {rq_id} ended {status}")
    return job.return_value(), (job.ended_at - job.started_at).total_seconds()


def user_count() -> int:
    from lms import create_app
    from lms.extensions import db
    from lms.models import User

    with create_app().app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(User))


def run_import(path: Path, env: dict[str, str], content_root: Path,
               skip_invalid: bool = False) -> tuple[dict, float, int]:
    rq_id = enqueue(path, content_root, skip_invalid)
    peak_kb = run_worker(env)
    result, seconds = job_outcome(rq_id)
    return result, seconds, peak_kb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--baseline", type=int, default=2_000)
    ap.add_argument("--db", default="bench_people")
    args = ap.parse_args()

    instance = Path("/tmp") / f"{args.db}-instance"
    content_root = instance / "content"
    os.environ.update({"DATABASE_URL": f"{support.PG}/{args.db}", "REDIS_URL": REDIS,
                       "LMS_INSTANCE_PATH": str(instance), "CONTENT_ROOT": str(content_root),
                       "REMINDER_HOUR": "-1"})  # the bench worker schedules no reminders
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    from redis import Redis

    Redis.from_url(REDIS).flushdb()  # this bench's own Redis database
    prepare(args.db, env)
    codes, retired = unit_codes()
    base_path, with_bad, bad_lines = write_files(instance / "bench-files", args.rows,
                                                 args.baseline, codes, retired)
    failures: list[str] = []
    idle_kb = run_worker(env)  # no job: what the worker process itself takes
    print(f"idle worker (no job) peak RSS {idle_kb / 1024:.0f} MB")

    # a. baseline
    base, base_s, base_kb = run_import(base_path, env, content_root)
    print(f"baseline: {args.baseline} rows created {base['created']} in {base_s:.2f} s "
          f"({args.baseline / base_s:,.0f} rows/s); worker peak RSS {base_kb / 1024:.0f} MB")
    if not base["ok"] or base["created"] != args.baseline:
        failures.append("baseline import did not create every row")

    # b. the file with bad rows, as uploaded: reported by line, nothing applied, skip offered
    before = user_count()
    bad, bad_s, bad_kb = run_import(with_bad, env, content_root)
    reported = {e["line"]: e["message"] for e in bad["errors"]}
    print(f"file with {len(bad_lines)} bad rows ({args.rows + len(bad_lines)} rows), no skip: "
          f"ok={bad['ok']}, {bad['error_count']} errors reported in {bad_s:.2f} s, "
          f"offered: import {bad['rows']} valid rows, skip {bad['invalid_lines']} bad lines; "
          f"worker peak RSS {bad_kb / 1024:.0f} MB")
    for line, why in sorted(bad_lines.items()):
        print(f"  line {line} ({why}): {reported.get(line, 'NOT REPORTED')}")
    if bad["ok"] or set(reported) != set(bad_lines) or user_count() != before:
        failures.append("bad rows not reported exactly, or something was applied")
    if not bad["can_skip"] or bad["rows"] != args.rows or bad["invalid_lines"] != len(bad_lines):
        failures.append("importing the valid rows was not offered as expected")
    if bad.get("upload"):  # kept for the admin's confirmation, which this bench does not use
        (content_root / "_uploads" / bad["upload"]).unlink(missing_ok=True)

    # c. the same file with skip_invalid: the good rows created, the bad lines skipped
    good, good_s, good_kb = run_import(with_bad, env, content_root, skip_invalid=True)
    print(f"same file, skip_invalid: created {good['created']}, updated {good['updated']}, "
          f"unchanged {good['unchanged']} in {good_s:.2f} s = {args.rows / good_s:,.0f} rows/s; "
          f"skipped lines {good['skipped_lines']}; worker peak RSS {good_kb / 1024:.0f} MB")
    if not good["ok"] or good["created"] != args.rows or user_count() != before + args.rows:
        failures.append("not every good row was created")
    if good["skipped_lines"] != sorted(bad_lines):
        failures.append("the skipped lines are not exactly the bad lines")

    # d. again, with skip_invalid: nothing changes
    count = user_count()
    again, again_s, again_kb = run_import(with_bad, env, content_root, skip_invalid=True)
    print(f"second import of the same file (skip_invalid): created {again['created']}, updated "
          f"{again['updated']}, unchanged {again['unchanged']}, skipped "
          f"{len(again['skipped_lines'])} in {again_s:.2f} s; worker peak RSS "
          f"{again_kb / 1024:.0f} MB; users before/after {count}/{user_count()}")
    if again["created"] or again["updated"] or again["unchanged"] != args.rows \
            or user_count() != count:
        failures.append("the second import changed something")
    leftovers = list((content_root / "_uploads").glob("bench-*"))
    if leftovers:
        failures.append(f"uploads left behind: {leftovers}")

    ratio = max(good_kb, bad_kb, again_kb) / base_kb
    print(f"worker peak RSS kB (work-horse included): idle {idle_kb}, baseline {base_kb}, "
          f"refused {bad_kb}, skip_invalid {good_kb}, again {again_kb}")
    _, h_base, h_bad, h_good, h_again = HORSE_KB
    h_ratio = max(h_bad, h_good, h_again) / h_base if h_base else float("inf")
    print(f"work-horse alone, peak RSS kB: baseline {h_base}, refused {h_bad}, skip_invalid "
          f"{h_good}, again {h_again}; {args.rows} rows vs {args.baseline}: {h_ratio:.2f}x")
    if h_ratio >= 1.5:
        failures.append("the work-horse's memory grows with the file")
    print(f"peak RSS {args.rows} rows vs {args.baseline}-row baseline: "
          f"{max(good_kb, bad_kb, again_kb) / 1024:.0f} MB / {base_kb / 1024:.0f} MB = "
          f"{ratio:.2f}x (flat: < 1.5x)")
    if ratio >= 1.5:
        failures.append("worker memory grows with the file")
    if failures:
        raise SystemExit("FAILED: " + "; ".join(failures))


if __name__ == "__main__":
    main()
