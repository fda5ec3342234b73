"""Outgoing email: UTF-8 messages (plain text, optionally HTML) sent by SMTP from a job.

    send_mail(to, subject, text, html=None)           # queue "default" (in-process without Redis)
    send_mail(to, *render_mail("name", **ctx))        # from lms/templates/mail/name.txt (+ .html)

With MAIL_SERVER set, messages go through that SMTP server (STARTTLS with MAIL_USE_TLS, TLS
from the start with MAIL_USE_SSL, login with MAIL_USERNAME/MAIL_PASSWORD). Without it (the
development default) each message is written as an .eml file into MAIL_LOG_DIR, where any
mail program can open it.
"""

from __future__ import annotations

import base64
import logging
import os
import smtplib
import ssl
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path
from typing import NamedTuple

from flask import current_app
from jinja2 import TemplateNotFound

log = logging.getLogger(__name__)


class Mail(NamedTuple):
    """A rendered message: unpacks into send_mail's (subject, text, html)."""

    subject: str
    text: str
    html: str | None = None


def render_mail(template_name: str, **ctx) -> Mail:
    """Render lms/templates/mail/<name>.txt (and <name>.html when it exists) with Jinja.

    The subject comes from the text template, `{% set subject = "…" %}` at its top level
    (or from a `subject=` argument). The templates get `ctx` plus `site_name` and `public_url`
    (PUBLIC_URL, possibly empty); there is no request in a worker, so links are passed in or
    built from `public_url`. The .txt template is not HTML-escaped, the .html one is.
    """
    env = current_app.jinja_env
    values = {"site_name": "Học vụ số Hải Phòng",
              "public_url": current_app.config.get("PUBLIC_URL", ""), **ctx}
    module = env.get_template(f"mail/{template_name}.txt").make_module(values)
    text = str(module)
    subject = getattr(module, "subject", None) or ctx.get("subject")
    if not subject:
        raise ValueError(f"mail/{template_name}.txt sets no subject")
    subject = " ".join(str(subject).split())  # one header line
    try:
        html_template = env.get_template(f"mail/{template_name}.html")
    except TemplateNotFound:
        html = None
    else:
        html = html_template.render(**values, subject=subject)
    return Mail(subject, text.strip() + "\n", html)


def _recipients(to: str | Iterable[str]) -> list[str]:
    items = [to] if isinstance(to, str) else list(to)
    addresses = [addr for _, addr in getaddresses(items) if addr]
    if not addresses:
        raise ValueError(f"no recipient address in {to!r}")
    return items


class EncodedSubject(str):
    """A Subject header folded by us: the standard library's folder (3.11) drops the space
    between two encoded words when it breaks a long non-ASCII subject ("Học vụ" arrives as
    "Họcvụ"). Each encoded word here carries its own spaces and stays within RFC 2047's 75
    characters; `str(subject)` is the plain text."""

    name = "Subject"
    CHUNK_BYTES = 42  # base64 of 42 bytes: 56 characters; a line stays under 78

    def fold(self, *, policy) -> str:
        words, chunk = [], ""
        for char in str(self):
            if len((chunk + char).encode()) > self.CHUNK_BYTES:
                words.append(chunk)
                chunk = ""
            chunk += char
        words.append(chunk)
        if str(self).isascii() and len(self) < 70:
            return f"Subject: {self}{policy.linesep}"
        encoded = [f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words if w]
        return "Subject: " + f"{policy.linesep} ".join(encoded) + policy.linesep


def build_message(to: str | Iterable[str], subject: str, text: str, html: str | None = None,
                  sender: str | None = None) -> EmailMessage:
    """A standards-conforming message: RFC 2047 encoded headers (Vietnamese subject and
    sender name), UTF-8 bodies, text/plain alone or multipart/alternative with the HTML."""
    sender = sender or current_app.config["MAIL_FROM"]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = ", ".join(_recipients(to))
    msg["Subject"] = EncodedSubject(subject)
    msg["Date"] = format_datetime(datetime.now(UTC))
    domain = msg["From"].addresses[0].domain or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    msg.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def deliver(to: str | Iterable[str], subject: str, text: str, html: str | None = None) -> str:
    """Send one message now (inside an app context); return its Message-ID.

    SMTP errors propagate, so the job that called this is retried."""
    msg = build_message(to, subject, text, html)
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        path = _write_eml(msg, Path(cfg["MAIL_LOG_DIR"]))
        log.info("MAIL_SERVER unset: mail to %s written to %s", msg["To"], path)
        return msg["Message-ID"]
    _smtp_send(msg, cfg)
    log.info("mail sent to %s: %s", msg["To"], msg["Message-ID"])
    return msg["Message-ID"]


def _smtp_open(cfg) -> smtplib.SMTP:
    host, port, timeout = cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), cfg.get("MAIL_TIMEOUT", 30)
    context = ssl.create_default_context()
    if cfg.get("MAIL_USE_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _smtp_submit(smtp: smtplib.SMTP, msg: EmailMessage) -> None:
    refused = smtp.send_message(msg)
    if refused:  # some recipients accepted, these not: worth a log line, not a retry
        log.warning("mail %s refused for %s", msg["Message-ID"], refused)


def _smtp_send(msg: EmailMessage, cfg) -> None:
    with _smtp_open(cfg) as smtp:
        _smtp_submit(smtp, msg)


@contextmanager
def connection() -> Iterator[Callable[..., str]]:
    """For jobs sending many messages (reminders): one SMTP session for all of them.

        with connection() as send:
            send(to, subject, text, html)   # like deliver(); returns the Message-ID

    Without MAIL_SERVER each message is written to MAIL_LOG_DIR, as deliver() does."""
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        yield deliver
        return
    smtp = _smtp_open(cfg)

    def send(to: str | Iterable[str], subject: str, text: str, html: str | None = None) -> str:
        msg = build_message(to, subject, text, html)
        _smtp_submit(smtp, msg)
        log.info("mail sent to %s: %s", msg["To"], msg["Message-ID"])
        return msg["Message-ID"]

    try:
        yield send
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _write_eml(msg: EmailMessage, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    path = folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
    tmp = folder / f".{path.name}.tmp"
    tmp.write_bytes(msg.as_bytes())
    os.replace(tmp, path)  # readers never see half a message
    return path


def send_mail(to: str | Iterable[str], subject: str, text: str, html: str | None = None):
    """Send a message from a background job (queue "default"); returns the job.

    Without REDIS_URL the job runs right away in this process and a delivery error is
    reported in the returned LocalJob (status "failed") rather than raised."""
    from . import jobs

    recipients = _recipients(to)
    return jobs.enqueue(jobs.deliver_mail, recipients, subject, text, html,
                        queue_name="default")
