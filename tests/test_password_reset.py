"""Password reset by an emailed one-time link, with the mail going through a real SMTP server
on localhost: the whole flow, expiry, one-time use, no account enumeration, phone-only
accounts, imported accounts getting their first password, rate limits."""

from __future__ import annotations

import re
import time

from itsdangerous.timed import TimestampSigner

from lms.extensions import db
from lms.models import AuditLog, User
from lms.people_import import UNUSABLE_PASSWORD
from lms.security import hash_password

from .conftest import csrf_token, make_user

LINK = re.compile(r"https?://[^\s\"<>]+/reset/[A-Za-z0-9_.\-]+")
SENT_EMAIL = "Nếu email này thuộc một tài khoản, chúng tôi đã gửi liên kết đặt lại mật khẩu"
SENT_PHONE = "Hiện chưa thể đặt lại mật khẩu qua tin nhắn điện thoại."
INVALID = "Liên kết không còn hiệu lực"


def _request_reset(client, contact: str, **kwargs):
    # the same Host on both requests: the test client keeps the session cookie per host
    page = client.get("/forgot", headers=kwargs.get("headers")).get_data(as_text=True)
    return client.post("/forgot", data={"contact": contact, "csrf_token": csrf_token(page)},
                       **kwargs)


def _link(msg) -> str:
    text = msg.get_body(("plain",)).get_content()
    links = LINK.findall(text)
    assert len(links) == 1, text
    html = msg.get_body(("html",)).get_content()
    assert links[0] in html  # the HTML part carries the same link
    return links[0]


def _path(link: str) -> str:
    return "/reset/" + link.rsplit("/reset/", 1)[1]


def _set_password(client, path: str, password: str, again: str | None = None):
    page = client.get(path)
    token = csrf_token(page.get_data(as_text=True))
    return client.post(path, data={"password": password, "password2": again or password,
                                   "csrf_token": token})


def _login(client, contact: str, password: str) -> int:
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"email": contact, "password": password,
                                       "csrf_token": csrf_token(page)}).status_code


def _logout(client) -> None:
    page = client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(page)})


def _make_account(email: str | None, phone: str | None = None,
                  password_hash: str | None = None) -> int:
    user = User(email=email, phone=phone, name="Phạm Thị Thu", role="learner",
                password_hash=password_hash or hash_password("mat-khau-cu-1"))
    db.session.add(user)
    db.session.commit()
    return user.id


def test_login_page_links_to_password_reset(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<a href="/forgot">Quên mật khẩu?</a>' in page
    form = client.get("/forgot").get_data(as_text=True)
    assert "Quên mật khẩu" in form and 'name="csrf_token"' in form
    # Without the CSRF token the form is refused.
    assert client.post("/forgot", data={"contact": "a@example.vn"}).status_code == 400


def test_full_reset_flow_through_smtp(app, client, outbox):
    with app.app_context():
        user_id = make_user("an@example.vn")
    r = _request_reset(client, " An@Example.VN ")
    assert r.status_code == 200 and SENT_EMAIL in r.get_data(as_text=True)
    (msg,) = outbox.wait(1)
    assert outbox.envelopes[0].rcpt_tos == ["an@example.vn"]
    assert msg["Subject"] == "Đặt lại mật khẩu Học vụ số Hải Phòng"
    assert "Xin chào Nguyễn Văn An," in msg.get_body(("plain",)).get_content()
    link = _link(msg)
    assert link.startswith("http://localhost/reset/")
    path = _path(link)

    page = client.get(path)
    assert page.status_code == 200 and "Đặt mật khẩu mới" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page.headers["Cache-Control"]
    # Same strength rules as sign-up.
    r = _set_password(client, path, "ngan", "ngan")
    assert "Mật khẩu cần ít nhất 8 ký tự." in r.get_data(as_text=True)
    r = _set_password(client, path, "mat-khau-moi-1", "mat-khau-khac")
    assert "Hai mật khẩu không khớp." in r.get_data(as_text=True)
    r = _set_password(client, path, "mat-khau-moi-1")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Đã đổi mật khẩu. Bạn đã được đăng nhập bằng mật khẩu mới." in home

    # The owner is told the password changed.
    messages = outbox.wait(2)
    assert messages[1]["Subject"] == "Mật khẩu Học vụ số Hải Phòng của bạn vừa được thay đổi"

    _logout(client)
    assert _login(client, "an@example.vn", "mat-khau-123") == 200  # the old one is gone
    assert _login(client, "an@example.vn", "mat-khau-moi-1") == 302
    _logout(client)

    # The link worked once.
    again = client.get(path)
    assert again.status_code == 400 and INVALID in again.get_data(as_text=True)
    r = client.post(path, data={"password": "ke-gian-123", "password2": "ke-gian-123",
                                "csrf_token": csrf_token(client.get("/forgot").get_data(
                                    as_text=True))})
    assert r.status_code == 400
    assert _login(client, "an@example.vn", "mat-khau-moi-1") == 302
    with app.app_context():
        entry = db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "user.password_reset"))
        assert entry.target_id == str(user_id) and entry.actor_id == user_id
        assert entry.before == {"password": "set"}
        assert entry.after == {"password": "set", "via": "email_link"}
        assert "mat-khau" not in str(entry.before) + str(entry.after)


def test_link_expires_after_one_hour(app, client, outbox, monkeypatch):
    with app.app_context():
        make_user("het-han@example.vn")
    _request_reset(client, "het-han@example.vn")
    path = _path(_link(outbox.wait(1)[0]))
    now = time.time()
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(now) + 3590)
    assert client.get(path).status_code == 200  # 59 minutes later: still valid
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(now) + 3610)
    r = client.get(path)
    assert r.status_code == 400 and INVALID in r.get_data(as_text=True)
    r = _set_password_expired(client, path)
    assert r.status_code == 400
    monkeypatch.undo()
    assert _login(client, "het-han@example.vn", "mat-khau-123") == 302


