"""Password hashing, API tokens and signed per-attempt commit tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

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
