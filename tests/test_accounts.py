"""Self-registration (phone or email), login by either, and login rate limiting."""

from __future__ import annotations

import pytest

from lms.accounts import normalise_phone, split_contact
from lms.extensions import db
from lms.models import User
from lms.units import seed_units

from .conftest import csrf_token, make_user


@pytest.mark.parametrize(("typed", "expected"), [
    ("0912345678", "0912345678"), ("091 234 5678", "0912345678"), ("+84912345678", "0912345678"),
    ("84912345678", "0912345678"), ("091-234-5678", "0912345678"),
    ("12345", None), ("09123456789", None), ("abc", None), ("", None),
])
def test_phone_normalisation(typed, expected):
    assert normalise_phone(typed) == expected


def test_split_contact():
    assert split_contact(" An@Example.VN ") == ("an@example.vn", None)
    assert split_contact("0912 345 678") == (None, "0912345678")



def _logout(client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 302


def _register(client, **fields):
    page = client.get("/register").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "password": "mat-khau-123", "password2": "mat-khau-123",
            "birth_year": "1962", "name": "Trần Thị Lan", **fields}
    return client.post("/register", data=data)


def test_citizen_registers_with_phone_and_logs_in(app, client):
    with app.app_context():
        seed_units()
        from lms.models import Unit

        le_ich_moc = db.session.scalar(db.select(Unit).where(Unit.name.like("%Lê Ích Mộc%")))
        unit_id = le_ich_moc.id
    r = _register(client, contact="091 234 5678", residence=str(unit_id))
    assert r.status_code == 302
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.phone == "0912345678"))
        assert user.email is None and user.birth_year == 1962
        assert user.residence_unit_id == unit_id and user.role == "learner"
    _logout(client)
    page = client.get("/login").get_data(as_text=True)
    r = client.post("/login", data={"email": "+84912345678", "password": "mat-khau-123",
                                    "csrf_token": csrf_token(page)})
    assert r.status_code == 302
    # The same number cannot register twice.
    _logout(client)
    again = _register(client, contact="0912345678", residence=str(unit_id))
    assert "đã được đăng ký" in again.get_data(as_text=True)


@pytest.mark.parametrize(("fields", "message"), [
    ({"contact": "12345"}, "số điện thoại di động 10 số"),
    ({"contact": "a@b"}, "Email không hợp lệ."),
    ({"contact": "0987654321", "password2": "khac-nhau-1"}, "Hai mật khẩu không khớp."),
    ({"contact": "0987654321", "password": "ngan", "password2": "ngan"}, "ít nhất 8 ký tự"),
    ({"contact": "0987654321", "birth_year": "1850"}, "Năm sinh không hợp lệ."),
    ({"contact": "0987654321", "residence": "0"}, "Vui lòng chọn nơi ở."),
])
def test_registration_errors_are_clear(app, client, fields, message):
    with app.app_context():
        seed_units()
        from lms.models import Unit

        unit_id = db.session.scalar(db.select(Unit.id).where(Unit.kind == "xa").limit(1))
    data = {"residence": str(unit_id), **fields}
    r = _register(client, **data)
    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_brute_force_login_is_rate_limited_in_vietnamese(app, client):
    with app.app_context():
        make_user("nan-nhan@example.vn")
    page = client.get("/login").get_data(as_text=True)
    token = csrf_token(page)
    codes = [client.post("/login", data={"email": "nan-nhan@example.vn", "password": f"sai-{n}",
                                         "csrf_token": token}).status_code for n in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    r = client.post("/login", data={"email": "nan-nhan@example.vn", "password": "mat-khau-123",
                                    "csrf_token": token})
    assert r.status_code == 429  # even the right password waits: the account is locked a while
    assert "Bạn đã thử quá nhiều lần" in r.get_data(as_text=True)
    # Another account from the same address is not locked by this one.
    with app.app_context():
        make_user("nguoi-khac@example.vn")
    r = client.post("/login", data={"email": "nguoi-khac@example.vn", "password": "mat-khau-123",
                                    "csrf_token": token})
    assert r.status_code == 302
