"""Session/total time values of SCORM 1.2 and SCORM 2004.

SCORM 2004 (RTE 4.1, ``timeinterval (second,10,2)``) uses an ISO 8601 duration
``P[yY][mM][dD][T[hH][nM][s[.s]S]]`` with at most two decimals on the seconds.
Rules applied here:

* ``P`` must be followed by at least one component, and ``T`` (if present) by at
  least one time component (``"P"`` and ``"PT"`` are invalid);
* only the seconds may carry a fraction (1-2 digits); weeks (``W``) are not part
  of the SCORM format and are rejected;
* years and months are ambiguous; they are converted as 365 and 30 days.

SCORM 1.2 (RTE 3.4.2, ``CMITimespan``) is ``HHHH:MM:SS.SS``: 2-4 digit hours,
two digit minutes and seconds (00-59), optional 1-2 digit fraction of a second.

Formatting is canonical: ``format_iso_duration`` gives ``PT#H#M#S`` (zero
components omitted, hours never rolled into days, ``PT0S`` for zero) and
``format_cmi_timespan`` always gives 4-digit hours and two decimals
(``0001:02:03.50``), the widest form 1.2 allows; values above 9999:59:59.99 are
clamped to it because CMITimespan cannot express more. Both round to 0.01 s.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "format_cmi_timespan",
    "format_duration",
    "format_iso_duration",
    "parse_cmi_timespan",
    "parse_duration",
    "parse_iso_duration",
]

_ISO_RE = re.compile(
    r"P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<d>\d+)D)?"
    r"(?:(?P<t>T)(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d{1,2})?)S)?)?",
    re.ASCII,
)
# 1-4 hour digits: the standard says 2-4, but scorm-again accepts 1 and the server must never
# be stricter than the runtime (a rejected commit is lost progress).
_TIMESPAN_RE = re.compile(r"(\d{1,4}):([0-5]\d):([0-5]\d(?:\.\d{1,2})?)", re.ASCII)

_YEAR = 365 * 86400
_MONTH = 30 * 86400
_DAY = 86400
_MAX_TIMESPAN_CS = (9999 * 3600 + 59 * 60 + 59) * 100 + 99


def parse_iso_duration(value: str) -> float:
    """Seconds in a SCORM 2004 timeinterval such as ``PT1H2M3.5S``."""
    if not isinstance(value, str):
        raise ValueError(f"timeinterval must be a string, got {type(value).__name__}")
    m = _ISO_RE.fullmatch(value)
    if m is None:
        raise ValueError(f"invalid SCORM 2004 timeinterval: {value!r}")
    parts = m.groupdict()
    time_parts = (parts["h"], parts["mi"], parts["s"])
    if parts["t"] and not any(p is not None for p in time_parts):
        raise ValueError(f"invalid SCORM 2004 timeinterval (empty time part): {value!r}")
    if not any(parts[k] is not None for k in ("y", "mo", "d", "h", "mi", "s")):
        raise ValueError(f"invalid SCORM 2004 timeinterval (no component): {value!r}")
    total = 0.0
    for key, factor in (("y", _YEAR), ("mo", _MONTH), ("d", _DAY), ("h", 3600), ("mi", 60)):
        if parts[key] is not None:
            total += int(parts[key]) * factor
    if parts["s"] is not None:
        total += float(parts["s"])
    return total


def _centiseconds(seconds: float) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValueError(f"seconds must be a number, got {type(seconds).__name__}")
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite non-negative number, got {seconds!r}")
    return int(round(seconds * 100))


def format_iso_duration(seconds: float) -> str:
    """Canonical SCORM 2004 timeinterval: 3723.5 -> ``PT1H2M3.5S``, 0 -> ``PT0S``."""
    cs = _centiseconds(seconds)
    hours, rest = divmod(cs, 360000)
    minutes, rest = divmod(rest, 6000)
    secs, frac = divmod(rest, 100)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if secs or frac or out == "PT":
        sec_text = str(secs) if not frac else f"{secs}.{frac:02d}".rstrip("0")
        out += f"{sec_text}S"
    return out


def parse_cmi_timespan(value: str) -> float:
    """Seconds in a SCORM 1.2 CMITimespan such as ``0001:02:03.5``."""
    if not isinstance(value, str):
        raise ValueError(f"CMITimespan must be a string, got {type(value).__name__}")
    m = _TIMESPAN_RE.fullmatch(value)
    if m is None:
        raise ValueError(f"invalid SCORM 1.2 CMITimespan: {value!r}")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def format_cmi_timespan(seconds: float) -> str:
    """SCORM 1.2 CMITimespan with 4-digit hours and 2 decimals: ``0001:02:03.50``."""
    cs = min(_centiseconds(seconds), _MAX_TIMESPAN_CS)
    hours, rest = divmod(cs, 360000)
    minutes, rest = divmod(rest, 6000)
    secs, frac = divmod(rest, 100)
    return f"{hours:04d}:{minutes:02d}:{secs:02d}.{frac:02d}"


def _check_version(version: str) -> None:
    if version not in ("1.2", "2004"):
        raise ValueError(f"unknown SCORM version {version!r} (expected '1.2' or '2004')")


def parse_duration(version: str, value: str) -> float:
    """Parse a session/total time in the format of the given SCORM version."""
    _check_version(version)
    return parse_cmi_timespan(value) if version == "1.2" else parse_iso_duration(value)


def format_duration(version: str, seconds: float) -> str:
    """Format seconds as the given SCORM version's session/total time."""
    _check_version(version)
    return format_cmi_timespan(seconds) if version == "1.2" else format_iso_duration(seconds)
