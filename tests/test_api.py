"""REST API v1: package import (good and malformed), registrations and their authorization."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from lms.extensions import db
from lms.models import Package, PackageVersion

from .conftest import make_token, make_user, sample


def upload(client, token, path: Path | bytes, name="p.zip", **form):
    data = path.read_bytes() if isinstance(path, Path) else path
    return client.post(
        "/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        data={"file": (io.BytesIO(data), name), **form},
        content_type="multipart/form-data",
    )


def _content(app) -> set[str]:
    """Everything under CONTENT_ROOT, temporary folders included."""
    root = Path(app.config["CONTENT_ROOT"])
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.mark.parametrize(
    ("name", "version", "sco_count"),
    [
        ("RuntimeBasicCalls_SCORM12.zip", "1.2", 1),
        ("ContentPackagingOneFilePerSCO_SCORM12.zip", "1.2", None),
        ("RuntimeBasicCalls_SCORM20043rdEdition.zip", "2004", 1),
        ("ContentPackagingOneFilePerSCO_SCORM20043rdEdition.zip", "2004", None),
        ("SequencingSimpleRemediation_SCORM20043rdEdition.zip", "2004", None),
    ],
)
def test_import_samples(app, client, admin_token, name, version, sco_count):
    r = upload(client, admin_token, sample(name))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["scorm_version"] == version
    assert body["version"] == 1
    if sco_count is not None:
        assert len(body["scos"]) == sco_count
    else:
        assert len(body["scos"]) > 1
    assert all(s["launch"] for s in body["scos"])
    content = Path(app.config["CONTENT_ROOT"]) / body["sha256"]
    assert (content / "imsmanifest.xml").exists()
    got = client.get(f"/api/v1/packages/{body['id']}",
                     headers={"Authorization": f"Bearer {admin_token}"})
    assert got.status_code == 200 and got.get_json()["title"] == body["title"]


def test_same_zip_recognised_and_new_version(app, client, admin_token):
    path = sample("RuntimeBasicCalls_SCORM12.zip")
    first = upload(client, admin_token, path).get_json()
    again = upload(client, admin_token, path)
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["id"] == first["id"]
    # A changed zip uploaded as a new version of the same package.
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr("extra.txt", "phiên bản 2")
    second = upload(client, admin_token, buf.getvalue(), package_id=str(first["id"]))
    assert second.status_code == 201
    assert second.get_json()["id"] == first["id"] and second.get_json()["version"] == 2
    assert _count(app, Package) == 1 and _count(app, PackageVersion) == 2


@pytest.mark.parametrize(
    ("name", "code"),
    [("MalformedXml_SCORM12.zip", "xml_malformed"),
     ("InvalidFileReferences_SCORM12.zip", "file_missing")],
)
def test_bad_samples_rejected_leave_nothing(app, client, admin_token, name, code):
    before = _content(app)
    r = upload(client, admin_token, sample(name))
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert errors and all(e["code"] == code for e in errors)
    assert all(e["message"] for e in errors)
    if code == "xml_malformed":
        assert errors[0]["line"]
    else:
        assert all(e["path"] for e in errors)
    assert _count(app, Package) == 0 and _count(app, PackageVersion) == 0
    assert _content(app) == before


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    return buf.getvalue()


MANIFEST = b"""<?xml version="1.0"?>
<manifest identifier="m" version="1" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <organizations default="o"><organization identifier="o"><title>T</title>
    <item identifier="i" identifierref="r"><title>I</title></item></organization></organizations>
  <resources><resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="index.html">
    <file href="index.html"/></resource></resources>
</manifest>"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<manifest identifier="m">&lol3;</manifest>"""


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ({"index.html": b"x"}, "manifest_missing"),
        ({"imsmanifest.xml": b"<manifest><broken"}, "xml_malformed"),
        ({"imsmanifest.xml": BOMB, "index.html": b"x"}, "xml_forbidden"),
        ({"imsmanifest.xml": MANIFEST, "index.html": b"x", "../escape.html": b"x"}, "path_escape"),
        ({"imsmanifest.xml": MANIFEST}, "file_missing"),
    ],
)
def test_malformed_packages_rejected(app, client, admin_token, files, code):
    before = _content(app)
    r = upload(client, admin_token, _zip(files))
    assert r.status_code == 422, r.get_json()
    assert code in {e["code"] for e in r.get_json()["errors"]}
    assert _count(app, Package) == 0
    assert _content(app) == before


def test_zip_bomb_rejected(app, client, admin_token):
    bomb = _zip({"imsmanifest.xml": MANIFEST, "index.html": b"x",
                 "big.bin": b"\0" * (300 * 1024 * 1024)})
    r = upload(client, admin_token, bomb)
    assert r.status_code == 422
    assert {e["code"] for e in r.get_json()["errors"]} & {"compression_ratio", "too_large"}
    assert _count(app, Package) == 0


def test_not_a_zip(client, admin_token):
    r = upload(client, admin_token, b"hello")
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["code"] == "not_a_zip"


def test_package_upload_requires_admin(app, client, learner_token):
    r = upload(client, learner_token, sample("RuntimeBasicCalls_SCORM12.zip"))
    assert r.status_code == 403
    assert client.post("/api/v1/packages").status_code == 401


def test_registrations_are_private(app, client, admin_token):
    pkg = upload(client, admin_token, sample("RuntimeBasicCalls_SCORM12.zip")).get_json()
    with app.app_context():
        make_user("a@example.vn")
        make_user("b@example.vn")
        tok_a, tok_b = make_token("a@example.vn"), make_token("b@example.vn")
    ha, hb = ({"Authorization": f"Bearer {t}"} for t in (tok_a, tok_b))
    r = client.post("/api/v1/registrations", headers=ha, json={"package_id": pkg["id"]})
    assert r.status_code == 201
    reg = r.get_json()
    assert reg["launch_url"].endswith(f"/play/{reg['id']}")
    assert reg["completion_status"] == "not attempted"
    # b cannot read a's registration, nor register a.
    assert client.get(f"/api/v1/registrations/{reg['id']}", headers=hb).status_code == 404
    r = client.post("/api/v1/registrations", headers=hb,
                    json={"package_id": pkg["id"], "user_email": "a@example.vn"})
    assert r.status_code == 403
    assert client.get(f"/api/v1/registrations/{reg['id']}", headers=ha).status_code == 200
    admin = {"Authorization": f"Bearer {admin_token}"}
    assert client.get(f"/api/v1/registrations/{reg['id']}", headers=admin).status_code == 200


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/packages", "/api/v1/packages/{id}", "/api/v1/registrations",
                 "/api/v1/registrations/{id}"):
        assert path in doc["paths"]
