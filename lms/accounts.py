"""Account rules shared by self-registration, login and (later) bulk imports."""

from __future__ import annotations

import re

from sqlalchemy import or_, select

from .extensions import db
from .models import User

_PHONE_CHARS = re.compile(r"[\s.\-()]")
_VN_MOBILE = re.compile(r"0\d{9}")


def normalise_phone(value: str) -> str | None:
    """Vietnamese numbers as 10 digits starting with 0 (+84 / 84 prefixes accepted)."""
    digits = _PHONE_CHARS.sub("", value or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _VN_MOBILE.fullmatch(digits) else None


def split_contact(value: str) -> tuple[str | None, str | None]:
    """(email, phone) from what a person typed in one "email or phone" box."""
    value = (value or "").strip()
    if "@" in value:
        return value.lower(), None
    return None, normalise_phone(value)


def find_by_contact(value: str) -> User | None:
    email, phone = split_contact(value)
    if not email and not phone:
        return None
    return db.session.scalar(
        select(User).where(or_(User.email == email, User.phone == phone) if email and phone
                           else (User.email == email) if email else (User.phone == phone))
    )
