"""Certificate pages: public verification (valid / revoked / unknown, rate-limited), downloads
for the owner and admins only, revocation with a reason (CSRF, audit log), bulk issue."""

from __future__ import annotations

import pytest

from lms.extensions import db
from lms.models import AuditLog, Certificate
from lms.progress import live_modules

from .browser_helpers import wait_until
from .conftest import csrf_token, login_as, make_user
from .test_certificates import (  # noqa: F401 - fixtures reused
    _key_dir,
    cert_worker,
    certified_learner,
    make_learner,
    pass_module,
    setup_programme,
)


def _issued(app) -> tuple[int, str, str]:
    with app.app_context():
        user, _, cert = certified_learner()
        return user.id, cert.serial, user.email


def test_verify_valid_certificate_shows_only_what_is_printed(app, client):
    _, serial, email = _issued(app)
    page = client.get(f"/verify/{serial}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-verify-status="valid"' in html
    assert "Nguyễn Thị Hồng Nhung" in html and "Phường Lê Ích Mộc" in html
    assert "data-competency=" in html
    assert email not in html  # nothing beyond what the certificate prints
    # typed loosely (lower case, spaces): the same certificate
    loose = client.get(f"/verify/{serial.lower().replace('-', ' ')}")
    assert 'data-verify-status="valid"' in loose.get_data(as_text=True)
    assert client.get(f"/verify/{serial}/status").get_json()["status"] == "valid"


def test_verify_unknown_serial(app, client):
    _issued(app)
    for serial in ("HP-2026-0000-0000", "khong-phai-so-hieu"):
        page = client.get(f"/verify/{serial}")
        assert page.status_code == 404
        assert 'data-verify-status="unknown"' in page.get_data(as_text=True)


def test_revocation_with_reason_shows_everywhere(app, client):
    uid, serial, _ = _issued(app)
    with app.app_context():
        admin_id = make_user("admin@example.vn", "admin")
    login_as(client, admin_id)
    page = client.get(f"/admin/certificates/{serial}").get_data(as_text=True)
    token = csrf_token(page)
    assert client.post(f"/admin/certificates/{serial}",
                       data={"reason": "Gian lận"}).status_code == 400  # no CSRF token
    missing = client.post(f"/admin/certificates/{serial}", data={"csrf_token": token,
                                                                 "reason": " "})
    assert missing.status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(Certificate.revoked_at)) is None
    done = client.post(f"/admin/certificates/{serial}",
                       data={"csrf_token": token, "reason": "Cấp nhầm người học"})
    assert done.status_code == 302
    with app.app_context():
        cert = db.session.scalar(db.select(Certificate).filter_by(serial=serial))
        assert cert.revoked_at and cert.revoked_reason == "Cấp nhầm người học"
        assert cert.revoked_by_id == admin_id
        entry = db.session.scalar(db.select(AuditLog).filter_by(action="certificate.revoke"))
        assert entry.target_id == serial and entry.actor_id == admin_id
        assert entry.after["reason"] == "Cấp nhầm người học"
    assert "data-state=\"revoked\"" in client.get(
        f"/admin/certificates/{serial}").get_data(as_text=True)

    public = app.test_client()
    html = public.get(f"/verify/{serial}").get_data(as_text=True)
    assert 'data-verify-status="revoked"' in html and "Cấp nhầm" not in html
    status = public.get(f"/verify/{serial}/status").get_json()
    assert status["status"] == "revoked" and status["revokedCredentials"][0]["revoked"]

    owner = app.test_client()
    login_as(owner, uid)
    assert 'data-state="revoked"' in owner.get("/certificates").get_data(as_text=True)
    assert owner.get(f"/certificates/{serial}.pdf").status_code == 410
    assert owner.get(f"/certificates/{serial}.json").status_code == 410


def test_enumerating_serials_is_rate_limited(app, client):
    _, serial, _ = _issued(app)
    for _ in range(15):  # genuine checks of a real certificate are not the problem
        assert client.get(f"/verify/{serial}").status_code == 200
    limit = int(app.config["RATELIMIT_VERIFY_UNKNOWN_IP"].split()[0])
    codes = [client.get(f"/verify/HP-2026-{i:04d}-AAAA").status_code for i in range(limit + 3)]
    assert codes[:limit] == [404] * limit
    assert codes[limit:] == [429] * 3
    assert client.get(f"/verify/{serial}/status").status_code == 429


