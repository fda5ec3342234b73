"""Configuration from environment variables, with defaults that work on a bare machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _instance_secret(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    instance = Path(instance_path)
    env = {**os.environ, **{k: v for k, v in (overrides or {}).items() if isinstance(v, str)}}
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'lms.sqlite3'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    cfg = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SECRET_KEY": env.get("SECRET_KEY") or _instance_secret(instance),
        "CONTENT_ROOT": env.get("CONTENT_ROOT") or str(instance / "content"),
        # A separate origin for SCORM content can be configured later; empty = same origin.
        "CONTENT_BASE_URL": env.get("CONTENT_BASE_URL", ""),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_UPLOAD_MB", "1024")) * 1024 * 1024,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Behind HTTPS (production) cookies must never travel over plain HTTP.
        "SESSION_COOKIE_SECURE": env.get("SECURE_COOKIES", "") in ("1", "true", "yes"),
        "REMEMBER_COOKIE_SECURE": env.get("SECURE_COOKIES", "") in ("1", "true", "yes"),
        "SESSION_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "COMMIT_INTERVAL_SECONDS": int(env.get("COMMIT_INTERVAL_SECONDS", "30")),
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Failed logins only: per client address, and per account typed in.
        "RATELIMIT_LOGIN_IP": env.get("RATELIMIT_LOGIN_IP", "30 per 5 minutes"),
        "RATELIMIT_LOGIN_ACCOUNT": env.get("RATELIMIT_LOGIN_ACCOUNT", "5 per 15 minutes"),
        "RATELIMIT_REGISTER_IP": env.get("RATELIMIT_REGISTER_IP", "20 per hour"),
        # Number of reverse proxies in front (nginx: 1); 0 trusts no X-Forwarded-* header.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # Let nginx send package files (X-Accel-Redirect) after the app checked the login.
        "X_ACCEL_CONTENT": env.get("X_ACCEL_CONTENT", "") in ("1", "true", "yes"),
        "NODE_NAME": env.get("NODE_NAME", ""),
        # Where extracted packages live: "local" (CONTENT_ROOT) or "s3" (an S3-compatible
        # bucket; credentials come from boto3's usual chain, e.g. AWS_ACCESS_KEY_ID).
        "CONTENT_STORE": (env.get("CONTENT_STORE") or "local").lower(),
        "S3_BUCKET": env.get("S3_BUCKET", ""),
        "S3_PREFIX": env.get("S3_PREFIX", ""),
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or None,
    }
    if overrides:
        cfg.update(overrides)
    return cfg
