"""The issuer's key material.

Two keys sign every certificate:

* the **PDF signing key** and its X.509 certificate (PAdES signature of the PDF), and
* an **Ed25519 key** (Data Integrity proof of the Open Badges 3.0 / Verifiable Credential JSON).

Production configures them as PEM files (CERT_PDF_KEY_FILE, CERT_PDF_CERT_FILE,
CERT_PDF_CHAIN_FILE, CERT_PDF_KEY_PASSWORD, CERT_VC_KEY_FILE). Without them, development keys are
generated once into CERT_KEY_DIR (default instance/certificate-keys/), readable by the owner only.
Each file is written to a temporary name and linked into place, so two processes starting at the
same time end up with the same key.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from flask import current_app

log = logging.getLogger(__name__)

PDF_DEV_FILE = "pdf-signing-dev.pem"  # private key + self-signed certificate, one file
VC_DEV_FILE = "credential-ed25519-dev.pem"


class KeyConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class PdfSigningMaterial:
    key_pem: bytes  # PKCS#8, unencrypted (decrypted in memory if a password was configured)
    cert_pem: bytes
    chain_pem: tuple[bytes, ...]
    development: bool


def _write_once(path: Path, data: bytes) -> None:
    """Create `path` with `data` (mode 0600) unless it exists; never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.link(tmp, path)  # atomic and fails if another process got there first
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def _dev_pdf_material(issuer: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Hải Phòng"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer[:64]),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Khóa phát triển (không dùng thật)"),
        x509.NameAttribute(NameOID.COMMON_NAME, issuer[:64]),
    ])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem + cert.public_bytes(serialization.Encoding.PEM)


def _split_pem(data: bytes) -> tuple[bytes, list[bytes]]:
    """(first private key block, certificate blocks) of a PEM bundle."""
    blocks: list[bytes] = []
    current: list[bytes] = []
    for line in data.splitlines(keepends=True):
        if line.startswith(b"-----BEGIN"):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith(b"-----END"):
                blocks.append(b"".join(current))
                current = []
    keys = [b for b in blocks if b"PRIVATE KEY" in b.split(b"\n", 1)[0]]
    certs = [b for b in blocks if b"CERTIFICATE" in b.split(b"\n", 1)[0]]
    return (keys[0] if keys else b""), certs


def _normalise_key(pem: bytes, password: str | None) -> bytes:
    key = serialization.load_pem_private_key(pem, password.encode() if password else None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@lru_cache(maxsize=8)
def _load_pdf(key_file: str | None, cert_file: str | None, chain_file: str | None,
              password: str | None, key_dir: str, issuer: str, stamp: float) -> PdfSigningMaterial:
    del stamp  # part of the cache key only: a replaced file is read again
    if key_file or cert_file:
        if not (key_file and cert_file):
            raise KeyConfigError("CERT_PDF_KEY_FILE and CERT_PDF_CERT_FILE go together")
        key_pem, _ = _split_pem(Path(key_file).read_bytes())
        _, certs = _split_pem(Path(cert_file).read_bytes())
        chain: list[bytes] = _split_pem(Path(chain_file).read_bytes())[1] if chain_file else []
        if not key_pem or not certs:
            raise KeyConfigError("the PDF signing key or certificate file holds no PEM block")
        return PdfSigningMaterial(_normalise_key(key_pem, password), certs[0],
                                  tuple(certs[1:] + chain), development=False)
    path = Path(key_dir) / PDF_DEV_FILE
    if not path.exists():
        log.warning("certificates: generating a development PDF signing key in %s", path)
        _write_once(path, _dev_pdf_material(issuer))
    key_pem, certs = _split_pem(path.read_bytes())
    return PdfSigningMaterial(key_pem, certs[0], (), development=True)


@lru_cache(maxsize=8)
def _load_vc(key_file: str | None, key_dir: str, stamp: float) -> ed25519.Ed25519PrivateKey:
    del stamp
    if key_file:
        path = Path(key_file)
    else:
        path = Path(key_dir) / VC_DEV_FILE
        if not path.exists():
            log.warning("certificates: generating a development Ed25519 key in %s", path)
            pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())
            _write_once(path, pem)
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise KeyConfigError(f"{path} is not an Ed25519 private key")
    return key


def _mtime(*paths: str | None) -> float:
    total = 0.0
    for p in paths:
        if p and os.path.exists(p):
            total += os.path.getmtime(p)
    return total


def pdf_material() -> PdfSigningMaterial:
    cfg = current_app.config
    key_dir = cfg["CERT_KEY_DIR"]
    files = (cfg.get("CERT_PDF_KEY_FILE"), cfg.get("CERT_PDF_CERT_FILE"),
             cfg.get("CERT_PDF_CHAIN_FILE"))
    stamp = _mtime(*files, os.path.join(key_dir, PDF_DEV_FILE))
    return _load_pdf(*files, cfg.get("CERT_PDF_KEY_PASSWORD"), key_dir,
                     cfg["CERT_ISSUER_NAME"], stamp)


def vc_key() -> ed25519.Ed25519PrivateKey:
    cfg = current_app.config
    key_file, key_dir = cfg.get("CERT_VC_KEY_FILE"), cfg["CERT_KEY_DIR"]
    return _load_vc(key_file, key_dir, _mtime(key_file, os.path.join(key_dir, VC_DEV_FILE)))


def vc_public_raw() -> bytes:
    return vc_key().public_key().public_bytes(serialization.Encoding.Raw,
                                              serialization.PublicFormat.Raw)
