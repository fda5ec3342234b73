"""Tests for lms.scorm.duration (SCORM 2004 timeinterval, SCORM 1.2 CMITimespan)."""

from __future__ import annotations

import pytest

from lms.scorm.duration import (
    format_cmi_timespan,
    format_duration,
    format_iso_duration,
    parse_cmi_timespan,
    parse_duration,
    parse_iso_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT0S", 0),
        ("PT0H0M0S", 0),  # scorm-again's default session_time
        ("PT1H2M3.5S", 3723.5),
        ("PT5M12S", 312),
        ("PT1M2.25S", 62.25),
        ("PT0.01S", 0.01),
        ("PT90M", 5400),
        ("PT100H", 360000),
        ("P1DT2H", 93600),
        ("P1D", 86400),
        ("P1Y", 365 * 86400),
        ("P1M", 30 * 86400),
        ("P1Y2M3DT4H5M6.78S", 365 * 86400 + 60 * 86400 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6.78),
        ("PT1H", 3600),
    ],
)
def test_parse_iso_duration(text, seconds):
    assert parse_iso_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P",
        "PT",
        "P1DT",
        "PT1.123S",  # (second,10,2): at most two decimals
        "PT1.S",
        "PT.5S",
        "PT1.5M",  # only seconds may be fractional
        "P1W",  # weeks are not in the SCORM format
        "PT-5S",
        "-PT5S",
        "pt5s",
        "PT5S ",
        "1H2M",
        "00:05:00",
        "PT1S2M",  # wrong order
        "P1H",  # hours need T
        "PT1H2H",
        "PT１S",  # non-ASCII digit
    ],
)
def test_parse_iso_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_iso_duration(text)


def test_parse_iso_duration_rejects_non_str():
    with pytest.raises(ValueError):
        parse_iso_duration(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "PT0S"),
        (0.0, "PT0S"),
        (3723.5, "PT1H2M3.5S"),
        (3600, "PT1H"),
        (60, "PT1M"),
        (3.25, "PT3.25S"),
        (3.05, "PT3.05S"),
        (0.004, "PT0S"),  # rounds to centiseconds
        (59.999, "PT1M"),
        (90000, "PT25H"),  # hours are not rolled into days
        (3601.1, "PT1H1.1S"),
    ],
)
def test_format_iso_duration(seconds, text):
    assert format_iso_duration(seconds) == text


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan"), float("inf"), "5", None, True])
def test_format_rejects_bad_seconds(bad):
    with pytest.raises(ValueError):
        format_iso_duration(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_cmi_timespan(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:00:00", 0),
        ("00:05:12.5", 312.5),
        ("0000:12:30.25", 750.25),
        ("01:22:30.25", 4950.25),
        ("123:00:00", 442800),
        ("9999:59:59.99", 9999 * 3600 + 3599.99),
        ("00:00:00.1", 0.1),
    ],
)
def test_parse_cmi_timespan(text, seconds):
    assert parse_cmi_timespan(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12345:00:00",
        "00:5:00",
        "00:60:00",
        "00:00:60",
        "00:00:00.123",
        "00:00:00.",
        "00:00",
        "PT5M",
        "-01:00:00",
        "01:00:00 ",
        "aa:bb:cc",
    ],
)
def test_parse_cmi_timespan_rejects(text):
    with pytest.raises(ValueError):
        parse_cmi_timespan(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0000:00:00.00"),
        (3723.5, "0001:02:03.50"),
        (750.25, "0000:12:30.25"),
        (59.999, "0000:01:00.00"),
        (36000000, "9999:59:59.99"),  # clamped to the CMITimespan maximum
    ],
)
def test_format_cmi_timespan(seconds, text):
    assert format_cmi_timespan(seconds) == text


@pytest.mark.parametrize(
    "seconds", [0, 0.01, 1, 59.99, 60, 61.5, 3599.99, 3600, 3723.5, 86400, 123456.78]
)
def test_round_trips(seconds):
    assert parse_iso_duration(format_iso_duration(seconds)) == pytest.approx(seconds)
    assert parse_cmi_timespan(format_cmi_timespan(seconds)) == pytest.approx(seconds)
    for version in ("1.2", "2004"):
        assert parse_duration(version, format_duration(version, seconds)) == pytest.approx(seconds)


def test_version_dispatch():
    assert parse_duration("1.2", "00:01:00") == 60
    assert parse_duration("2004", "PT1M") == 60
    assert format_duration("1.2", 60) == "0000:01:00.00"
    assert format_duration("2004", 60) == "PT1M"
    with pytest.raises(ValueError):
        parse_duration("1.2", "PT1M")
    with pytest.raises(ValueError):
        parse_duration("2004", "00:01:00")
    with pytest.raises(ValueError):
        parse_duration("1.3", "PT1M")
    with pytest.raises(ValueError):
        format_duration("3rd", 1)
