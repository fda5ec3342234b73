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


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


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
        # Address of the site as users reach it (https://…), for links in emails. Unset: the
        # address of the request (development only: behind nginx the Host header is the
        # client's, and a forged one must never end up in a password-reset link).
        "PUBLIC_URL": (env.get("PUBLIC_URL") or "").rstrip("/"),
        # Outgoing mail. Without MAIL_SERVER (development) every message is written as an
        # .eml file into MAIL_LOG_DIR instead of being sent.
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(env.get("MAIL_PORT") or (465 if _flag(env.get("MAIL_USE_SSL"))
                                                  else 587 if _flag(env.get("MAIL_USE_TLS"))
                                                  else 25)),
        "MAIL_USE_TLS": _flag(env.get("MAIL_USE_TLS")),  # STARTTLS (usually port 587)
        "MAIL_USE_SSL": _flag(env.get("MAIL_USE_SSL")),  # TLS from the start (port 465)
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_FROM": env.get("MAIL_FROM") or "Học vụ số Hải Phòng <no-reply@haiphong.local>",
        "MAIL_LOG_DIR": env.get("MAIL_LOG_DIR") or str(instance / "mail"),
        "MAIL_TIMEOUT": 30,
        # Password reset: requests per client address and per account typed in (every
        # request counts, so nobody can flood a mailbox); links stay valid this long.
        "RATELIMIT_RESET_IP": env.get("RATELIMIT_RESET_IP", "10 per hour"),
        "RATELIMIT_RESET_ACCOUNT": env.get("RATELIMIT_RESET_ACCOUNT", "3 per hour"),
        "PASSWORD_RESET_MAX_AGE": 3600,
        # Mandated-training reminders (lms/manage/reminders.py): learners whose due date is
        # within REMINDER_DAYS or past get one email a day, their unit managers a digest of
        # the overdue; the worker runs the job every day at REMINDER_HOUR (Hai Phong time).
        "REMINDER_DAYS": int(env.get("REMINDER_DAYS") or 7),
        "REMINDER_HOUR": int(env.get("REMINDER_HOUR") or 7),
        # Reports (lms/reports): roster export files (default CONTENT_ROOT/_exports) and how
        # long they are kept; how often a worker rebuilds the dashboards' summary tables.
        "EXPORT_DIR": env.get("EXPORT_DIR") or None,
        "EXPORT_TTL_HOURS": float(env.get("EXPORT_TTL_HOURS") or 24),
        "DASHBOARD_REFRESH_MINUTES": int(env.get("DASHBOARD_REFRESH_MINUTES") or 15),
        # Skill certificates (lms/certificates, docs/certificates.md): the issuing body printed
        # on them and the issuer's keys. Without key files, development keys are generated once
        # into CERT_KEY_DIR (files 0600); production configures real ones.
        "CERT_ISSUER_NAME": env.get("CERT_ISSUER_NAME") or "Sở Khoa học và Công nghệ Hải Phòng",
        "CERT_SIGN_LOCATION": env.get("CERT_SIGN_LOCATION") or "Hải Phòng",
        "CERT_KEY_DIR": env.get("CERT_KEY_DIR") or str(instance / "certificate-keys"),
        "CERT_PDF_KEY_FILE": env.get("CERT_PDF_KEY_FILE") or None,  # PEM private key (PAdES)
        "CERT_PDF_CERT_FILE": env.get("CERT_PDF_CERT_FILE") or None,  # its X.509 certificate
        "CERT_PDF_CHAIN_FILE": env.get("CERT_PDF_CHAIN_FILE") or None,  # intermediates (PEM)
        "CERT_PDF_KEY_PASSWORD": env.get("CERT_PDF_KEY_PASSWORD") or None,
        "CERT_VC_KEY_FILE": env.get("CERT_VC_KEY_FILE") or None,  # Ed25519 PEM (credentials)
        # Public verification page: all lookups, and lookups of unknown serials (enumeration).
        "RATELIMIT_VERIFY_IP": env.get("RATELIMIT_VERIFY_IP", "60 per minute"),
        "RATELIMIT_VERIFY_UNKNOWN_IP": env.get("RATELIMIT_VERIFY_UNKNOWN_IP",
                                               "10 per 10 minutes"),
    }
    if overrides:
        cfg.update(overrides)
    return cfg
