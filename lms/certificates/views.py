"""Certificate pages: the learner's list and downloads, the public verification page and the
published keys, and the admins' list, bulk issue (a job) and revocation."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import jobs
from ..extensions import db, limiter
from ..models import Certificate, FrameworkVersion, Programme, User
from ..web import admin_required
from . import credential, keys
from .issue import RevokeError, public_base, revoke, verify_url
from .serial import normalise

bp = Blueprint("certificates", __name__)


class RevokeForm(FlaskForm):
    reason = TextAreaField("Lý do thu hồi", validators=[
        DataRequired("Hãy ghi lý do thu hồi."), Length(max=1000)])


class BulkIssueForm(FlaskForm):
    programme_id = SelectField("Chương trình, lớp", coerce=int)


def _lookup(serial: str) -> Certificate | None:
    canonical = normalise(serial)
    if canonical is None:
        return None
    return db.session.scalar(db.select(Certificate).filter_by(serial=canonical))


def _own_certificate(serial: str) -> Certificate:
    """The certificate if the current user holds it or is an admin; 404 for anyone else, so
    nobody learns which serials exist."""
    cert = _lookup(serial)
    if not cert or (cert.user_id != current_user.id and not current_user.is_admin):
        abort(404)
    return cert


def _framework_title(cert: Certificate) -> str:
    fw = db.session.get(FrameworkVersion, cert.framework_id)
    return fw.title if fw else ""


# --- learner --------------------------------------------------------------------------------


@bp.get("/certificates")
@login_required
def mine():
    certs = db.session.scalars(
        db.select(Certificate).where(Certificate.user_id == current_user.id)
        .order_by(Certificate.issued_at.desc())
    ).all()
    return render_template("certificates/mine.html", certs=certs)


def _attachment(serial: str, ext: str, mimetype: str,
                body_of: Callable[[Certificate], bytes | str | None]):
    """A download of one of the owner's signed documents; a revoked one only for admins (410
    for the learner), a missing one 404."""
    cert = _own_certificate(serial)
    if cert.revoked_at and not current_user.is_admin:
        return render_template("certificates/revoked.html", cert=cert), 410
    body = body_of(cert)
    if body is None:
        abort(404)
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{cert.serial}.{ext}"',
        "Cache-Control": "private, no-store",
    })


@bp.get("/certificates/<serial>.pdf")
@login_required
def download_pdf(serial: str):
    return _attachment(serial, "pdf", "application/pdf", lambda cert: cert.pdf or None)


@bp.get("/certificates/<serial>.json")
@login_required
def download_json(serial: str):
    return _attachment(serial, "json", "application/vc+ld+json",
                       lambda cert: json.dumps(cert.credential, ensure_ascii=False, indent=2))


# --- public ---------------------------------------------------------------------------------


def _verify_limits(view):
    """Every lookup counts against one limit; lookups of unknown serials (enumeration)
    against a much smaller one."""
    view = limiter.shared_limit(lambda: current_app.config["RATELIMIT_VERIFY_UNKNOWN_IP"],
                                scope="verify-unknown",
                                deduct_when=lambda response: response.status_code == 404)(view)
    return limiter.shared_limit(lambda: current_app.config["RATELIMIT_VERIFY_IP"],
                                scope="verify")(view)


@bp.get("/verify/<serial>")
@_verify_limits
def verify(serial: str):
    cert = _lookup(serial)
    if cert is None:
        return render_template("certificates/verify.html", cert=None, serial=serial), 404
    return render_template("certificates/verify.html", cert=cert, serial=cert.serial,
                           framework_title=_framework_title(cert))


@bp.get("/verify/<serial>/status")
@_verify_limits
def verify_status(serial: str):
    """The credential's status as a 1EdTech revocation list (Open Badges 3.0 credentialStatus)
    holding just this credential."""
    cert = _lookup(serial)
    base = public_base()
    if cert is None:
        return {"status": "unknown", "serial": serial}, 404
    revoked = []
    if cert.revoked_at:
        revoked.append({"id": verify_url(base, cert.serial), "revoked": True})
    return {
        "id": f"{base}/verify/{cert.serial}/status",
        "issuer": credential.issuer_id(base),
        "serial": cert.serial,
        "status": "revoked" if cert.revoked_at else "valid",
        "revokedCredentials": revoked,
    }


@bp.get(credential.ISSUER_PATH)
def issuer_document():
    doc = credential.issuer_document(public_base(), current_app.config["CERT_ISSUER_NAME"],
                                     keys.vc_public_raw())
    return Response(json.dumps(doc, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Access-Control-Allow-Origin": "*"})


@bp.get(credential.ISSUER_PATH + ".pem")
def issuer_certificate():
    return Response(keys.pdf_material().cert_pem, mimetype="application/x-pem-file",
                    headers={"Access-Control-Allow-Origin": "*"})


@bp.get("/frameworks/<code>/<version>")
def framework(code: str, version: str):
    """The competency framework a certificate's alignments point at (public data)."""
    fw = db.session.scalar(db.select(FrameworkVersion).filter_by(code=code, version=version))
    if fw is None:
        abort(404)
    return {
        "code": fw.code, "version": fw.version, "title": fw.title, "basis": fw.basis,
        "levels": (fw.data or {}).get("levels", []),
        "competencies": [
            {"id": c.code, "name": c.name, "domain": c.domain_code, "domain_name": c.domain_name}
            for c in fw.competencies
        ],
    }


