"""The signed documents: the PDF renders with correct Vietnamese, its PAdES signature validates
against the published certificate and breaks when one signed byte changes; the Verifiable
Credential verifies against the published key and breaks when any claim changes."""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
import subprocess
from io import BytesIO

import pytest
import rfc8785
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from lms.certificates import credential
from lms.certificates.pdf import run_async
from lms.extensions import db

from .test_certificates import _key_dir, certified_learner  # noqa: F401 - fixture reused

BASE = "https://hocvuso.haiphong.example"


@pytest.fixture
def issued(app, client):
    """A certificate, its PDF and credential, and what the platform publishes."""
    with app.app_context():
        _, _, cert = certified_learner()
        data = {"serial": cert.serial, "pdf": bytes(cert.pdf), "vc": cert.credential,
                "sha": cert.pdf_sha256, "comps": cert.competencies}
        db.session.remove()
    data["issuer"] = client.get(credential.ISSUER_PATH).get_json()
    data["pem"] = client.get(credential.ISSUER_PATH + ".pem").data
    return data


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: run scripts/ensure-test-tools.sh (poppler-utils)"
    return path


def _validate(pdf: bytes, root_pem: bytes):
    _, _, der = pem.unarmor(root_pem)
    root = asn1_x509.Certificate.load(der)
    reader = PdfFileReader(BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    return run_async(lambda: async_validate_pdf_signature(
        reader.embedded_signatures[0], ValidationContext(trust_roots=[root])))


def test_pdf_renders_as_a4_with_correct_vietnamese(issued, tmp_path):
    path = tmp_path / "c.pdf"
    path.write_bytes(issued["pdf"])
    assert hashlib.sha256(issued["pdf"]).hexdigest() == issued["sha"]
    subprocess.run([_tool("pdftoppm"), "-r", "40", "-png", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True)
    with Image.open(next(tmp_path.glob("page*.png"))) as img:
        w, h = img.size
        assert abs(h / w - 297 / 210) < 0.02  # A4 portrait
        dark = sum(img.convert("L").histogram()[:100])
        assert dark > 0.01 * w * h  # something is drawn
    fonts = subprocess.run([_tool("pdffonts"), str(path)], check=True, capture_output=True,
                           text=True).stdout
    assert "DejaVu" in fonts and re.search(r"yes\s+yes\s+yes", fonts)  # embedded subsets
    raw = subprocess.run([_tool("pdftotext"), str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    text = re.sub(r"\s+", " ", raw)  # lines wrap where the layout wraps them
    for phrase in ("GIẤY CHỨNG NHẬN", "Nguyễn Thị Hồng Nhung", "Năm sinh: 1975",
                   "Phường Lê Ích Mộc", "Độc lập – Tự do – Hạnh phúc",
                   "SỞ KHOA HỌC VÀ CÔNG NGHỆ HẢI PHÒNG", "Ngày hoàn thành: 20/11/2026",
                   "các năng lực được đánh giá theo khung năng lực số cho người học",
                   "Thông tư 02/2025/TT-BGDĐT", issued["serial"]):
        assert phrase in text, phrase
    for domain in issued["comps"]:
        for comp in domain["competencies"]:
            assert comp["name"] in text, comp["name"]
    assert "757" not in text  # never claims the official QĐ 757 level with TT 02 loaded
    assert f"{BASE}/verify/{issued['serial']}" in text


def test_pdf_signature_validates_against_the_published_certificate(issued):
    status = _validate(issued["pdf"], issued["pem"])
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"
    assert "Sở Khoa học và Công nghệ Hải Phòng" in status.signing_cert.subject.human_friendly


def test_one_flipped_byte_inside_the_signed_range_breaks_the_signature(issued):
    pdf = bytearray(issued["pdf"])
    # a byte inside the first page content stream (signed range, still a parsable PDF)
    start = pdf.index(b"stream", pdf.index(b"/Contents")) + 20
    a, b, c, d = map(int, re.search(rb"/ByteRange \[\s*(\d+) (\d+) (\d+) (\d+)",
                                    bytes(pdf)).groups())
    assert a <= start < a + b or c <= start < c + d  # inside what the signature covers
    pdf[start] ^= 0x01
    status = _validate(bytes(pdf), issued["pem"])
    assert not status.intact and not status.bottom_line
    assert _validate(issued["pdf"], issued["pem"]).bottom_line  # the original still does


def _public(issuer_doc: dict) -> bytes:
    multikey = [m for m in issuer_doc["verificationMethod"] if m["type"] == "Multikey"][0]
    return credential.public_from_multikey(multikey["publicKeyMultibase"])


def test_credential_is_open_badges_3_and_verifies_against_the_published_key(issued):
    vc, doc = issued["vc"], issued["issuer"]
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert vc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert vc["issuer"]["id"] == doc["id"] == f"{BASE}{credential.ISSUER_PATH}"
    assert vc["proof"]["verificationMethod"] in doc["assertionMethod"]
    subject = vc["credentialSubject"]
    assert subject["name"] == "Nguyễn Thị Hồng Nhung" and subject["birthYear"] == 1975
    codes = [a["targetCode"] for a in subject["achievement"]["alignment"]]
    assert codes == [c["code"] for d in issued["comps"] for c in d["competencies"]]
    assert credential.verify(vc, _public(doc))

    # independently of lms code: eddsa-jcs-2022 as the W3C spec defines it
    proof = dict(vc["proof"])
    value = proof.pop("proofValue")
    unsecured = {k: v for k, v in vc.items() if k != "proof"}
    data = (hashlib.sha256(rfc8785.dumps(proof)).digest()
            + hashlib.sha256(rfc8785.dumps(unsecured)).digest())
    ed25519.Ed25519PublicKey.from_public_bytes(_public(doc)).verify(
        credential.b58decode(value[1:]), data)
    # the JWK form of the published key is the same key
    jwk = [m for m in doc["verificationMethod"] if m["type"] == "JsonWebKey"][0]["publicKeyJwk"]
    assert credential.jwk(_public(doc)) == jwk


def _paths(node, prefix=()):
    """Every leaf of a JSON document, as a path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for idx, value in enumerate(node):
            yield from _paths(value, (*prefix, idx))
    else:
        yield prefix


def test_altering_any_claim_breaks_the_credential(issued):
    vc, public = issued["vc"], _public(issued["issuer"])
    leaves = [p for p in _paths(vc) if p[:1] != ("proof",) or p[-1] != "proofValue"]
    assert len(leaves) > 40
    for path in leaves:
        forged = copy.deepcopy(vc)
        node = forged
        for key in path[:-1]:
            node = node[key]
        old = node[path[-1]]
        node[path[-1]] = (not old) if isinstance(old, bool) else (
            old + 1 if isinstance(old, int) else f"{old}x")
        assert not credential.verify(forged, public), path
    added = copy.deepcopy(vc)
    added["credentialSubject"]["achievement"]["alignment"].append({"targetCode": "6.3"})
    assert not credential.verify(added, public)
    other_key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    assert not credential.verify(vc, other_key)