def _set_password_expired(client, path):
    token = csrf_token(client.get("/forgot").get_data(as_text=True))
    return client.post(path, data={"password": "mat-khau-moi-1", "password2": "mat-khau-moi-1",
                                   "csrf_token": token})


def test_tampered_or_foreign_tokens_are_refused(app, client, outbox):
    with app.app_context():
        make_user("b@example.vn")
    _request_reset(client, "b@example.vn")
    path = _path(_link(outbox.wait(1)[0]))
    head, sig = path.rsplit(".", 1)
    forged = head + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    assert client.get(forged).status_code == 400
    assert client.get("/reset/khong-phai-token").status_code == 400
    # A link signed with another key (another deployment) is worthless here.
    app.config["SECRET_KEY"] = "khoa-khac"
    assert client.get(path).status_code == 400


def test_unknown_account_gets_the_same_answer_and_no_mail(app, client, outbox):
    with app.app_context():
        make_user("co-that@example.vn")
    unknown = _request_reset(client, "khong-co@example.vn")
    known = _request_reset(client, "co-that@example.vn")
    assert unknown.status_code == known.status_code == 200
    assert unknown.get_data() == known.get_data()
    # Jobs run in order: once the known account's mail is here, the unknown one sent nothing.
    outbox.wait(1)
    time.sleep(0.3)
    assert [e.rcpt_tos for e in outbox.envelopes] == [["co-that@example.vn"]]


def test_phone_only_accounts_are_told_to_ask_their_unit_manager(app, client, outbox):
    with app.app_context():
        _make_account(None, phone="0912345678")
        _make_account("co-email@example.vn", phone="0987654321")
    phone_only = _request_reset(client, "091 234 5678")
    unknown_phone = _request_reset(client, "0900000000")
    text = phone_only.get_data(as_text=True)
    assert SENT_PHONE in text and "liên hệ cán bộ quản lý đơn vị của bạn" in text
    assert phone_only.get_data() == unknown_phone.get_data()  # nothing says which exists
    # A phone number whose account has an email: the link goes to that email, same answer.
    with_email = _request_reset(client, "+84987654321")
    assert with_email.get_data() == phone_only.get_data()
    outbox.wait(1)
    time.sleep(0.3)
    assert [e.rcpt_tos for e in outbox.envelopes] == [["co-email@example.vn"]]


def test_imported_account_sets_its_first_password(app, client, outbox):
    with app.app_context():
        user_id = _make_account("can-bo@haiphong.gov.vn", password_hash=UNUSABLE_PASSWORD)
    assert _login(client, "can-bo@haiphong.gov.vn", UNUSABLE_PASSWORD) == 200  # cannot log in
    r = _request_reset(client, "can-bo@haiphong.gov.vn")
    assert SENT_EMAIL in r.get_data(as_text=True)
    (msg,) = outbox.wait(1)
    assert msg["Subject"] == "Đặt mật khẩu cho tài khoản Học vụ số Hải Phòng"
    assert "Đơn vị của bạn đã tạo sẵn tài khoản" in msg.get_body(("plain",)).get_content()
    path = _path(_link(msg))
    page = client.get(path).get_data(as_text=True)
    assert "Đặt mật khẩu lần đầu" in page and "can-bo@haiphong.gov.vn" in page
    r = _set_password(client, path, "mat-khau-dau-tien")
    assert r.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "Đã đặt mật khẩu." in home
    _logout(client)
    assert _login(client, "can-bo@haiphong.gov.vn", "mat-khau-dau-tien") == 302
    assert client.get(path).status_code == 400  # the first-password link is used up too
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.password_hash.startswith("$argon2")
        entry = db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "user.password_reset", AuditLog.target_id == str(user_id)))
        assert entry.before == {"password": "import"} and entry.actor_id == user_id


def test_links_use_public_url_not_the_host_header(app, client, outbox, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://hocvuso.haiphong.gov.vn")
    with app.app_context():
        make_user("c@example.vn")
    _request_reset(client, "c@example.vn", headers={"Host": "ke-gian.example"})
    link = _link(outbox.wait(1)[0])
    assert link.startswith("https://hocvuso.haiphong.gov.vn/reset/")


def test_reset_requests_are_rate_limited(app, client, outbox):
    with app.app_context():
        make_user("d@example.vn")
    codes = [_request_reset(client, "d@example.vn").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # 3 per hour per account: no flooding a mailbox
    r = _request_reset(client, "D@example.vn")  # typed differently, same account
    assert r.status_code == 429 and "Bạn đã thử quá nhiều lần" in r.get_data(as_text=True)
    assert _request_reset(client, "e@example.vn").status_code == 200  # another account
    outbox.wait(3)
    time.sleep(0.3)
    assert len(outbox.envelopes) == 3


def test_mail_server_down_gives_the_same_answer(app, client, monkeypatch):
    # Mail sent in-process (the embedded default) and failing: the page still says the same.
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    from .conftest import _free_port

    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", _free_port())  # nobody listens
    with app.app_context():
        make_user("f@example.vn")
    r = _request_reset(client, "f@example.vn")
    assert r.status_code == 200 and SENT_EMAIL in r.get_data(as_text=True)


def test_invalid_contact_is_explained(client):
    r = _request_reset(client, "12345")
    assert r.status_code == 200
    assert "số điện thoại di động 10 số" in r.get_data(as_text=True)
