"""Operations endpoints: liveness, readiness and Prometheus metrics.

Metrics use prometheus_client. Under gunicorn with several workers set
PROMETHEUS_MULTIPROC_DIR (an empty directory) so every worker's samples are aggregated.
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import text

from . import jobs
from .extensions import db

bp = Blueprint("ops", __name__)

REQUEST_SECONDS = Histogram(
    "lms_request_seconds", "HTTP request latency", ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
COMMITS = Counter("lms_commits_total", "SCORM commits received", ["result"])
QUEUE_DEPTH = Gauge("lms_queue_depth", "Jobs waiting per RQ queue", ["queue"],
                    multiprocess_mode="livemax")


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as not ready
        checks["database"] = f"error: {exc.__class__.__name__}"
    if current_app.config.get("REDIS_URL"):
        try:
            jobs.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {exc.__class__.__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), (
        200 if ready else 503
    )


@bp.get("/metrics")
def metrics():
    if current_app.config.get("REDIS_URL"):
        for name in jobs.QUEUES:
            try:
                QUEUE_DEPTH.labels(name).set(len(jobs.queue(name)))
            except Exception:  # noqa: BLE001 - metrics must not fail on a Redis hiccup
                pass
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest()
    return Response(data, mimetype=CONTENT_TYPE_LATEST)


def init_ops(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start_timer():
        g._t0 = time.perf_counter()

    @app.after_request
    def _observe(response):
        t0 = getattr(g, "_t0", None)
        node = current_app.config.get("NODE_NAME")
        if node:
            response.headers["X-LMS-Node"] = node  # which app node answered (ops, tests)
        if t0 is not None and request.endpoint not in ("ops.metrics", "static"):
            REQUEST_SECONDS.labels(
                request.endpoint or "unknown", request.method, str(response.status_code)
            ).observe(time.perf_counter() - t0)
        return response
