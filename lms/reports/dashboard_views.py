"""Dashboard and SCORM-report pages (blueprint `dashboards`, under /reports).

Access: anonymous visitors go to the login page; admins see the city and any unit; a unit
manager sees their own unit only (another unit is a 404, as if it did not exist); everyone else
gets a 403.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from ..assignments import today_vn
from ..auth import _safe_next
from ..extensions import db
from ..models import Module, Programme, Topic, Unit
from ..units import KINDS
from . import dashboard as dash
from . import scorm_report as sr
from .charts import Series, bar_chart, fmt_number, line_chart

bp = Blueprint("dashboards", __name__, url_prefix="/reports")
PAGE_SIZE = 50
CITY_CHART_ROWS = 15


@bp.app_template_filter("dash_num")
def dash_num(value: float | None) -> str:
    """12.345 (Vietnamese thousands separator)."""
    return "—" if value is None else fmt_number(int(value))


@bp.app_template_filter("dash_pct")
def dash_pct(value: float | None) -> str:
    """85,5% (one decimal, Vietnamese comma); — when there is no rate."""
    return "—" if value is None else f"{value:.1f}".replace(".", ",") + "%"


def _is_manager() -> bool:
    return current_user.role == "unit_manager" and current_user.unit_id is not None


def _require_staff() -> None:
    if not (current_user.is_admin or _is_manager()):
        abort(403)


def _unit_for(unit_id: int) -> Unit:
    """The unit if the current user may see it: admins any, a manager only their own (404)."""
    _require_staff()
    if not current_user.is_admin and unit_id != current_user.unit_id:
        abort(404)
    return db.session.get(Unit, unit_id) or abort(404)


def _programme_arg() -> int | None:
    raw = request.args.get("programme", "")
    return int(raw) if raw.isdigit() else None


# --- charts -----------------------------------------------------------------------------------


def _monthly_chart(chart_id: str, d: dash.Dashboard, where: str) -> Markup | None:
    if d.selected is None:
        return None
    title = f"Học viên và số hoàn thành theo tháng — {d.selected.programme.title} ({where})"
    last = d.months[-1] if d.months else None
    desc = ("Số cộng dồn theo tháng. " + (
        f"Đến {last.label}: {last.enrolled_total} học viên, {last.completed_total} hoàn thành."
        if last else "Chưa có học viên."))
    return line_chart(chart_id, title, desc, [p.label for p in d.months], [
        Series("Học viên", [p.enrolled_total for p in d.months]),
        Series("Hoàn thành", [p.completed_total for p in d.months]),
    ])


def _programmes_chart(chart_id: str, d: dash.Dashboard) -> Markup:
    rows = d.programmes
    desc = "; ".join(f"{r.programme.title}: {r.learners} học viên, {r.completed} hoàn thành"
                     for r in rows) or "Chưa có chương trình."
    return bar_chart(chart_id, "Học viên và số hoàn thành theo lớp", desc,
                     [r.programme.title for r in rows],
                     [Series("Học viên", [r.learners for r in rows]),
                      Series("Hoàn thành", [r.completed for r in rows])])


def _rates_chart(chart_id: str, title: str, rates: list[dash.UnitRate], labels: list[str],
                 target: float | None) -> Markup:
    desc = "; ".join(f"{label}: {rate.rate:.1f}% ({rate.done}/{rate.assigned})"
                     for label, rate in zip(labels, rates, strict=True)) or "Chưa có số liệu."
    return bar_chart(chart_id, title, desc, labels,
                     [Series("Tỷ lệ hoàn thành", [r.rate for r in rates])],
                     percent=True, target=target, max_value=100)


def _communes_chart(chart_id: str, rows: list[dash.CommuneRow]) -> Markup:
    rows = rows[:CITY_CHART_ROWS]
    desc = "; ".join(f"{r.unit.name}: {r.learners} người học / {r.citizens} người dân"
                     for r in rows) or "Chưa có số liệu."
    return bar_chart(chart_id, "Người dân tham gia học theo xã, phường", desc,
                     [r.unit.name for r in rows],
                     [Series("Người dân", [r.citizens for r in rows]),
                      Series("Đã tham gia học", [r.learners for r in rows])])


# --- dashboards -------------------------------------------------------------------------------


@bp.get("/dashboard")
@login_required
def city():
    _require_staff()
    if not current_user.is_admin:
        return redirect(url_for("dashboards.unit", unit_id=current_user.unit_id))
    d = dash.city_dashboard(_programme_arg())
    target = d.selected.target if d.selected else None
    behind_chart = _rates_chart(
        "chart-behind", "Các đơn vị chậm nhất so với mục tiêu", d.behind,
        [r.unit.name for r in d.behind], target) if d.selected else None
    charts = {"programmes": _programmes_chart("chart-programmes", d),
              "monthly": _monthly_chart("chart-monthly", d, "toàn thành phố"),
              "behind": behind_chart,
              "communes": _communes_chart("chart-communes", d.communes)}
    return render_template("reports/dashboard_city.html", d=d, charts=charts, kinds=KINDS,
                           when_label=dash.when_label)


@bp.get("/dashboard/units/<int:unit_id>")
@login_required
def unit(unit_id: int):
    u = _unit_for(unit_id)
    d = dash.unit_dashboard(u, _programme_arg())
    page = max(1, request.args.get("page", 1, type=int) or 1)
    todo, total = dash.unfinished(u.id, page, PAGE_SIZE)
    mandated = [r for r in d.programmes if r.assigned]  # d.unit_rates: one per row here
    targets = {r.target for r in mandated}
    rate_chart = _rates_chart(
        "chart-unit-rates", f"Tỷ lệ hoàn thành lớp bắt buộc — {u.name}", d.unit_rates,
        [r.programme.title for r in mandated],
        targets.pop() if len(targets) == 1 else None) if mandated else None
    charts = {"programmes": _programmes_chart("chart-programmes", d),
              "monthly": _monthly_chart("chart-monthly", d, u.name),
              "rates": rate_chart}
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template("reports/dashboard_unit.html", d=d, unit=u, charts=charts,
                           mandated=mandated, todo=todo, total=total, page=page, pages=pages,
                           today=today_vn(), kinds=KINDS, when_label=dash.when_label)


@bp.post("/dashboard/refresh")
@login_required
def refresh():
    if not current_user.is_admin:
        abort(403)
    from .. import jobs

    job = jobs.enqueue(jobs.refresh_dashboards, queue_name="default", timeout=3600)
    if getattr(job, "status", None) == "failed":
        flash(f"Không cập nhật được số liệu: {job.error}", "error")
    elif getattr(job, "status", None) == "finished":
        flash("Đã cập nhật số liệu.", "success")
    else:
        flash("Đang cập nhật số liệu; tải lại trang sau ít phút.", "success")
    back = request.form.get("next")  # a path on this site only (no open redirect)
    return redirect(_safe_next(back) if back else url_for("dashboards.city"))


# --- SCORM reports ----------------------------------------------------------------------------


def _scope_unit() -> int | None:
    """Whose learners: a manager's unit always; an admin's `?unit=` or the whole city."""
    _require_staff()
    raw = request.args.get("unit", "")
    if not current_user.is_admin:
        if raw and raw != str(current_user.unit_id):
            abort(404)
        return current_user.unit_id
    if not raw:
        return None
    if not raw.isdigit() or db.session.get(Unit, int(raw)) is None:
        abort(404)
    return int(raw)


@bp.get("/modules")
@login_required
def modules():
    unit_id = _scope_unit()
    rows = db.session.execute(
        select(Module, Topic, Programme).join(Topic, Topic.id == Module.topic_id)
        .join(Programme, Programme.id == Topic.programme_id)
        .where(Module.retired_at.is_(None), Module.package_id.is_not(None))
        .order_by(Programme.position, Programme.id, Topic.position, Module.position)).all()
    unit = db.session.get(Unit, unit_id) if unit_id else None
    return render_template("reports/scorm_report_list.html", rows=rows, unit=unit,
                           args=_unit_args(unit_id))


def _unit_args(unit_id: int | None) -> dict[str, int]:
    return {"unit": unit_id} if unit_id is not None and current_user.is_admin else {}


def _module(module_id: int) -> Module:
    return db.session.get(Module, module_id) or abort(404)


@bp.get("/modules/<int:module_id>")
@login_required
def module_report(module_id: int):
    unit_id = _scope_unit()
    module = _module(module_id)
    report = sr.module_report(module, unit_id)
    labels = report.bucket_labels()
    desc = "; ".join(f"{label}: {n} học viên" for label, n in zip(labels, report.buckets,
                                                                   strict=True))
    histogram = bar_chart("chart-scores", f"Phân bố điểm — {module.title}", desc, labels,
                          [Series("Số học viên", report.buckets)])
    worst = [q for q in report.questions if q.answered][:10]
    wrong_chart = bar_chart(
        "chart-questions", "Câu hỏi nhiều người trả lời sai nhất",
        "; ".join(f"{q.interaction_id}: {q.wrong} sai / {q.answered}" for q in worst)
        or "Chưa có câu trả lời.",
        [q.description[:48] or q.interaction_id for q in worst],
        [Series("Tỷ lệ sai", [q.wrong_rate for q in worst])], percent=True, max_value=100)
    unit = db.session.get(Unit, unit_id) if unit_id else None
    return render_template("reports/scorm_report.html", module=module, report=report,
                           histogram=histogram, wrong_chart=wrong_chart, unit=unit,
                           labels=labels, args=_unit_args(unit_id),
                           refreshed=dash.last_refresh(), when_label=dash.when_label)


def _csv_response(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


@bp.get("/modules/<int:module_id>/questions.csv")
@login_required
def questions_csv(module_id: int):
    return _module_csv(module_id, sr.questions_csv, "cau-hoi")


@bp.get("/modules/<int:module_id>/scores.csv")
@login_required
def scores_csv(module_id: int):
    return _module_csv(module_id, sr.scores_csv, "diem")


def _module_csv(module_id: int, write: Callable[[sr.ModuleReport], bytes],
                prefix: str) -> Response:
    """One module's report as a CSV file, for the viewer's scope (a unit manager: their unit)."""
    unit_id = _scope_unit()
    module = _module(module_id)
    suffix = f"-don-vi-{unit_id}" if unit_id else ""
    return _csv_response(write(sr.module_report(module, unit_id)),
                         f"{prefix}-{module.code}{suffix}.csv")
