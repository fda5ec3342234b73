"""The certificate as an Open Badges 3.0 credential (a W3C Verifiable Credential 2.0), secured
with a Data Integrity proof, cryptosuite `eddsa-jcs-2022` (W3C VC-DI-EdDSA §3.3):

    hashData   = SHA-256(JCS(proof options)) ‖ SHA-256(JCS(credential without proof))
    proofValue = "z" + base58btc(Ed25519-sign(hashData))

JCS is RFC 8785 (the `rfc8785` package). The public key is published by the platform at
`/.well-known/certificate-issuer` as a Multikey (and the same key as a JWK); the verification
method id is that document's URL + "#" + the key's multibase, so it names the key it stands for.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from ..models import Certificate

CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
CRYPTOSUITE = "eddsa-jcs-2022"
ISSUER_PATH = "/.well-known/certificate-issuer"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ED25519_PUB = b"\xed\x01"  # multicodec prefix of an Ed25519 public key


class CredentialError(ValueError):
    pass


# --- encodings ------------------------------------------------------------------------------


def b58encode(data: bytes) -> str:
    num = int.from_bytes(data, "big")
    out = ""
    while num:
        num, rem = divmod(num, 58)
        out = _B58[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58decode(text: str) -> bytes:
    num = 0
    for ch in text:
        idx = _B58.find(ch)
        if idx < 0:
            raise CredentialError("invalid base58 character")
        num = num * 58 + idx
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def multikey(public_raw: bytes) -> str:
    return "z" + b58encode(_ED25519_PUB + public_raw)


def public_from_multikey(value: str) -> bytes:
    if not value.startswith("z"):
        raise CredentialError("only base58btc multibase keys are supported")
    raw = b58decode(value[1:])
    if not raw.startswith(_ED25519_PUB) or len(raw) != 34:
        raise CredentialError("not an Ed25519 Multikey")
    return raw[2:]


def jwk(public_raw: bytes) -> dict[str, str]:
    x = base64.urlsafe_b64encode(public_raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x}


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issuer_id(base_url: str) -> str:
    return base_url.rstrip("/") + ISSUER_PATH


def verification_method(base_url: str, public_raw: bytes) -> str:
    return f"{issuer_id(base_url)}#{multikey(public_raw)}"


# --- the credential -------------------------------------------------------------------------


def statement(cert: Certificate, framework_title: str) -> str:
    """The sentence printed on the certificate (and its machine-readable description)."""
    text = f"Hoàn thành chương trình «{cert.programme_title}»"
    if cert.competencies:
        title = framework_title[:1].lower() + framework_title[1:]
        if not title.startswith("khung"):
            title = "khung " + title
        text += f"; các năng lực được đánh giá theo {title}"
    return text + "."


def build(cert: Certificate, base_url: str, framework: Any, programme_code: str,
          criteria: str) -> dict:
    """The unsigned credential: exactly what the PDF prints, nothing more."""
    base = base_url.rstrip("/")
    fw_url = f"{base}/frameworks/{framework.code}/{framework.version}"
    alignment = [
        {
            "type": ["Alignment"],
            "targetType": "CFItem",
            "targetCode": comp["code"],
            "targetName": f"{comp['code']} {comp['name']}",
            "targetDescription": f"{domain['code']}. {domain['name']} — mức {comp['level_code']}",
            "targetFramework": framework.title,
            "targetUrl": f"{fw_url}#{comp['code']}",
        }
        for domain in cert.competencies
        for comp in domain["competencies"]
    ]
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": [{
            "type": "IdentityObject", "identityType": "name", "hashed": False,
            "identityHash": cert.learner_name,
        }],
        "name": cert.learner_name,
        "activityEndDate": f"{cert.completed_on.isoformat()}T00:00:00Z",
        "targetGroup": cert.target_group,
        "achievement": {
            "id": f"{base}/certificates/achievements/{programme_code}",
            "type": ["Achievement"],
            "achievementType": "CertificateOfCompletion",
            "name": cert.programme_title,
            "description": statement(cert, framework.title),
            "criteria": {"narrative": criteria},
            "alignment": alignment,
        },
    }
    if cert.birth_year:
        subject["birthYear"] = cert.birth_year
    if cert.unit_name:
        subject["unit"] = cert.unit_name
    return {
        "@context": list(CONTEXTS),
        "id": f"{base}/verify/{cert.serial}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Chứng nhận hoàn thành: {cert.programme_title}",
        "issuer": {
            "id": issuer_id(base), "type": ["Profile"], "name": cert.issuer, "url": base,
        },
        "validFrom": _iso(cert.issued_at),
        "credentialSubject": subject,
        "credentialStatus": {
            "id": f"{base}/verify/{cert.serial}/status",
            "type": "1EdTechRevocationList",
        },
    }


# --- Data Integrity proof (eddsa-jcs-2022) --------------------------------------------------


def _hash_data(document: dict, proof_options: dict) -> bytes:
    if proof_options.get("type") != "DataIntegrityProof" or proof_options.get(
        "cryptosuite"
    ) != CRYPTOSUITE:
        raise CredentialError("not a DataIntegrityProof with cryptosuite eddsa-jcs-2022")
    return (hashlib.sha256(rfc8785.dumps(proof_options)).digest()
            + hashlib.sha256(rfc8785.dumps(document)).digest())


def sign(document: dict, key: ed25519.Ed25519PrivateKey, method: str,
         created: datetime | None = None) -> dict:
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    proof: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": _iso(created or datetime.now(UTC)),
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
    }
    if "@context" in unsecured:
        proof["@context"] = copy.deepcopy(unsecured["@context"])
    signature = key.sign(_hash_data(unsecured, proof))
    return {**unsecured, "proof": {**proof, "proofValue": "z" + b58encode(signature)}}


def verify(document: dict, public_raw: bytes) -> bool:
    """True if `document` carries a valid eddsa-jcs-2022 proof by this Ed25519 public key."""
    proof = document.get("proof")
    if not isinstance(proof, dict) or not isinstance(proof.get("proofValue"), str):
        return False
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    if options.get("proofPurpose") != "assertionMethod":
        return False
    if "@context" in options:
        ctx, doc_ctx = options["@context"], unsecured.get("@context")
        if not isinstance(ctx, list) or not isinstance(doc_ctx, list) or (
            doc_ctx[: len(ctx)] != ctx
        ):
            return False
        unsecured["@context"] = ctx
    value = proof["proofValue"]
    try:
        if not value.startswith("z"):
            return False
        signature = b58decode(value[1:])
        data = _hash_data(unsecured, options)
        ed25519.Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, data)
    except (InvalidSignature, CredentialError, ValueError, TypeError):
        return False
    return True


def issuer_document(base_url: str, issuer_name: str, public_raw: bytes) -> dict:
    """The controller document published at /.well-known/certificate-issuer."""
    ident = issuer_id(base_url)
    key_id = verification_method(base_url, public_raw)
    return {
        "@context": ["https://www.w3.org/ns/cid/v1"],
        "id": ident,
        "name": issuer_name,
        "url": base_url.rstrip("/"),
        "verificationMethod": [
            {"id": key_id, "type": "Multikey", "controller": ident,
             "publicKeyMultibase": multikey(public_raw)},
            {"id": key_id + "-jwk", "type": "JsonWebKey", "controller": ident,
             "publicKeyJwk": jwk(public_raw)},
        ],
        "assertionMethod": [key_id],
        "pdfSigningCertificate": ident + ".pem",
    }
