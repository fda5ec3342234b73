"""Roster pages: filters and the first rows, exports as background jobs, progress, download.

- admins: the whole city (any unit with the unit filter);
- unit managers: their own unit only, whatever the query asks;
- everyone else: 403 (anonymous visitors go to the login page first).
An export's progress page and file are for the person who asked and admins only (others: 404).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import jobs
from ..extensions import db
from ..models import ExportJob, Module, Programme, Topic, Unit
from ..progress import LABELS
from ..units import KINDS
from .exports import FORMATS, create_job
from .roster import (
    ROLE_GROUPS,
    STATUSES,
    RosterFilters,
    ScopeNotFound,
    build_roster,
    localtime,
)

bp = Blueprint("reports", __name__)
EXPORT_TIMEOUT_S = 4 * 3600
FILTER_KEYS = ("programme_id", "topic_id", "module_id", "unit_id", "unit_kind", "role",
               "date_from", "date_to", "date_field", "status")


def _scope_unit() -> int | None:
    """The unit the viewer is limited to (None: an admin, the whole city); 403 for others."""
    if not current_user.is_authenticated:  # login_required runs first; kept for safety
        abort(401)
    if current_user.is_admin:
        return None
    if current_user.role == "unit_manager" and current_user.unit_id is not None:
        return current_user.unit_id
    abort(403)


def _filters(source: Any, scope_unit: int | None) -> RosterFilters:
    try:
        filters = RosterFilters.from_params({k: source.get(k) for k in FILTER_KEYS})
    except ValueError:
        abort(400)
    return filters.with_unit(scope_unit) if scope_unit is not None else filters


def _choices() -> dict[str, Any]:
    programmes = list(db.session.scalars(select(Programme).order_by(Programme.position,
                                                                     Programme.id)))
    topics = list(db.session.scalars(select(Topic).join(Programme)
                                     .order_by(Programme.position, Topic.position)))
    modules = list(db.session.scalars(select(Module).join(Topic).join(Programme)
                                      .order_by(Programme.position, Topic.position,
                                                Module.position)))
    units = list(db.session.scalars(select(Unit).order_by(Unit.kind, Unit.name)))
    return {"programmes": programmes, "topics": topics, "modules": modules, "units": units,
            "unit_kinds": KINDS, "roles": ROLE_GROUPS, "statuses": {s: LABELS[s] for s in STATUSES},
            "date_fields": {"enrolled": _("Ngày ghi danh"), "completed": _("Ngày hoàn thành")}}


def _cell(kind: str, key: str, value: Any) -> str:
    if value is None:
        return ""
    if key.endswith(":status") or key == "status":
        return LABELS.get(value, value)
    if key == "unit_kind":
        return KINDS.get(value, value)
    if kind == "datetime":
        return localtime(value).strftime("%d/%m/%Y %H:%M")  # type: ignore[union-attr]
    if kind == "date":
        return localtime(value).strftime("%d/%m/%Y")  # type: ignore[union-attr]
    return str(value)


@bp.get("/reports/roster")
@login_required
def roster():
    scope_unit = _scope_unit()
    filters = _filters(request.args, scope_unit)
    try:
        report = build_roster(filters)
    except ScopeNotFound:
        abort(404)
    limit = int(current_app.config.get("ROSTER_PAGE_ROWS", 50))
    columns = report.columns
    rows = [[_cell(c.kind, c.key, row[c.key]) for c in columns]
            for row in report.rows(limit=limit)]
    unit = db.session.get(Unit, scope_unit) if scope_unit is not None else None
    return render_template("reports/roster.html", headers=report.headers, rows=rows,
                           total=report.count(), limit=limit, filters=filters.to_params(),
                           manager_unit=unit, formats=FORMATS, **_choices())


@bp.post("/reports/roster/export")
@login_required
def roster_export():
    scope_unit = _scope_unit()
    filters = _filters(request.form, scope_unit)
    fmt = request.form.get("fmt", "")
    if fmt not in FORMATS:
        abort(400)
    try:
        build_roster(filters)  # the scope exists
    except ScopeNotFound:
        abort(404)
    job = create_job(current_user.id, fmt, filters, scope_unit)
    jobs.enqueue(jobs.export_roster, job.id, queue_name="exports", timeout=EXPORT_TIMEOUT_S,
                 retries=0)
    return redirect(url_for("reports.export_status", job_id=job.id))


def _own_job(job_id: str) -> ExportJob:
    _scope_unit()  # learners: 403
    job = db.session.get(ExportJob, job_id)
    if job is None or not (current_user.is_admin or job.user_id == current_user.id):
        abort(404)
    return job


def _state(job: ExportJob) -> dict[str, Any]:
    expired = job.expires_at is not None and _aware(job.expires_at) < datetime.now(UTC)
    total = job.rows_total
    percent = (100 if job.status == "finished"
               else round(100 * job.rows_done / total) if total else 0)
    return {"status": job.status, "done": job.rows_done, "total": total,
            "percent": min(100, percent), "expired": expired,
            "download": (url_for("reports.export_download", job_id=job.id)
                         if job.status == "finished" and not expired else None),
            "error": _("Xuất tệp thất bại. Hãy thử lại.") if job.status == "failed" else None}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@bp.get("/reports/exports/<job_id>")
@login_required
def export_status(job_id: str):
    job = _own_job(job_id)
    state = _state(job)
    if request.args.get("format") == "json":
        return state
    expires = localtime(job.expires_at) if job.expires_at else None
    return render_template("reports/roster_export.html", job=job, state=state, expires=expires)


@bp.get("/reports/exports/<job_id>/download")
@login_required
def export_download(job_id: str):
    job = _own_job(job_id)
    state = _state(job)
    if not state["download"] or not job.path or not Path(job.path).is_file():
        abort(404)
    mimetype = ("text/csv; charset=utf-8" if job.fmt == "csv" else
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return send_file(job.path, mimetype=mimetype, as_attachment=True,
                     download_name=job.filename or Path(job.path).name, max_age=0)
