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


def job_progress(job_id: str, func_name: str | None = None,
                 failed: str | None = None) -> dict[str, Any] | None:
    """What a progress page shows of an RQ job: its status, the `progress` its function keeps
    in the job's meta ({} until the first report), the return value once finished and the
    `failed` message once failed. None when there is no such job (no Redis, expired) or it
    runs another function than `func_name`, so a job id of one page cannot be read on another.
    """
    job = fetch(job_id)
    if job is None or (func_name is not None and job.func_name != func_name):
        return None
    raw = job.get_status(refresh=True)
    status = str(getattr(raw, "value", raw))
    return {"status": status, "progress": dict(job.meta.get("progress") or {}),
            "result": job.return_value() if status == "finished" else None,
            "error": failed if status == "failed" else None}


def ping() -> bool:
    url = current_app.config.get("REDIS_URL")
    return True if not url else bool(_redis(url).ping())


# --- worker ---------------------------------------------------------------------------------


def clean_stale_temp(content_root: Path, older_than: float = STALE_SECONDS,
                     patterns: tuple[str, ...] = (".*.tmp", "_uploads/*")) -> int:
    """Remove extraction and upload leftovers of a worker that died mid-job (by default
    zipcheck's temporary folders and pending uploads)."""
    removed = 0
    cutoff = time.time() - older_than
    for pattern in patterns:
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
        schedule_reminders()  # the daily mandated-training reminders
        schedule_dashboard_refresh()  # the periodic dashboard summaries
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


def _progress_reporter(*keys: str) -> Callable[..., None]:
    """`report(*values)` keeps {key: value} as the running RQ job's `progress` meta (what
    `job_progress` shows); outside RQ (in-process jobs) it does nothing."""
    try:
        from rq import get_current_job

        rq_job = get_current_job()
    except Exception:  # noqa: BLE001 - not running under RQ
        rq_job = None

    def report(*values: Any) -> None:
        if rq_job is not None:
            rq_job.meta["progress"] = dict(zip(keys, values, strict=True))
            rq_job.save_meta()

    return report


def _schedule_once(job_id: str, when: Any, func: Callable[..., Any], *args: Any,
                   **options: Any) -> str | None:
    """Enqueue `func(*args)` at `when` on the default queue unless a job with this id is
    already pending: the id names the time slot, so every worker that starts asks, and one
    run per slot is scheduled. None without Redis."""
    q = queue("default")
    if q is None:
        return None
    existing = fetch(job_id)
    if existing is not None and str(getattr(existing.get_status(), "value", "")) in (
            "scheduled", "queued", "started", "deferred"):
        return job_id
    q.enqueue_at(when, func, *args, job_id=job_id, **options)
    return job_id


def import_people(path: str, actor_id: int, skip_invalid: bool = False) -> dict:
    """Import civil servants from an uploaded CSV/XLSX: all rows or nothing (with skip_invalid:
    all valid rows or nothing, the bad lines left out), one audit entry. When the file was
    refused only for bad rows, the upload is kept (named in the result's `upload`) so the
    admin can confirm importing it again with skip_invalid; stale ones go with the rest."""
    from . import audit
    from .extensions import db
    from .people_import import import_file

    progress = _progress_reporter("done")
    app = _app()
    with app.app_context():
        upload = Path(path)
        try:
            result = import_file(upload, progress=progress, skip_invalid=skip_invalid)
            counts = {k: result[k] for k in ("ok", "rows", "created", "updated", "unchanged",
                                               "error_count", "skip_invalid")}
            counts["skipped"] = len(result["skipped_lines"])
            audit.record("people.import", "users", upload.name, after=counts,
                         actor_id=actor_id)
            db.session.commit()
        except Exception:
            db.session.rollback()  # kept for RQ's retry: the upload stays until success
            raise
        if result.get("can_skip"):
            result["upload"] = upload.name  # kept for "import the valid rows" (lms/people)
        else:
            upload.unlink(missing_ok=True)
        return result


def deliver_mail(to: list[str], subject: str, text: str, html: str | None = None) -> str:
    """Send one email (lms.mail.send_mail queues this); an SMTP error raises, so RQ retries."""
    from .mail import deliver

    app = _app()
    with app.app_context():
        return deliver(to, subject, text, html)


def password_reset_mail(contact: str, base_url: str) -> dict:
    """Email a password-reset link to the account behind what was typed, if there is one
    with an email. Runs as a job for every request, so the web request does the same work
    (and takes the same time) whether or not the account exists."""
    from .auth.reset import send_reset_link

    app = _app()
    with app.app_context():
        return {"sent": send_reset_link(contact, base_url)}


# --- certificates (lms/certificates) --------------------------------------------------------