# --- admin ----------------------------------------------------------------------------------


def _bulk_form() -> BulkIssueForm:
    form = BulkIssueForm()
    form.programme_id.choices = [
        (p.id, p.title) for p in db.session.scalars(
            db.select(Programme).where(Programme.certificate.is_(True),
                                       Programme.retired_at.is_(None))
            .order_by(Programme.position, Programme.id))
    ]
    return form


@bp.get("/admin/certificates")
@login_required
def admin_list():
    admin_required()
    q = (request.args.get("q") or "").strip()
    stmt = db.select(Certificate).order_by(Certificate.issued_at.desc()).limit(200)
    if q:
        canonical = normalise(q)
        stmt = stmt.where(Certificate.serial == canonical) if canonical else stmt.where(
            Certificate.learner_name.ilike(f"%{q}%"))
    certs = db.session.scalars(stmt).all()
    return render_template("certificates/admin_list.html", certs=certs, q=q, form=_bulk_form())


@bp.post("/admin/certificates/issue")
@login_required
def admin_bulk_issue():
    admin_required()
    form = _bulk_form()
    if not form.validate_on_submit():
        flash("Hãy chọn một chương trình.", "error")
        return redirect(url_for("certificates.admin_list"))
    job = jobs.enqueue(jobs.issue_certificates_for_programme, form.programme_id.data,
                       current_user.id, request.host_url, queue_name="certificates",
                       timeout=3600)
    if not isinstance(job, jobs.LocalJob):
        return redirect(url_for("certificates.admin_bulk_status", job_id=job.id))
    if job.status == "failed":
        flash(f"Cấp chứng chỉ thất bại: {job.error}", "error")
    else:
        flash(_bulk_message(job.result), "success")
    return redirect(url_for("certificates.admin_list"))


def _bulk_message(result: dict) -> str:
    return (f"Đã xét {result['considered']} học viên: cấp mới {result['issued']}, "
            f"đã có từ trước {result['already']}, chưa đủ điều kiện {result['not_eligible']}.")


@bp.get("/admin/certificates/jobs/<job_id>")
@login_required
def admin_bulk_status(job_id: str):
    admin_required()
    job = jobs.job_progress(job_id, "lms.jobs.issue_certificates_for_programme",
                            failed="Việc cấp chứng chỉ thất bại sau nhiều lần thử.")
    if job is None:
        abort(404)
    state = {"status": job["status"], "message": job["error"],
             **(job["progress"] or {"done": 0, "total": 0})}
    if job["status"] == "finished":
        state["message"] = _bulk_message(job["result"])
    if request.args.get("format") == "json":
        return state
    return render_template("certificates/bulk_status.html", state=state)


@bp.route("/admin/certificates/<serial>", methods=["GET", "POST"])
@login_required
def admin_detail(serial: str):
    admin_required()
    cert = _lookup(serial) or abort(404)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            revoke(cert, form.reason.data, current_user.id)
        except RevokeError as exc:
            flash(str(exc), "error")
        else:
            flash(f"Đã thu hồi chứng chỉ {cert.serial}.", "success")
        return redirect(url_for("certificates.admin_detail", serial=cert.serial))
    holder = db.session.get(User, cert.user_id)
    revoked_by = db.session.get(User, cert.revoked_by_id) if cert.revoked_by_id else None
    status = 422 if form.errors else 200
    return render_template("certificates/admin_detail.html", cert=cert, form=form,
                           holder=holder, revoked_by=revoked_by,
                           framework_title=_framework_title(cert)), status
