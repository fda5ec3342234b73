"""Commit endpoint throughput under gunicorn on PostgreSQL, against a bare-upsert baseline.

Prints commits/s, p50 and p99 latency for both, and the ratio (real / baseline).
Usage: python bench/commit_throughput.py [--learners 40] [--commits 30] [--workers 4]
Needs PostgreSQL (BENCH_DATABASE_URL, default database lms_bench on 127.0.0.1, created if
missing). The load generator runs on the same machine, so absolute numbers are modest; the
ratio is what to compare.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "scorm-samples" / "RuntimeBasicCalls_SCORM20043rdEdition.zip"
DB_URL = os.environ.get("BENCH_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench")


def ensure_database() -> None:
    name = urlsplit(DB_URL.replace("+psycopg", "")).path.lstrip("/")
    exists = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                             f"SELECT 1 FROM pg_database WHERE datname='{name}'"],
                            capture_output=True, text=True).stdout.strip()
    if exists != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)


def prepare(learners: int, tmp: Path) -> list[tuple[str, str]]:
    """Fresh schema, one package, N learners each with an open session: (commit path, item)."""
    os.environ["DATABASE_URL"] = DB_URL
    from sqlalchemy import text

    from lms import create_app
    from lms.extensions import db

    app = create_app({"CONTENT_ROOT": str(tmp / "content"), "SECRET_KEY": "bench"})
    targets = []
    with app.app_context(), app.test_request_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        from flask_migrate import upgrade

        upgrade()
        from lms import tracking
        from lms.cli import create_user
        from lms.importer import import_package
        from lms.models import Package
        from lms.security import commit_token

        version = import_package(SAMPLE).version
        package = db.session.get(Package, version.package_id)
        item = next(iter(tracking.version_info(version).scos))
        for n in range(learners):
            user = create_user(f"bench{n}@example.vn", "x" * 12, f"Học viên {n}")
            reg = tracking.register(user, package)
            attempt = tracking.open_session(reg)
            tracking.sco_launch_state(attempt, item, user)
            path = (f"/play/attempt/{attempt.id}/commit?token="
                    f"{commit_token(attempt.id, user.id)}")
            targets.append((path, item))
    return targets


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(app_spec: str, port: int, workers: int, tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": DB_URL, "CONTENT_ROOT": str(tmp / "content"),
           "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", app_spec],
        env=env, cwd=ROOT,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gunicorn {app_spec} did not start")


def payload(item: str, seq: int) -> bytes:
    cmi = {
        "cmi.location": f"page-{seq}", "cmi.progress_measure": str(min(1.0, seq / 100)),
        "cmi.completion_status": "incomplete", "cmi.suspend_data": "x" * 400,
        "cmi.session_time": f"PT{seq}S", "cmi.score.scaled": "0.5",
    }
    return json.dumps({"item": item, "session": 1, "seq": seq, "cmi": cmi}).encode()


def load(port: int, targets: list[tuple[str, str]], commits: int, seq_base: int) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def learner(path: str, item: str) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        bad = 0
        for k in range(commits):
            body = payload(item, seq_base + k + 1)
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Content-Type": "text/plain"})
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            bad += resp.status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=learner, args=t) for t in targets]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "commits_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": errors,
        "n": len(latencies),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=40)
    ap.add_argument("--commits", type=int, default=30)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import tempfile

    ensure_database()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        targets = prepare(args.learners, tmp)
        servers = {"baseline": "bench.baseline_app:app", "commit": "wsgi:app"}
        ports = {name: free_port() for name in servers}
        procs = [start_gunicorn(spec, ports[name], args.workers, tmp)
                 for name, spec in servers.items()]
        runs: dict[str, list[dict]] = {name: [] for name in servers}
        try:
            base = 0
            for name in servers:  # warm-up: connections, caches
                base += 1000
                load(ports[name], targets[:4], 5, base)
            # Rounds alternate between the two servers so machine noise hits both alike;
            # sequence numbers keep growing so every commit really is stored.
            for _ in range(args.rounds):
                for name in servers:
                    base += 1000
                    runs[name].append(load(ports[name], targets, args.commits, base))
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
    print(f"learners={args.learners} commits/learner={args.commits} rounds={args.rounds} "
          f"gunicorn workers={args.workers} db=PostgreSQL (medians over rounds)")
    med = {}
    for name, rs in runs.items():
        med[name] = {k: statistics.median(r[k] for r in rs)
                     for k in ("commits_per_s", "p50_ms", "p99_ms")}
        errors = sum(r["errors"] for r in rs)
        total = sum(r["n"] for r in rs)
        print(f"{name:9s} {med[name]['commits_per_s']:8.1f} commits/s  "
              f"p50 {med[name]['p50_ms']:6.1f} ms  p99 {med[name]['p99_ms']:6.1f} ms  "
              f"errors {errors}/{total}")
    ratios = [c["commits_per_s"] / b["commits_per_s"]
              for b, c in zip(runs["baseline"], runs["commit"], strict=True)]
    print("per-round ratios: " + ", ".join(f"{r:.2f}" for r in ratios))
    print(f"ratio commit/baseline throughput (medians): "
          f"{med['commit']['commits_per_s'] / med['baseline']['commits_per_s']:.2f}")


if __name__ == "__main__":
    main()
