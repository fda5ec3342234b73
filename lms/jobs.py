"""Background jobs in one place: the queue plumbing and the job functions.

With REDIS_URL, jobs go to RQ queues, highest priority first: imports, certificates,
default, exports. Without it (the embedded default) they run in-process, synchronously.
Job functions build their own app context, since a worker process has no request.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context

QUEUES = ("imports", "certificates", "default", "exports")
RETRY_INTERVALS = [10, 30, 90]  # seconds; for transient failures (database or Redis away)
STALE_SECONDS = 3600


def _redis(url: str):
    from redis import Redis

    return Redis.from_url(url)


def queue(name: str = "default"):
    from rq import Queue

    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    return Queue(name, connection=_redis(url))


@dataclass
class LocalJob:
    """What enqueue returns in the embedded default: the job already ran."""

    id: str
    status: str
    result: Any = None
    error: str | None = None

    def get_status(self) -> str:
        return self.status


def enqueue(func: Callable[..., Any], *args: Any, queue_name: str = "default",
            timeout: int = 600, retries: int = 3, **kwargs: Any):
    """Run func(*args) as a job: an RQ job with REDIS_URL, else a LocalJob run right away."""
    q = queue(queue_name)
    if q is None:
        job_id = uuid.uuid4().hex
        try:
            return LocalJob(job_id, "finished", func(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - reported to the caller like a failed job
            return LocalJob(job_id, "failed", error=f"{exc.__class__.__name__}: {exc}")
    from rq import Retry

    retry = Retry(max=retries, interval=RETRY_INTERVALS[:retries]) if retries else None
    return q.enqueue(func, *args, job_timeout=timeout, retry=retry,
                     result_ttl=86400, failure_ttl=7 * 86400, **kwargs)


def fetch(job_id: str):
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    try:
        return Job.fetch(job_id, connection=_redis(url))
    except NoSuchJobError:
        return None


def ping() -> bool:
    url = current_app.config.get("REDIS_URL")
    return True if not url else bool(_redis(url).ping())


# --- worker ---------------------------------------------------------------------------------


def clean_stale_temp(content_root: Path, older_than: float = STALE_SECONDS) -> int:
    """Remove extraction and upload leftovers of a worker that died mid-job."""
    removed = 0
    cutoff = time.time() - older_than
    for pattern in (".*.tmp", "_uploads/*"):  # zipcheck's temporary folders, pending uploads
        for path in content_root.glob(pattern):
            try:
                if path.stat().st_mtime < cutoff:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
    return removed


def run_worker(app: Flask, burst: bool = False) -> None:
    from rq import Worker

    with app.app_context():
        url = app.config.get("REDIS_URL")
        if not url:
            raise RuntimeError("REDIS_URL is not set: jobs run in-process, no worker needed.")
        clean_stale_temp(Path(app.config["CONTENT_ROOT"]))
        conn = _redis(url)
        from rq import Queue

        queues = [Queue(name, connection=conn) for name in QUEUES]
        Worker(queues, connection=conn).work(burst=burst, with_scheduler=True)


# --- job functions --------------------------------------------------------------------------

_worker_app: Flask | None = None


def _app() -> Flask:
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _worker_app is None:
        from . import create_app

        _worker_app = create_app()
    return _worker_app


def import_upload(upload: str, package_id: int | None = None) -> dict:
    """Import an uploaded zip. A rejected package is a result, not a job failure; anything
    else (database away, disk full) raises so RQ retries the job."""
    from .importer import import_package
    from .scorm.errors import PackageInvalid

    app = _app()
    with app.app_context():
        path = Path(upload)
        try:
            result = import_package(path, package_id=package_id)
        except PackageInvalid as exc:
            path.unlink(missing_ok=True)
            return {"ok": False, "errors": [e.as_dict() for e in exc.errors]}
        path.unlink(missing_ok=True)
        version = result.version
        return {"ok": True, "created": result.created, "package_id": version.package_id,
                "version": version.number, "title": version.title}


def save_upload(file_storage, suffix: str = ".zip") -> Path:
    """Keep an upload where every worker can read it (the shared content store)."""
    folder = Path(current_app.config["CONTENT_ROOT"]) / "_uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    file_storage.save(path)
    return path


# --- admin view of the queues ---------------------------------------------------------------


@dataclass
class FailedJob:
    id: str
    queue: str
    func: str
    error: str
    ended_at: Any


def queue_overview() -> tuple[dict[str, dict[str, int]], list[FailedJob]]:
    """Per-queue counts and the failed jobs, for the admins' jobs page."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    counts: dict[str, dict[str, int]] = {}
    failed: list[FailedJob] = []
    for name in QUEUES:
        q = queue(name)
        if q is None:
            return {}, []
        registry = FailedJobRegistry(queue=q)
        counts[name] = {"queued": len(q), "started": len(StartedJobRegistry(queue=q)),
                        "failed": len(registry)}
        for job in Job.fetch_many(registry.get_job_ids(0, 99), connection=q.connection):
            if job is None:
                continue
            result = job.latest_result()
            error = (result.exc_string or "").strip().splitlines()[-1:] if result else []
            failed.append(FailedJob(job.id, name, job.func_name, error[0] if error else "",
                                    job.ended_at))
    return counts, failed


def requeue_failed(job_id: str) -> bool:
    from rq.registry import FailedJobRegistry

    for name in QUEUES:
        q = queue(name)
        if q is None:
            return False
        registry = FailedJobRegistry(queue=q)
        if job_id in registry.get_job_ids():
            registry.requeue(job_id)
            return True
    return False


def import_people(path: str, actor_id: int) -> dict:
    """Import civil servants from an uploaded CSV/XLSX: all rows or nothing, one audit entry."""
    from . import audit
    from .extensions import db
    from .people_import import import_file

    try:
        from rq import get_current_job

        rq_job = get_current_job()
    except Exception:  # noqa: BLE001 - not running under RQ
        rq_job = None

    def progress(done: int) -> None:
        if rq_job is not None:
            rq_job.meta["progress"] = {"done": done}
            rq_job.save_meta()

    app = _app()
    with app.app_context():
        upload = Path(path)
        try:
            result = import_file(upload, progress=progress)
            counts = {k: result[k] for k in ("ok", "rows", "created", "updated", "unchanged",
                                               "error_count")}
            audit.record("people.import", "users", upload.name, after=counts,
                         actor_id=actor_id)
            db.session.commit()
        except Exception:
            db.session.rollback()  # kept for RQ's retry: the upload stays until success
            raise
        upload.unlink(missing_ok=True)
        return result
