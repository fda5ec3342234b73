"""Admin pages for people: bulk import of civil servants from a CSV or XLSX file.

An upload is imported all or nothing. When it is refused only because of bad rows, the page
shows the bad lines with their reasons and offers "import the valid rows, skip the bad ones":
a form carrying a signed token that names the kept upload and the admin it was shown to; it
re-runs the job on that same file with skip_invalid (lms.people_import). Ticking "Bỏ qua các
dòng lỗi" on the upload form does the same in one step.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired

from .. import jobs
from ..people_import import line_ranges

bp = Blueprint("people", __name__)
SUFFIXES = ("csv", "xlsx")
PENDING_SECONDS = jobs.STALE_SECONDS  # how long a refused upload waits for the confirmation
UPLOAD_NAME = re.compile(r"[0-9a-f]{32}\.(csv|xlsx)")


class PeopleUploadForm(FlaskForm):
    file = FileField("Danh sách cán bộ (.csv hoặc .xlsx)", validators=[
        FileRequired("Hãy chọn một tệp .csv hoặc .xlsx."),
        FileAllowed(SUFFIXES, "Chỉ nhận tệp .csv hoặc .xlsx."),
    ])
    skip_invalid = BooleanField("Bỏ qua các dòng lỗi (nhập các dòng hợp lệ, liệt kê các "
                                "dòng bị bỏ qua)")


class SkipInvalidForm(FlaskForm):
    """Confirm importing the valid rows of an upload that was refused for bad rows."""

    token = HiddenField(validators=[DataRequired()])


def _admin_required() -> None:
    if not current_user.is_admin:
        abort(403)


def _uploads() -> Path:
    return Path(current_app.config["CONTENT_ROOT"]) / "_uploads"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="people-import-skip")


def confirm_token(upload: str, actor_id: int) -> str:
    return _serializer().dumps({"upload": upload, "actor": actor_id})


def pending_upload(token: str, actor_id: int) -> Path | None:
    """The kept upload a confirmation token names, if it is this admin's, fresh and there."""
    try:
        data = _serializer().loads(token, max_age=PENDING_SECONDS)
    except BadSignature:  # SignatureExpired included
        return None
    if not isinstance(data, dict) or data.get("actor") != actor_id:
        return None
    name = data.get("upload")
    if not isinstance(name, str) or not UPLOAD_NAME.fullmatch(name):
        return None
    path = _uploads() / name
    return path if path.is_file() else None


def forget_stale_uploads(older_than: float = PENDING_SECONDS) -> int:
    """Remove refused uploads nobody confirmed (they hold people's names and contacts)."""
    return jobs.clean_stale_temp(Path(current_app.config["CONTENT_ROOT"]), older_than,
                                 tuple(f"_uploads/*.{suffix}" for suffix in SUFFIXES))


def save(file_storage) -> Path:
    """Keep the upload in the shared content store, with its own suffix (.csv or .xlsx)."""
    suffix = Path(file_storage.filename or "").suffix.lower()
    if suffix.lstrip(".") not in SUFFIXES:
        raise ValueError(f"unexpected upload suffix {suffix!r}")
    return jobs.save_upload(file_storage, suffix)


def _run(upload: Path, skip_invalid: bool) -> tuple[Response | dict | None, str | None]:
    """Enqueue the import: (redirect to its progress page, None) on RQ, else (result, error)
    of the import that already ran."""
    job = jobs.enqueue(jobs.import_people, str(upload), current_user.id, skip_invalid,
                       queue_name="imports", timeout=1800)
    if not isinstance(job, jobs.LocalJob):
        return redirect(url_for("people.people_import_status", job_id=job.id)), None
    if job.status == "failed":
        upload.unlink(missing_ok=True)
        return None, f"Lỗi hệ thống khi nhập danh sách: {job.error}"
    return job.result, None


def _page(form: PeopleUploadForm, result: dict | None, error: str | None, state: dict | None,
          status: int | None = None):
    skip_form = None
    if result and result.get("can_skip") and result.get("upload"):
        skip_form = SkipInvalidForm(formdata=None,
                                    token=confirm_token(result["upload"], current_user.id))
    if status is None:
        status = 422 if form.errors or error or (result and not result["ok"]) else 200
    skipped = line_ranges(result.get("skipped_lines") or []) if result else ""
    return render_template("people_import.html", form=form, result=result, error=error,
                           state=state, skip_form=skip_form, skipped=skipped), status


@bp.route("/admin/people/import", methods=["GET", "POST"])
@login_required
def people_import():
    _admin_required()
    form = PeopleUploadForm()
    result, error = None, None
    if form.validate_on_submit():
        forget_stale_uploads()
        outcome, error = _run(save(form.file.data), form.skip_invalid.data)
        if outcome is not None and not isinstance(outcome, dict):
            return outcome  # the redirect to the progress page
        result = outcome
    return _page(form, result, error, None)


@bp.post("/admin/people/import/skip-invalid")
@login_required
def people_import_skip_invalid():
    """Import the valid rows of a refused upload, leaving out its bad lines."""
    _admin_required()
    form = SkipInvalidForm()
    if not form.validate_on_submit():
        abort(400)
    kept = pending_upload(form.token.data, current_user.id)
    upload = None
    if kept is not None:
        # Claim the upload under a new name (atomic): a second click finds nothing to import.
        upload = kept.with_name(f"{uuid.uuid4().hex}{kept.suffix}")
        try:
            os.replace(kept, upload)
            os.utime(upload)  # fresh, so stale-upload cleaning leaves it to the job
        except FileNotFoundError:
            upload = None
    if upload is None:
        return _page(PeopleUploadForm(), None, "Tệp này đã được nhập hoặc đã quá hạn chờ xác "
                     "nhận. Hãy tải tệp lên lại.", None)
    outcome, error = _run(upload, True)
    if outcome is not None and not isinstance(outcome, dict):
        return outcome
    return _page(PeopleUploadForm(), outcome, error, None)


@bp.get("/admin/people/import/<job_id>")
@login_required
def people_import_status(job_id: str):
    """Progress of an import running on a worker; the page polls the JSON form every second."""
    _admin_required()
    job = jobs.job_progress(job_id, "lms.jobs.import_people", failed=(
        "Việc nhập danh sách thất bại sau nhiều lần thử. Hãy tải lên lại."))
    if job is None:
        abort(404)
    state = {"status": job["status"], "done": job["progress"].get("done", 0),
             "result": job["result"], "error": job["error"]}
    if request.args.get("format") == "json":
        return state
    return _page(PeopleUploadForm(), state["result"], state["error"], state, status=200)
