"""Learner-facing pages and the admin package pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .. import audit, jobs, tracking, units
from ..extensions import db
from ..import_messages import explain
from ..learn.access import allowed_package_ids, package_allowed  # catalog rules
from ..models import AuditLog, Package, Registration, Unit
from ..scorm.errors import PackageError

bp = Blueprint("web", __name__)


class UploadForm(FlaskForm):
    file = FileField("Gói SCORM (.zip)", validators=[FileRequired("Hãy chọn một tệp .zip.")])


class FallbackForm(FlaskForm):
    mode = SelectField("Quy tắc hoàn thành dự phòng", choices=[
        ("none", "Theo nội dung (mặc định)"),
        ("all_launched_and_exited", "Đã mở và thoát mọi bài (SCO)"),
        ("minutes", "Sau một số phút học"),
    ])
    minutes = IntegerField("Số phút", validators=[Optional(), NumberRange(min=1, max=600)])


def admin_required() -> None:
    if not current_user.is_admin:
        abort(403)


@bp.get("/")
@login_required
def index():
    packages = db.session.scalars(select(Package).order_by(Package.title)).all()
    allowed = allowed_package_ids(current_user, [p.id for p in packages])
    regs = {r.package_id: r for r in db.session.scalars(
        select(Registration).where(Registration.user_id == current_user.id))}
    packages = [p for p in packages if p.id in allowed or p.id in regs]
    return render_template("index.html", packages=packages, regs=regs)


@bp.post("/packages/<int:package_id>/start")
@login_required
def start(package_id: int):
    package = db.session.get(Package, package_id) or abort(404)
    registered = db.session.scalar(select(Registration.id).where(
        Registration.user_id == current_user.id, Registration.package_id == package.id))
    if registered is None and not package_allowed(current_user, package.id):
        abort(403)
    reg = tracking.register(current_user, package)
    return redirect(url_for("player.play", reg_id=reg.id))


@bp.route("/admin/packages", methods=["GET", "POST"])
@login_required
def admin_packages():
    admin_required()
    form = UploadForm()
    errors = []
    if form.validate_on_submit():
        upload = jobs.save_upload(form.file.data)
        job = jobs.enqueue(jobs.import_upload, str(upload), queue_name="imports")
        if not isinstance(job, jobs.LocalJob):
            return redirect(url_for("web.admin_import", job_id=job.id))
        result = job.result or {"ok": False, "errors": []}
        if job.status == "failed":
            upload.unlink(missing_ok=True)
            flash(f"Lỗi hệ thống khi nhập gói: {job.error}", "error")
        elif result["ok"]:
            flash(_imported_message(result), "success")
            return redirect(url_for("web.admin_packages"))
        else:
            errors = [PackageError(**e) for e in result["errors"]]
    packages = db.session.scalars(select(Package).order_by(Package.id.desc())).all()
    status = 422 if errors or form.errors else 200
    return render_template("admin_packages.html", form=form, errors=errors, explain=explain,
                           packages=packages), status


def _imported_message(result: dict) -> str:
    if result["created"]:
        return f"Đã nhập gói «{result['title']}» (phiên bản {result['version']})."
    return f"Gói «{result['title']}» đã có sẵn (tệp giống hệt), không nhập lại."


@bp.get("/admin/imports/<job_id>")
@login_required
def admin_import(job_id: str):
    """Progress of an import running on a worker; the page polls the JSON form."""
    admin_required()
    job = jobs.job_progress(job_id, "lms.jobs.import_upload", failed=(
        "Việc nhập gói thất bại sau nhiều lần thử. Hãy tải lên lại."))
    if job is None:
        abort(404)
    state = {"status": job["status"], "result": job["result"], "error": job["error"]}
    if request.args.get("format") == "json":
        return state
    result = state["result"] or {}
    errors = [PackageError(**e) for e in result.get("errors", [])]
    if result.get("ok"):
        flash(_imported_message(result), "success")
        return redirect(url_for("web.admin_packages"))
    return render_template("admin_import.html", job_id=job_id, state=state, errors=errors,
                           explain=explain)


class RequeueForm(FlaskForm):
    pass


@bp.route("/admin/jobs", methods=["GET", "POST"])
@login_required
def admin_jobs():
    """Queue depths and failed background jobs, with a way to run one again."""
    admin_required()
    form = RequeueForm()
    if form.validate_on_submit():
        job_id = request.form.get("job_id", "")
        if jobs.requeue_failed(job_id):
            flash(f"Đã đưa công việc {job_id} vào hàng đợi lại.", "success")
        else:
            flash("Không tìm thấy công việc lỗi này.", "error")
        return redirect(url_for("web.admin_jobs"))
    counts, failed = jobs.queue_overview()
    return render_template("admin_jobs.html", counts=counts, failed=failed, form=form,
                           queued_mode=bool(counts))


class UnitForm(FlaskForm):
    code = StringField("Mã đơn vị", validators=[DataRequired("Hãy nhập mã."), Length(max=20)])
    name = StringField("Tên đơn vị", validators=[DataRequired("Hãy nhập tên."), Length(max=200)])
    kind = SelectField("Loại", choices=list(units.KINDS.items()))


class UnitEditForm(FlaskForm):
    name = StringField("Tên mới", validators=[Length(max=200)])
    into_code = StringField("Mã đơn vị tiếp nhận", validators=[Length(max=20)])


@bp.route("/admin/units", methods=["GET", "POST"])
@login_required
def admin_units():
    admin_required()
    form = UnitForm()
    if form.validate_on_submit():
        try:
            unit = units.add_unit(form.code.data, form.name.data, form.kind.data)
        except units.UnitError as exc:
            form.code.errors.append(str(exc))
        else:
            flash(f"Đã thêm đơn vị «{unit.name}».", "success")
            return redirect(url_for("web.admin_units"))
    q = (request.args.get("q") or "").strip()
    query = select(Unit).order_by(Unit.kind, Unit.name)
    if q:
        query = query.where(Unit.name.ilike(f"%{q}%") | (Unit.code == q))
    rows = db.session.scalars(query).all()
    return render_template("admin_units.html", units=rows, form=form, q=q, kinds=units.KINDS)


@bp.route("/admin/units/<int:unit_id>", methods=["GET", "POST"])
@login_required
def admin_unit(unit_id: int):
    admin_required()
    unit = db.session.get(Unit, unit_id) or abort(404)
    form = UnitEditForm()
    if form.validate_on_submit():
        action = request.form.get("action")
        try:
            if action == "rename":
                units.rename_unit(unit, form.name.data or "")
                flash("Đã đổi tên đơn vị.", "success")
            elif action == "retire":
                units.retire_unit(unit)
                flash("Đơn vị đã ngừng hoạt động; dữ liệu cũ vẫn được giữ.", "success")
            elif action == "merge":
                into = db.session.scalar(
                    select(Unit).where(Unit.code == (form.into_code.data or "").strip()))
                if into is None:
                    raise units.UnitError("Không tìm thấy đơn vị tiếp nhận với mã này.")
                units.merge_unit(unit, into)
                flash(f"Đã sáp nhập vào «{into.name}».", "success")
            else:
                abort(400)
        except units.UnitError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(url_for("web.admin_unit", unit_id=unit.id))
    history = db.session.scalars(
        select(AuditLog).where(AuditLog.target_type == "unit",
                               AuditLog.target_id == str(unit.id))
        .order_by(AuditLog.id.desc())).all()
    merged_into = db.session.get(Unit, unit.merged_into_id) if unit.merged_into_id else None
    return render_template("admin_unit.html", unit=unit, form=form, history=history,
                           merged_into=merged_into, kinds=units.KINDS)


@bp.route("/admin/packages/<int:package_id>", methods=["GET", "POST"])
@login_required
def admin_package(package_id: int):
    admin_required()
    package = db.session.get(Package, package_id) or abort(404)
    form = FallbackForm(data=package.completion_fallback)
    if form.validate_on_submit():
        if form.mode.data == "minutes" and not form.minutes.data:
            form.minutes.errors.append("Hãy nhập số phút.")
        else:
            before = dict(package.completion_fallback or {})
            package.completion_fallback = {
                "mode": form.mode.data,
                "minutes": form.minutes.data if form.mode.data == "minutes" else None,
            }
            audit.record("package.completion_fallback", "package", package.id, before=before,
                         after=package.completion_fallback)
            db.session.commit()
            flash("Đã lưu quy tắc hoàn thành.", "success")
            return redirect(url_for("web.admin_package", package_id=package.id))
    return render_template("admin_package.html", package=package, form=form)
