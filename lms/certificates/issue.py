"""Issuing and revoking certificates.

`issue_certificate` is idempotent and safe under concurrency: everything is prepared first
(snapshot, signed credential, signed PDF), then one INSERT decides. The unique constraint on
(user, programme) means a learner never gets two certificates for one programme, whoever wins
the race; a clash on the random serial is simply retried with a new one. The certificate row,
its credential and its PDF are written in one transaction, so a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, has_request_context, request
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..extensions import db
from ..models import Certificate, Module, Programme, Registration, Topic, Unit, User
from ..progress import rule_text
from . import credential, keys, pdf, rules
from .serial import new_serial

log = logging.getLogger(__name__)
SERIAL_ATTEMPTS = 5


@dataclass(frozen=True)
class IssueResult:
    certificate: Certificate | None
    created: bool
    reason: str = ""


def public_base(base_url: str | None = None) -> str:
    """Where the certificate's links point: PUBLIC_URL, else the caller's, else the request's."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    if base_url:
        return base_url.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return "http://localhost:5000"


def verify_url(base: str, serial: str) -> str:
    return f"{base.rstrip('/')}/verify/{serial}"


def existing(user_id: int, programme_id: int) -> Certificate | None:
    return db.session.scalar(
        db.select(Certificate).filter_by(user_id=user_id, programme_id=programme_id)
    )


def _unit_name(user: User) -> str | None:
    unit_id = user.unit_id or user.residence_unit_id
    unit = db.session.get(Unit, unit_id) if unit_id else None
    return unit.name if unit else None


def _prepare(user: User, programme: Programme, elig: rules.Eligibility, base: str,
             serial: str) -> Certificate | None:
    attested = rules.attested_competencies(elig.done_modules)
    framework = attested.framework
    if framework is None:
        from ..catalog import active_framework

        framework = active_framework()
    if framework is None:
        return None
    cert = Certificate(
        serial=serial, user_id=user.id, programme_id=programme.id, framework_id=framework.id,
        learner_name=user.name, birth_year=user.birth_year, unit_name=_unit_name(user),
        programme_title=programme.title,
        target_group=rules.target_group_names(programme, framework),
        competencies=attested.domains, issuer=current_app.config["CERT_ISSUER_NAME"],
        completed_on=elig.completed_on, issued_at=datetime.now(UTC).replace(microsecond=0),
    )
    unsigned = credential.build(cert, base, framework, programme.code, rule_text(programme))
    vc_key = keys.vc_key()
    method = credential.verification_method(base, keys.vc_public_raw())
    cert.credential = credential.sign(unsigned, vc_key, method, cert.issued_at)
    statement = credential.statement(cert, framework.title)
    document = pdf.render(cert, verify_url(base, serial), framework.title, statement)
    signed = pdf.sign(document, keys.pdf_material(), cert.issuer,
                      current_app.config["CERT_SIGN_LOCATION"], serial)
    cert.pdf = signed
    cert.pdf_sha256 = hashlib.sha256(signed).hexdigest()
    return cert


def issue_certificate(user: User, programme: Programme,
                      base_url: str | None = None) -> IssueResult:
    """The learner's certificate for the programme: the existing one, a new one if the rule is
    met now, or none. Commits its own transaction (call it with nothing else pending)."""
    found = existing(user.id, programme.id)
    if found is not None:
        return IssueResult(found, False)
    elig = rules.eligibility(user, programme)
    if not elig.eligible:
        return IssueResult(None, False, elig.reason)
    base = public_base(base_url)
    user_id, programme_id = user.id, programme.id
    for _ in range(SERIAL_ATTEMPTS):
        cert = _prepare(user, programme, elig, base, new_serial())
        if cert is None:
            return IssueResult(None, False, "Chưa nạp khung năng lực số.")
        db.session.add(cert)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            found = existing(user_id, programme_id)
            if found is not None:  # another worker issued it first: that one stands
                return IssueResult(found, False)
            user, programme = db.session.get(User, user_id), db.session.get(Programme,
                                                                            programme_id)
            continue  # a serial clash: draw again
        return IssueResult(cert, True)
    raise RuntimeError("could not draw a free certificate serial")


# --- who to consider ------------------------------------------------------------------------


def programmes_using_package(package_id: int) -> list[Programme]:
    return list(db.session.scalars(
        db.select(Programme).distinct()
        .join(Topic, Topic.programme_id == Programme.id)
        .join(Module, Module.topic_id == Topic.id)
        .where(Module.package_id == package_id, Module.required.is_(True),
               Module.retired_at.is_(None), Topic.retired_at.is_(None),
               Programme.certificate.is_(True), Programme.retired_at.is_(None))
    ))


def issue_for_registration(registration_id: int, base_url: str | None = None) -> list[str]:
    """After a module was completed or passed: issue what the learner has now earned."""
    reg = db.session.get(Registration, registration_id)
    if reg is None:
        return []
    user_id, package_id = reg.user_id, reg.package_id
    serials = []
    for programme_id in [p.id for p in programmes_using_package(package_id)]:
        user, programme = db.session.get(User, user_id), db.session.get(Programme, programme_id)
        result = issue_certificate(user, programme, base_url)
        if result.created and result.certificate is not None:
            serials.append(result.certificate.serial)
    return serials


def candidate_user_ids(programme: Programme) -> list[int]:
    """Everyone who has started at least one required module of the programme (nobody else can
    have met its rule), in id order."""
    package_ids = [m.package_id for t in programme.topics for m in t.modules
                   if m.package_id is not None and m.required and m.retired_at is None]
    if not package_ids:
        return []
    return list(db.session.scalars(
        db.select(Registration.user_id).distinct()
        .where(Registration.package_id.in_(package_ids)).order_by(Registration.user_id)
    ))


def issue_for_programme(programme_id: int, base_url: str | None = None,
                        progress=None) -> dict:
    """Bulk issue for a class. Each certificate is its own transaction; running it again
    only issues what is still missing."""
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise ValueError(f"no programme {programme_id}")
    counts = {"considered": 0, "issued": 0, "already": 0, "not_eligible": 0}
    serials: list[str] = []
    ids = candidate_user_ids(programme)
    for done, user_id in enumerate(ids, start=1):
        user, programme = db.session.get(User, user_id), db.session.get(Programme, programme_id)
        result = issue_certificate(user, programme, base_url)
        counts["considered"] += 1
        if result.created:
            counts["issued"] += 1
            serials.append(result.certificate.serial)
        elif result.certificate is not None:
            counts["already"] += 1
        else:
            counts["not_eligible"] += 1
        if progress:
            progress(done, len(ids))
    return {**counts, "total": len(ids), "serials": serials}


# --- revocation -----------------------------------------------------------------------------


class RevokeError(ValueError):
    pass


def revoke(cert: Certificate, reason: str, actor_id: int | None) -> Certificate:
    reason = (reason or "").strip()
    if not reason:
        raise RevokeError("Hãy ghi lý do thu hồi.")
    if cert.revoked_at is not None:
        raise RevokeError("Chứng chỉ này đã bị thu hồi.")
    cert.revoked_at = datetime.now(UTC)
    cert.revoked_reason = reason
    cert.revoked_by_id = actor_id
    audit.record("certificate.revoke", "certificate", cert.serial,
                 before={"revoked": False},
                 after={"revoked": True, "reason": reason}, actor_id=actor_id)
    db.session.commit()
    return cert
