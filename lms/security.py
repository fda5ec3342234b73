"""Password hashing, API tokens, signed per-attempt commit tokens and password-reset links."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> tuple[str, str]:
    """Return (token shown once, sha256 stored)."""
    token = "hp_" + secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _commit_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="scorm-commit")


def commit_token(attempt_id: int, user_id: int) -> str:
    """Capability for the commit endpoint: the unload beacon cannot send a CSRF header."""
    return _commit_serializer().dumps([attempt_id, user_id])


def check_commit_token(token: str, attempt_id: int) -> int | None:
    """Return the user id the token was issued to, or None."""
    try:
        a_id, user_id = _commit_serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return user_id if a_id == attempt_id else None


# --- password reset -------------------------------------------------------------------------
# The token signs [user id, fingerprint of the current password hash] with a timestamp. Setting
# a password changes the hash (Argon2 draws a new salt every time), so a used link, or any
# link issued before the password changed, no longer matches: one-time without a table.


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def password_fingerprint(password_hash: str) -> str:
    """Keyed digest of the stored hash: the token (readable, only signed) reveals nothing."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def password_reset_token(user_id: int, password_hash: str) -> str:
    return _reset_serializer().dumps([user_id, password_fingerprint(password_hash)])


def read_password_reset_token(token: str) -> tuple[int, str] | None:
    """(user id, password fingerprint) of a well-signed token younger than
    PASSWORD_RESET_MAX_AGE, else None. The caller compares the fingerprint with the user's
    current hash (password_reset_matches)."""
    max_age = int(current_app.config.get("PASSWORD_RESET_MAX_AGE", 3600))
    try:
        user_id, fingerprint = _reset_serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        return None
    return user_id, fingerprint


def password_reset_matches(fingerprint: str, password_hash: str) -> bool:
    return hmac.compare_digest(fingerprint, password_fingerprint(password_hash))
