"""Outgoing mail: UTF-8 messages through a real SMTP server on localhost, .eml files without
one, and templates rendered from lms/templates/mail/."""

from __future__ import annotations

import smtplib
import time
from email import message_from_bytes
from email.policy import default
from types import SimpleNamespace

import pytest
from jinja2 import ChoiceLoader, DictLoader

from lms import jobs
from lms.mail import deliver, render_mail, send_mail

from .conftest import _free_port

SUBJECT = "Nhắc học: Kỹ năng số cơ bản — hạn chót 30/6 (Đặc khu Bạch Long Vĩ)"
TEXT = ("Xin chào Nguyễn Thị Hằng,\n\nBạn còn 2 học phần bắt buộc chưa hoàn thành: "
        "«An toàn thông tin» và «Dịch vụ công trực tuyến».\n")
HTML = "<p>Xin chào <strong>Nguyễn Thị Hằng</strong>,</p><p>Bạn còn 2 học phần bắt buộc.</p>"


def _parts(msg) -> tuple[str, str | None]:
    text = msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",))
    return text, html_part.get_content() if html_part is not None else None


def test_mail_goes_to_the_smtp_server_in_utf8(app, outbox):
    with app.app_context():
        job = send_mail("hang.nt@haiphong.gov.vn", SUBJECT, TEXT, HTML)
    if isinstance(job, jobs.LocalJob):  # no Redis: sent during the call
        assert job.status == "finished", job.error
    (msg,) = outbox.wait(1)
    envelope = outbox.envelopes[0]
    assert envelope.rcpt_tos == ["hang.nt@haiphong.gov.vn"]
    assert envelope.mail_from == "no-reply@haiphong.local"
    raw = envelope.original_content
    assert max(raw) < 128, "headers and bodies are 7-bit clean on the wire"
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n", 1)[0]  # RFC 2047 encoded subject and sender
    assert msg["Subject"] == SUBJECT
    assert msg["From"].addresses[0].display_name == "Học vụ số Hải Phòng"
    assert msg["To"] == "hang.nt@haiphong.gov.vn"
    assert msg["Message-ID"] and msg["Date"] and msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = _parts(msg)
    assert text.replace("\r\n", "\n") == TEXT
    assert html.strip() == HTML
    assert msg.get_body(("plain",)).get_content_charset() == "utf-8"


def test_text_only_mail_and_several_recipients(app, outbox):
    with app.app_context():
        send_mail(["a@example.vn", "Trần Văn Bình <b@example.vn>"], "Thông báo", "Nội dung.\n")
    (msg,) = outbox.wait(1)
    assert sorted(outbox.envelopes[0].rcpt_tos) == ["a@example.vn", "b@example.vn"]
    assert msg.get_content_type() == "text/plain"
    assert [a.display_name for a in msg["To"].addresses] == ["", "Trần Văn Bình"]
    assert msg.get_content().replace("\r\n", "\n") == "Nội dung.\n"


def test_smtp_login_when_a_username_is_configured(app, smtp_server, monkeypatch):
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port,
                       "MAIL_USERNAME": "lms@haiphong.gov.vn",
                       "MAIL_PASSWORD": "mat-khau-smtp"}.items():
        monkeypatch.setitem(app.config, key, value)
    with app.app_context():
        deliver("an@example.vn", "Đăng nhập SMTP", "Thử.\n")  # directly, as the job does
        app.config["MAIL_PASSWORD"] = "sai"
        with pytest.raises(smtplib.SMTPAuthenticationError):
            deliver("an@example.vn", "Đăng nhập SMTP", "Thử.\n")
    assert smtp_server.logins == ["lms@haiphong.gov.vn"]
    assert len(smtp_server.envelopes) == 1


def test_without_mail_server_messages_are_written_as_eml(app, mail_log, smtp_server):
    with app.app_context():
        send_mail("an@example.vn", SUBJECT, TEXT, HTML)
    deadline = time.time() + 20  # a worker writes it when Redis is configured
    while not list(mail_log.glob("*.eml")) and time.time() < deadline:
        time.sleep(0.05)
    (path,) = list(mail_log.glob("*.eml"))
    msg = message_from_bytes(path.read_bytes(), policy=default)
    assert msg["Subject"] == SUBJECT and msg["To"] == "an@example.vn"
    text, html = _parts(msg)
    assert text.replace("\r\n", "\n") == TEXT and html.strip() == HTML
    assert not list(mail_log.glob(".*.tmp"))
    assert smtp_server.envelopes == []  # nothing went out


def test_delivery_errors_are_job_failures(app, monkeypatch):
    # The in-process job runner (the embedded default) in every run; with Redis a failed
    # delivery is an RQ failure retried by RQ (jobs.enqueue).
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", _free_port())  # nobody listens there
    with app.app_context():
        job = send_mail("an@example.vn", "Không gửi được", "Thử.\n")
    assert job.status == "failed" and "ConnectionRefusedError" in job.error


def test_render_mail_reads_template_files(app):
    user = SimpleNamespace(name="Lê <Văn> Cường", email="cuong@example.vn")
    with app.app_context():
        mail = render_mail("password_changed", user=user, when="08:30 ngày 01/07/2025",
                           forgot_link="https://hocvuso.example.vn/forgot")
    assert mail.subject == "Mật khẩu Học vụ số Hải Phòng của bạn vừa được thay đổi"
    assert "Xin chào Lê <Văn> Cường," in mail.text  # plain text is not HTML-escaped
    assert "Lê &lt;Văn&gt; Cường" in mail.html  # the HTML part is
    assert "<title>Mật khẩu Học vụ số Hải Phòng của bạn vừa được thay đổi</title>" in mail.html
    subject, text, html = mail  # unpacks into send_mail(to, *mail)
    assert text.endswith("\n") and not text.startswith("\n")


def test_render_mail_without_html_template(app, monkeypatch):
    loader = ChoiceLoader([DictLoader({
        "mail/nhac_hoc.txt": '{% set subject = "Nhắc học: " ~ course %}Còn {{ days }} ngày.',
    }), app.jinja_env.loader])
    monkeypatch.setattr(app.jinja_env, "loader", loader)
    with app.app_context():
        mail = render_mail("nhac_hoc", course="An toàn thông tin", days=3)
        assert mail == ("Nhắc học: An toàn thông tin", "Còn 3 ngày.\n", None)
        with pytest.raises(ValueError, match="no subject"):
            monkeypatch.setattr(app.jinja_env, "loader", ChoiceLoader([
                DictLoader({"mail/x.txt": "Không có tiêu đề"}), app.jinja_env.loader]))
            render_mail("x")
