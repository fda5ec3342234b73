"""What the PostgreSQL + Redis benches share: running commands and `flask`, a fresh bench
database, the bench admin, and a burst RQ worker in its own process with its peak memory.

The bench scripts put the repository root on sys.path before importing this module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
PY = sys.executable
PSQL = ["-h", "127.0.0.1", "-U", "postgres"]
# Runs the worker; prints the peak RSS of all its processes (RUSAGE_CHILDREN: the largest of
# the worker and its work-horse), and, polling /proc every 20 ms, the peak RSS (VmHWM) of the
# work-horse processes alone (the forked children that run the jobs), which the first figure
# can hide when the worker's own start-up peak is the larger.
RSS_WRAPPER = """
import os, resource, subprocess, sys, time

def hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return 0

def children(pid):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    return found

proc = subprocess.Popen(sys.argv[1:])
horse = 0
while proc.poll() is None:
    for child in children(proc.pid):
        horse = max(horse, hwm(child))
    time.sleep(0.02)
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
print("HORSE_HWM_KB", horse, flush=True)
sys.exit(proc.returncode)
"""


def sh(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=ROOT, check=True, text=True, **kw)


def flask(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return sh([PY, "-m", "flask", "--app", "wsgi", *args], env, **kw)


def fresh_database(db_name: str, env: dict[str, str], reuse: bool = False,
                   quiet: bool = True) -> bool:
    """Drop and create `db_name`, then migrate it; with `reuse`, an existing database is kept
    (only migrated) and True is returned, so the caller skips filling it again."""
    exists = subprocess.run(["psql", *PSQL, "-tAc",
                             f"SELECT 1 FROM pg_database WHERE datname = '{db_name}'"],
                            capture_output=True, text=True).stdout.strip() == "1"
    out = {"capture_output": True} if quiet else {}
    if exists and reuse:
        print(f"reusing database {db_name}")
        flask(["db", "upgrade"], env, **out)
        return True
    if exists:
        sh(["dropdb", *PSQL, db_name], env)
    sh(["createdb", *PSQL, db_name], env)
    flask(["db", "upgrade"], env, **out)
    return False


def bench_admin_id() -> int:
    """The id of the bench's admin account (made on first use); needs an app context."""
    from lms.extensions import db
    from lms.models import User

    admin = db.session.scalar(db.select(User).where(User.email == "bench@example.vn"))
    if admin is None:
        admin = User(email="bench@example.vn", name="Bench", password_hash="!bench",
                     role="admin")
        db.session.add(admin)
        db.session.commit()
    return admin.id


@dataclass(frozen=True)
class WorkerPeak:
    rss_kb: int  # the worker and its work-horse, whichever peaked higher
    horse_kb: int  # the work-horse processes alone


def run_burst_worker(env: dict[str, str]) -> WorkerPeak:
    """Run `flask lms worker --burst` in its own process until the queues are empty."""
    out = sh([PY, "-c", RSS_WRAPPER, PY, "-m", "flask", "--app", "wsgi", "lms", "worker",
              "--burst"], env, capture_output=True).stdout
    figures = dict(line.split()[:2] for line in out.splitlines()
                   if line.startswith(("PEAK_RSS_KB", "HORSE_HWM_KB")))
    return WorkerPeak(int(figures["PEAK_RSS_KB"]), int(figures["HORSE_HWM_KB"]))