def test_downloads_are_for_the_owner_and_admins_only(app, client):
    uid, serial, _ = _issued(app)
    with app.app_context():
        other_id = make_user("nguoikhac@example.vn")
        admin_id = make_user("admin@example.vn", "admin")
        pdf = bytes(db.session.scalar(db.select(Certificate)).pdf)
    assert client.get(f"/certificates/{serial}.pdf").status_code == 302  # to the login page

    login_as(client, other_id)
    for suffix in (".pdf", ".json"):
        assert client.get(f"/certificates/{serial}{suffix}").status_code == 404
    assert serial not in client.get("/certificates").get_data(as_text=True)

    login_as(client, uid)
    mine = client.get("/certificates").get_data(as_text=True)
    assert f'data-certificate="{serial}"' in mine
    got = client.get(f"/certificates/{serial}.pdf")
    assert got.status_code == 200 and got.mimetype == "application/pdf" and got.data == pdf
    vc = client.get(f"/certificates/{serial}.json")
    assert vc.status_code == 200 and vc.get_json()["type"][1] == "OpenBadgeCredential"

    login_as(client, admin_id)
    assert client.get(f"/certificates/{serial}.pdf").status_code == 200


def _bulk(client, token: str, programme_id: int) -> str:
    """Start a bulk issue; with a worker, follow its progress page until it is done."""
    resp = client.post("/admin/certificates/issue",
                       data={"csrf_token": token, "programme_id": programme_id})
    assert resp.status_code == 302
    target = resp.headers["Location"]
    if "/jobs/" not in target:  # the embedded default: done, the result is flashed
        return client.get(target).get_data(as_text=True)
    state = wait_until(lambda: (s := client.get(f"{target}?format=json").get_json())["status"]
                       in ("finished", "failed") and s, 60, "the bulk issue job")
    assert state and state["status"] == "finished", state
    return client.get(target).get_data(as_text=True)


@pytest.mark.usefixtures("cert_worker")
def test_admin_bulk_issue_for_a_class(app, client):
    with app.app_context():
        programme = setup_programme()
        modules = live_modules(programme)
        done_ids = []
        for n in range(2):
            user = make_learner(f"xong{n}@example.vn", name=f"Trần Văn Hưởng {n}")
            for module in modules:
                pass_module(user, module)
            done_ids.append(user.id)
        half = make_learner("dangdo@example.vn")
        pass_module(half, modules[0])
        programme_id = programme.id
        admin_id = make_user("admin@example.vn", "admin")
        learner_id = make_user("hocvien@example.vn")
    login_as(client, learner_id)
    assert client.get("/admin/certificates").status_code == 403
    login_as(client, admin_id)
    token = csrf_token(client.get("/admin/certificates").get_data(as_text=True))
    html = _bulk(client, token, programme_id)
    assert "cấp mới 2" in html and "chưa đủ điều kiện 1" in html
    with app.app_context():
        holders = sorted(db.session.scalars(db.select(Certificate.user_id)))
        assert holders == done_ids
        entry = db.session.scalar(db.select(AuditLog).filter_by(action="certificate.bulk_issue"))
        assert entry.after["issued"] == 2 and entry.actor_id == admin_id
    again = _bulk(client, token, programme_id)
    assert "cấp mới 0" in again and "đã có từ trước 2" in again
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Certificate)) == 2


def test_issuer_key_and_framework_are_published(app, client):
    _, serial, _ = _issued(app)
    doc = client.get("/.well-known/certificate-issuer").get_json()
    assert doc["verificationMethod"][0]["type"] == "Multikey"
    assert doc["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")  # Ed25519
    pem = client.get("/.well-known/certificate-issuer.pem")
    assert pem.status_code == 200 and pem.data.startswith(b"-----BEGIN CERTIFICATE-----")
    with app.app_context():
        vc = db.session.scalar(db.select(Certificate.credential))
    url = vc["credentialSubject"]["achievement"]["alignment"][0]["targetUrl"]
    path = url.split("hocvuso.haiphong.example", 1)[1].split("#", 1)[0]
    fw = client.get(path).get_json()
    assert fw["code"] == "tt02-2025" and len(fw["competencies"]) == 24
