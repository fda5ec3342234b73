"""Certificate serial numbers: HP-<year>-XXXX-XXXX.

The eight characters after the year are Crockford base-32 (no I, L, O, U): seven random ones and
a check character (Luhn mod 32 over the year and the random part), so a typo on the public
verification page is caught before the database is asked. 32^7 ≈ 3.4·10^10 serials per year,
drawn with `secrets`, so serials cannot be guessed; the unique constraint decides on a clash.
"""

from __future__ import annotations

import re
import secrets
from datetime import date

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_PATTERN = re.compile(r"^HP-(\d{4})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})$")


def check_char(payload: str) -> str:
    """Luhn mod N (N = 32) check character for `payload` (digits and alphabet characters)."""
    total, factor = 0, 2
    for ch in reversed(payload):
        addend = factor * _VALUE[ch]
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def new_serial(today: date | None = None) -> str:
    year = (today or date.today()).year
    body = "".join(secrets.choice(ALPHABET) for _ in range(7))
    full = body + check_char(f"{year}{body}")
    return f"HP-{year}-{full[:4]}-{full[4:]}"


def normalise(text: str) -> str | None:
    """The canonical serial for what someone typed (case, spaces, O/0 and I/L/1 forgiven), or
    None if it is not a well-formed serial with a correct check character."""
    compact = re.sub(r"[\s-]", "", (text or "").upper()).translate(_READ_AS)
    if not compact.startswith("HP") or len(compact) != 14:
        return None
    candidate = f"HP-{compact[2:6]}-{compact[6:10]}-{compact[10:]}"
    match = _PATTERN.match(candidate)
    if not match:
        return None
    year, a, b = match.groups()
    body = (a + b)[:7]
    return candidate if check_char(f"{year}{body}") == (a + b)[7] else None
