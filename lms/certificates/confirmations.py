"""Export of issued certificates as confirmations, for a later hand-over to the national
channel (VNeID) that alone can record an official popularisation confirmation.

The format is ours and documented in docs/certificates.md ("Confirmation export"): CSV, UTF-8
with BOM, one row per certificate, the values exactly as printed on it. Rows are streamed, so
the export's memory does not grow with the number of certificates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

from flask import Response, abort, request, stream_with_context
from flask_login import login_required
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import Certificate, FrameworkVersion, Programme, User
from ..web import admin_required
from .issue import public_base, verify_url
from .views import bp

FORMAT_VERSION = "hp-confirmations/1"
COLUMNS = (
    "format", "serial", "status", "full_name", "birth_year", "phone", "email", "unit_or_commune",
    "programme_code", "programme_title", "target_group", "framework_code", "framework_version",
    "competencies", "completed_on", "issued_at", "issuer", "verify_url", "revoked_at",
)
BATCH = 1000


def _competencies(printed: list) -> str:
    """'1.1:CB1;2.5:CB1' (competency id, level code as printed) — one cell, easy to split."""
    out = []
    for domain in printed or []:
        for comp in domain.get("competencies", []):
            out.append(f"{comp['code']}:{comp.get('level_code') or comp.get('level')}")
    return ";".join(out)


def rows(programme_id: int | None = None, since: date | None = None,
         include_revoked: bool = True) -> Iterator[list[str]]:
    """The export's rows (header first), oldest certificate first."""
    yield list(COLUMNS)
    base = public_base()
    query = (
        select(Certificate, User.phone, User.email, Programme.code, FrameworkVersion.code,
               FrameworkVersion.version)
        .join(User, User.id == Certificate.user_id)
        .join(Programme, Programme.id == Certificate.programme_id)
        .join(FrameworkVersion, FrameworkVersion.id == Certificate.framework_id)
        .order_by(Certificate.id)
        .execution_options(yield_per=BATCH)
    )
    if programme_id is not None:
        query = query.where(Certificate.programme_id == programme_id)
    if since is not None:
        query = query.where(Certificate.completed_on >= since)
    if not include_revoked:
        query = query.where(Certificate.revoked_at.is_(None))
    for cert, phone, email, prog_code, fw_code, fw_version in db.session.execute(query):
        yield [
            FORMAT_VERSION, cert.serial, "revoked" if cert.revoked_at else "valid",
            cert.learner_name, str(cert.birth_year or ""), phone or "", email or "",
            cert.unit_name or "", prog_code, cert.programme_title, cert.target_group, fw_code,
            fw_version, _competencies(cert.competencies), cert.completed_on.isoformat(),
            cert.issued_at.isoformat(timespec="seconds"), cert.issuer,
            verify_url(base, cert.serial),
            cert.revoked_at.isoformat(timespec="seconds") if cert.revoked_at else "",
        ]


def csv_chunks(lines: Iterator[list[str]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    yield "\ufeff"  # Excel reads the Vietnamese names right
    for n, line in enumerate(lines, 1):
        writer.writerow(line)
        if n % BATCH == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


@bp.get("/admin/certificates/confirmations.csv")
@login_required
def export_confirmations():
    admin_required()
    programme_id = request.args.get("programme", type=int)
    since_text = request.args.get("since", "")
    try:
        since = date.fromisoformat(since_text) if since_text else None
    except ValueError:
        abort(400, "Ngày không hợp lệ (định dạng YYYY-MM-DD).")
    audit.record("certificates.export_confirmations", "certificate", "*",
                 after={"programme": programme_id, "since": since_text or None})
    db.session.commit()
    name = f"xac-nhan-chung-chi-{date.today().isoformat()}.csv"
    return Response(stream_with_context(csv_chunks(rows(programme_id, since))),
                    mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
