"""The confirmation export (docs/certificates.md): admins only, the documented columns, values as
printed on the certificate, revoked ones marked, filters, Vietnamese intact through Excel's BOM."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from lms.certificates.confirmations import COLUMNS, FORMAT_VERSION
from lms.extensions import db
from lms.models import AuditLog, Certificate

from .conftest import login_as, make_user
from .test_certificates import _key_dir, certified_learner  # noqa: F401 - fixture reused

URL = "/admin/certificates/confirmations.csv"


def _rows(resp) -> list[dict]:
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_export_lists_every_certificate_as_printed(app, client):
    with app.app_context():
        user, _, cert = certified_learner()
        serial, programme_id, uid = cert.serial, cert.programme_id, user.id
        printed = [c["code"] for d in cert.competencies for c in d["competencies"]]
        admin_id = make_user("admin@example.vn", "admin")

    assert client.get(URL).status_code == 302  # anonymous: to the login page
    login_as(client, uid)
    assert client.get(URL).status_code == 403

    login_as(client, admin_id)
    resp = client.get(URL)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = _rows(resp)
    assert list(rows[0]) == list(COLUMNS)
    (row,) = rows
    assert row["format"] == FORMAT_VERSION
    assert (row["serial"], row["status"]) == (serial, "valid")
    assert row["full_name"] == "Nguyễn Thị Hồng Nhung"
    assert row["unit_or_commune"] == "Phường Lê Ích Mộc"
    assert row["framework_code"] == "tt02-2025"
    assert [c.split(":")[0] for c in row["competencies"].split(";")] == printed
    assert row["verify_url"].endswith(f"/verify/{serial}")
    assert row["revoked_at"] == ""

    with app.app_context():
        db.session.scalar(db.select(Certificate)).revoked_at = datetime.now(UTC)
        db.session.commit()
        assert db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "certificates.export_confirmations")) is not None
    (row,) = _rows(client.get(URL))
    assert row["status"] == "revoked" and row["revoked_at"]

    assert _rows(client.get(f"{URL}?programme={programme_id + 999}")) == []
    assert _rows(client.get(f"{URL}?since=2999-01-01")) == []
    assert client.get(f"{URL}?since=hom-qua").status_code == 400
