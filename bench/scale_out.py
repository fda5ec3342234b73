"""Commit throughput through nginx with one app node and with two, side by side.

Usage: python bench/scale_out.py [--learners 40] [--commits 30] [--workers 2]
Both runs share one PostgreSQL (BENCH_DATABASE_URL, default lms_bench) and one content folder.
On a 2-core machine the second node adds processes, not cores, so the ratio mostly shows how
much of a commit's cost is Python/framework work that more cores would spread.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cluster import Cluster  # noqa: E402
from bench.commit_throughput import DB_URL, ensure_database, load, prepare  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=40)
    ap.add_argument("--commits", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers per node")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ensure_database()
    results: dict[int, list[dict]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        targets = prepare(args.learners, tmp)
        env = {"DATABASE_URL": DB_URL, "CONTENT_ROOT": str(tmp / "content"),
               "SECRET_KEY": "bench"}
        clusters = {n: Cluster(env=env, nodes=n, workers=args.workers).start() for n in (1, 2)}
        try:
            base = 0
            for c in clusters.values():  # warm-up
                base += 1000
                load(c.port, targets[:4], 5, base)
            for _ in range(args.rounds):
                for n, c in clusters.items():
                    base += 1000
                    results[n].append(load(c.port, targets, args.commits, base))
        finally:
            for c in clusters.values():
                c.stop()
    print(f"learners={args.learners} commits/learner={args.commits} rounds={args.rounds} "
          f"gunicorn workers/node={args.workers}, through nginx, PostgreSQL (medians)")
    med = {}
    for n, rs in results.items():
        med[n] = statistics.median(r["commits_per_s"] for r in rs)
        p50 = statistics.median(r["p50_ms"] for r in rs)
        p99 = statistics.median(r["p99_ms"] for r in rs)
        errors = sum(r["errors"] for r in rs)
        print(f"{n} node{'s' if n > 1 else ' '} {med[n]:8.1f} commits/s  p50 {p50:6.1f} ms  "
              f"p99 {p99:6.1f} ms  errors {errors}")
    print(f"ratio two nodes / one node: {med[2] / med[1]:.2f}")


if __name__ == "__main__":
    main()