def issue_certificates_for_registration(registration_id: int,
                                        base_url: str | None = None) -> dict:
    """A module of this registration was just completed or passed: issue every certificate
    the learner has now earned (eligibility is checked again here)."""
    from .certificates.issue import issue_for_registration
    from .extensions import db

    app = _app()
    with app.app_context():
        try:
            return {"issued": issue_for_registration(registration_id, base_url)}
        except Exception:
            db.session.rollback()
            raise


def issue_certificates_for_programme(programme_id: int, actor_id: int | None,
                                     base_url: str | None = None) -> dict:
    """Bulk issue for a class, with progress in the job's meta; one audit entry at the end.
    Each certificate is its own transaction, so a retry only issues what is still missing."""
    from . import audit
    from .certificates.issue import issue_for_programme
    from .extensions import db

    progress = _progress_reporter("done", "total")
    app = _app()
    with app.app_context():
        try:
            result = issue_for_programme(programme_id, base_url, progress=progress)
            audit.record("certificate.bulk_issue", "programme", programme_id,
                         after={k: result[k] for k in ("considered", "issued", "already",
                                                        "not_eligible")},
                         actor_id=actor_id)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return result


# --- mandated-training reminders (lms/manage/reminders.py) -----------------------------------


def send_reminders(day: str | None = None, days: int | None = None) -> dict:
    """Email today's reminders and unit-manager digests (idempotent per person and day), then
    make sure tomorrow's run is scheduled. A delivery error raises after what was sent was
    recorded, so RQ's retry continues where this run stopped."""
    from datetime import date

    from .extensions import db
    from .manage.reminders import send_reminders as run

    app = _app()
    with app.app_context():
        try:
            result = run(date.fromisoformat(day) if day else None, days)
        except Exception:
            db.session.rollback()
            raise
        finally:
            schedule_reminders()
        return result


def next_reminder_run(now: Any = None) -> Any:
    """The next REMINDER_HOUR:00 in Hai Phong (UTC+7, no daylight saving), at least a minute
    away (so a run never schedules itself again)."""
    from datetime import datetime, timedelta

    from .assignments import VIETNAM as vn

    now = (now or datetime.now(vn)).astimezone(vn)
    hour = int(current_app.config.get("REMINDER_HOUR", 7))
    run = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    while run <= now + timedelta(minutes=1):
        run += timedelta(days=1)
    return run


def schedule_reminders() -> str | None:
    """Schedule the next daily reminder run on RQ's scheduler (workers run with_scheduler);
    the job id names the day, so however many workers start, one run per day is scheduled.
    No Redis: nothing is scheduled (use `flask lms send-reminders` from cron)."""
    if int(current_app.config.get("REMINDER_HOUR", 7)) < 0:
        return None
    run = next_reminder_run()
    return _schedule_once(f"lms-reminders-{run.date().isoformat()}", run, send_reminders,
                          job_timeout=3 * 3600, retry=_retry(3), result_ttl=7 * 86400,
                          failure_ttl=7 * 86400)


def _retry(retries: int):
    from rq import Retry

    return Retry(max=retries, interval=RETRY_INTERVALS[:retries])


def export_roster(job_id: str) -> dict:
    """Write a completion roster file (lms/reports): the partial file is removed on failure."""
    from .reports.exports import run_export

    app = _app()
    with app.app_context():
        return run_export(job_id)


# --- dashboards (lms/reports/dashboard.py) ----------------------------------------------------


def refresh_dashboards(reschedule: bool = False) -> dict:
    """Rebuild the dashboard and SCORM-report summaries in one transaction; with `reschedule`
    (the periodic run), schedule the next run, even when this one fails (as send_reminders
    does), so one failure does not stop the periodic refresh until a worker restarts."""
    from .reports.dashboard import refresh

    app = _app()
    with app.app_context():
        try:
            run = refresh()
        finally:
            if reschedule:
                schedule_dashboard_refresh()
        return {"seconds": run.seconds, "learner_rows": run.learner_rows}


def schedule_dashboard_refresh() -> str | None:
    """Schedule the next periodic refresh DASHBOARD_REFRESH_MINUTES (default 15) from now on
    RQ's scheduler; the job id names the time slot, so several workers schedule it once.
    No Redis (or minutes <= 0): nothing is scheduled (use `flask lms refresh-dashboards`)."""
    from datetime import UTC, datetime, timedelta

    minutes = int(current_app.config.get("DASHBOARD_REFRESH_MINUTES", 15))
    if minutes <= 0:
        return None
    now = datetime.now(UTC)
    slot = now.replace(second=0, microsecond=0) + timedelta(minutes=minutes - now.minute % minutes)
    return _schedule_once(f"lms-dashboards-{slot:%Y%m%d%H%M}", slot, refresh_dashboards, True,
                          job_timeout=3600, retry=_retry(2), result_ttl=86400,
                          failure_ttl=7 * 86400)
