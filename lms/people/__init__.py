"""Admin pages for people: bulk import of civil servants from a CSV or XLSX file."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired

from .. import jobs

bp = Blueprint("people", __name__)
SUFFIXES = ("csv", "xlsx")


class PeopleUploadForm(FlaskForm):
    file = FileField("Danh sách cán bộ (.csv hoặc .xlsx)", validators=[
        FileRequired("Hãy chọn một tệp .csv hoặc .xlsx."),
        FileAllowed(SUFFIXES, "Chỉ nhận tệp .csv hoặc .xlsx."),
    ])


def _admin_required() -> None:
    if not current_user.is_admin:
        abort(403)


def save(file_storage) -> Path:
    """Keep the upload in the shared content store, with its own suffix (.csv or .xlsx)."""
    suffix = Path(file_storage.filename or "").suffix.lower()
    if suffix.lstrip(".") not in SUFFIXES:
        raise ValueError(f"unexpected upload suffix {suffix!r}")
    return jobs.save_upload(file_storage, suffix)


@bp.route("/admin/people/import", methods=["GET", "POST"])
@login_required
def people_import():
    _admin_required()
    form = PeopleUploadForm()
    result, error = None, None
    if form.validate_on_submit():
        upload = save(form.file.data)
        job = jobs.enqueue(jobs.import_people, str(upload), current_user.id,
                           queue_name="imports", timeout=1800)
        if not isinstance(job, jobs.LocalJob):
            return redirect(url_for("people.people_import_status", job_id=job.id))
        if job.status == "failed":
            upload.unlink(missing_ok=True)
            error = f"Lỗi hệ thống khi nhập danh sách: {job.error}"
        else:
            result = job.result
    status = 422 if form.errors or error or (result and not result["ok"]) else 200
    return render_template("people_import.html", form=form, result=result, error=error,
                           state=None), status


@bp.get("/admin/people/import/<job_id>")
@login_required
def people_import_status(job_id: str):
    """Progress of an import running on a worker; the page polls the JSON form every second."""
    _admin_required()
    job = jobs.fetch(job_id) or abort(404)
    if job.func_name != "lms.jobs.import_people":
        abort(404)
    status = job.get_status(refresh=True)
    state = {"status": str(getattr(status, "value", status)), "done": 0, "result": None,
             "error": None}
    state["done"] = (job.meta.get("progress") or {}).get("done", 0)
    if state["status"] == "finished":
        state["result"] = job.return_value()
    elif state["status"] == "failed":
        state["error"] = "Việc nhập danh sách thất bại sau nhiều lần thử. Hãy tải lên lại."
    if request.args.get("format") == "json":
        return state
    return render_template("people_import.html", state=state, result=state["result"],
                           error=state["error"], form=PeopleUploadForm())
