"""Tests for lms.scorm.status (SCO evaluation, entry, package rollup)."""

from __future__ import annotations

import pytest

from lms.scorm.datamodel import validate_commit
from lms.scorm.status import (
    CompletionFallback,
    Rollup,
    ScoDefinition,
    ScoOutcome,
    ScoProgress,
    evaluate,
    next_entry,
    rollup,
)
from tests.scorm.test_datamodel import EMITTED_12_TERMINATE, EMITTED_2004_TERMINATE

D12 = ScoDefinition("1.2")
D2004 = ScoDefinition("2004")


# ------------------------------------------------------------------ SCORM 1.2
@pytest.mark.parametrize(
    ("status", "completion", "success"),
    [
        ("passed", "completed", "passed"),
        ("failed", "completed", "failed"),
        ("completed", "completed", "unknown"),
        ("incomplete", "incomplete", "unknown"),
        ("browsed", "incomplete", "unknown"),
        ("not attempted", "not attempted", "unknown"),
        ("", "not attempted", "unknown"),
    ],
)
def test_12_lesson_status_mapping(status, completion, success):
    out = evaluate(D12, {"cmi.core.lesson_status": status})
    assert (out.completion_status, out.success_status) == (completion, success)
    assert out.lesson_status == (status or "not attempted")


@pytest.mark.parametrize(
    ("status", "raw", "mastery", "credit", "expected"),
    [
        ("completed", "80", 80, "credit", "passed"),  # raw >= mastery
        ("completed", "79.99", 80, "credit", "failed"),
        ("passed", "50", 80, "credit", "failed"),  # the LMS overrides the SCO
        ("failed", "95", 80, "credit", "passed"),
        ("not attempted", "90", 80, "credit", "passed"),
        ("browsed", "10", 80, "credit", "failed"),
        ("incomplete", "95", 80, "credit", "incomplete"),  # SCO says still in progress
        ("completed", "95", 80, "no-credit", "completed"),  # no change without credit
        ("completed", "", 80, "credit", "completed"),  # no score -> no change
        ("completed", "95", None, "credit", "completed"),  # no mastery score
        ("passed", "10", None, "credit", "passed"),  # SCO-determined status kept
    ],
)
def test_12_mastery_score_rule(status, raw, mastery, credit, expected):
    clean = {"cmi.core.lesson_status": status, "cmi.core.score.raw": raw}
    out = evaluate(ScoDefinition("1.2", mastery_score=mastery), clean, credit=credit)
    assert out.lesson_status == expected


@pytest.mark.parametrize(
    ("raw", "low", "high", "scaled"),
    [
        ("80", "", "", 0.8),
        ("80", "0", "100", 0.8),
        ("15", "0", "20", 0.75),
        ("15", "10", "20", 0.5),
        ("120", "0", "100", 1.0),  # clamped
        ("", "0", "100", None),
        ("5", "10", "10", None),  # max <= min: no meaningful scale
    ],
)
def test_12_score_scaled(raw, low, high, scaled):
    clean = {"cmi.core.score.raw": raw, "cmi.core.score.min": low, "cmi.core.score.max": high}
    out = evaluate(D12, clean)
    assert out.score_scaled == (None if scaled is None else pytest.approx(scaled))
    assert out.score_raw == (float(raw) if raw else None)


def test_12_real_commit():
    clean, _ = validate_commit("1.2", EMITTED_12_TERMINATE)
    out = evaluate(ScoDefinition("1.2", mastery_score=80), clean)
    assert out == ScoOutcome(
        completion_status="completed",
        success_status="failed",
        score_scaled=pytest.approx(0.725),
        score_raw=72.5,
        session_seconds=pytest.approx(750.25),
        exit="suspend",
        suspended=True,
        attempt_ended=False,
        lesson_status="failed",
    )


@pytest.mark.parametrize(
    ("exit_value", "suspended", "ended"),
    [
        ("suspend", True, False),
        ("", False, True),
        ("logout", False, True),
        ("time-out", False, True),
    ],
)
def test_12_exit_semantics(exit_value, suspended, ended):
    out = evaluate(D12, {"cmi.core.exit": exit_value})
    assert (out.exit, out.suspended, out.attempt_ended) == (exit_value, suspended, ended)


def test_12_session_time_absent_or_bad_is_zero():
    assert evaluate(D12, {}).session_seconds == 0
    assert evaluate(D12, {"cmi.core.session_time": "0001:00:00"}).session_seconds == 3600


# ------------------------------------------------------------------ SCORM 2004
@pytest.mark.parametrize(
    ("threshold", "progress", "content", "expected"),
    [
        (0.8, "0.8", "incomplete", "completed"),  # pm >= threshold
        (0.8, "0.9", "", "completed"),
        (0.8, "0.79", "completed", "incomplete"),  # the threshold overrides the SCO
        (0.8, "", "completed", "unknown"),  # threshold but no progress measure
        (None, "0.1", "completed", "completed"),  # no threshold: SCO's value
        (None, "", "incomplete", "incomplete"),
        (None, "", "not attempted", "not attempted"),
        (None, "", "", "unknown"),
        (0.0, "0", "", "completed"),
    ],
)
def test_2004_completion_threshold(threshold, progress, content, expected):
    clean = {"cmi.progress_measure": progress, "cmi.completion_status": content}
    out = evaluate(ScoDefinition("2004", completion_threshold=threshold), clean)
    assert out.completion_status == expected


@pytest.mark.parametrize(
    ("passing", "scaled", "content", "expected"),
    [
        (0.7, "0.7", "failed", "passed"),  # scaled >= passing
        (0.7, "0.69", "passed", "failed"),
        (0.7, "", "passed", "unknown"),  # passing score but no scaled score
        (-0.5, "-0.4", "", "passed"),
        (None, "0.1", "passed", "passed"),  # no passing score: SCO's value
        (None, "", "failed", "failed"),
        (None, "", "", "unknown"),
    ],
)
def test_2004_scaled_passing_score(passing, scaled, content, expected):
    clean = {"cmi.score.scaled": scaled, "cmi.success_status": content}
    out = evaluate(ScoDefinition("2004", scaled_passing_score=passing), clean)
    assert out.success_status == expected
    assert out.lesson_status is None


@pytest.mark.parametrize(
    ("exit_value", "suspended", "ended"),
    [
        ("suspend", True, False),
        ("normal", False, True),
        ("logout", False, True),
        ("time-out", False, True),
        ("", False, True),
    ],
)
def test_2004_exit_semantics(exit_value, suspended, ended):
    out = evaluate(D2004, {"cmi.exit": exit_value})
    assert (out.exit, out.suspended, out.attempt_ended) == (exit_value, suspended, ended)


def test_2004_real_commit():
    clean, _ = validate_commit("2004", EMITTED_2004_TERMINATE)
    defn = ScoDefinition("2004", completion_threshold=0.8, scaled_passing_score=0.7)
    out = evaluate(defn, clean)
    assert (out.completion_status, out.success_status) == ("incomplete", "passed")
    assert out.score_scaled == 0.85 and out.score_raw == 85
    assert out.session_seconds == pytest.approx(3723.5)
    assert (out.exit, out.attempt_ended) == ("normal", True)


def test_2004_credit_does_not_change_evaluation():
    clean = {"cmi.score.scaled": "0.9"}
    defn = ScoDefinition("2004", scaled_passing_score=0.5)
    assert evaluate(defn, clean, "no-credit") == evaluate(defn, clean, "credit")


def test_evaluate_unknown_version():
    with pytest.raises(ValueError):
        evaluate(ScoDefinition("1.3"), {})


# ------------------------------------------------------------------ next_entry
@pytest.mark.parametrize(
    ("version", "exit_value", "ended", "entry"),
    [
        ("1.2", "suspend", False, "resume"),
        ("1.2", "", True, "ab-initio"),
        ("1.2", "logout", True, "ab-initio"),
        ("1.2", "time-out", True, "ab-initio"),
        ("1.2", "", False, ""),  # open attempt, not suspended
        ("2004", "suspend", False, "resume"),
        ("2004", "normal", True, "ab-initio"),
        ("2004", "logout", True, "ab-initio"),
        ("2004", "time-out", True, "ab-initio"),
        ("2004", "", True, "ab-initio"),
        ("2004", "", False, ""),
        ("2004", "suspend", True, "ab-initio"),  # LMS closed the attempt anyway
    ],
)
def test_next_entry(version, exit_value, ended, entry):
    assert next_entry(version, exit_value, ended) == entry


def test_next_entry_follows_evaluate():
    for version, key in (("1.2", "cmi.core.exit"), ("2004", "cmi.exit")):
        out = evaluate(ScoDefinition(version), {key: "suspend"})
        assert next_entry(version, out.exit, out.attempt_ended) == "resume"
        out = evaluate(ScoDefinition(version), {key: ""})
        assert next_entry(version, out.exit, out.attempt_ended) == "ab-initio"
    with pytest.raises(ValueError):
        next_entry("1.3", "", True)


# ------------------------------------------------------------------ rollup
def outcome(completion="unknown", success="unknown", scaled=None) -> ScoOutcome:
    return ScoOutcome(completion, success, scaled, None, 0.0, "", False, True, None)


def sco(o=None, seconds=0.0, launched=True, exited=True) -> ScoProgress:
    return ScoProgress(o, seconds, launched, exited)


def test_rollup_all_completed():
    r = rollup(
        [
            sco(outcome("completed", "passed", 0.9), 100),
            sco(outcome("completed", "unknown"), 50),
        ]
    )
    assert r == Rollup("completed", "passed", 0.9, 150.0, "content")


def test_rollup_passed_counts_as_completed():
    r = rollup([sco(outcome("unknown", "passed", 1.0)), sco(outcome("completed"))])
    assert r.completion_status == "completed"


def test_rollup_one_incomplete():
    r = rollup([sco(outcome("completed", "passed", 0.8)), sco(outcome("incomplete", scaled=0.4))])
    assert r.completion_status == "incomplete"
    assert r.score_scaled == pytest.approx(0.6)
    assert r.decided_by == "content"


def test_rollup_failed_wins():
    r = rollup([sco(outcome("completed", "passed")), sco(outcome("completed", "failed"))])
    assert (r.completion_status, r.success_status) == ("completed", "failed")


def test_rollup_no_success_reported_stays_unknown():
    r = rollup([sco(outcome("completed")), sco(outcome("completed"))])
    assert r.success_status == "unknown" and r.score_scaled is None


def test_rollup_never_launched():
    r = rollup([sco(None, launched=False, exited=False), sco(None, launched=False, exited=False)])
    assert r == Rollup("not attempted", "unknown", None, 0.0, "content")
    assert rollup([]) == Rollup("not attempted", "unknown", None, 0.0, "content")


def test_rollup_unlaunched_sco_blocks_completion():
    r = rollup([sco(outcome("completed")), sco(None, launched=False, exited=False)])
    assert r.completion_status == "incomplete"


ALL_EXITED = CompletionFallback("all_launched_and_exited")


def test_fallback_all_launched_and_exited():
    scos = [sco(outcome("unknown"), 30), sco(outcome("incomplete"), 30)]
    assert rollup(scos).decided_by == "content"
    r = rollup(scos, ALL_EXITED)
    assert (r.completion_status, r.decided_by) == ("completed", "platform")
    assert r.success_status == "unknown"  # the platform never decides success


def test_fallback_all_launched_needs_every_sco_exited():
    scos = [sco(outcome("unknown")), sco(outcome("unknown"), exited=False)]
    assert rollup(scos, ALL_EXITED) == Rollup("incomplete", "unknown", None, 0.0, "content")
    scos = [sco(outcome("unknown")), sco(None, launched=False, exited=False)]
    assert rollup(scos, ALL_EXITED).decided_by == "content"


@pytest.mark.parametrize(
    ("seconds", "minutes", "completion", "decided_by"),
    [
        (600, 10, "completed", "platform"),
        (599, 10, "incomplete", "content"),
        (7200, 90, "completed", "platform"),
        (7200, None, "incomplete", "content"),
    ],
)
def test_fallback_minutes(seconds, minutes, completion, decided_by):
    scos = [sco(outcome("unknown"), seconds / 2), sco(outcome("incomplete"), seconds / 2)]
    r = rollup(scos, CompletionFallback("minutes", minutes))
    assert (r.completion_status, r.decided_by) == (completion, decided_by)
    assert r.total_seconds == pytest.approx(seconds)


def test_fallback_not_used_when_content_completed():
    scos = [sco(outcome("completed"), 3600)]
    r = rollup(scos, CompletionFallback("minutes", 1))
    assert r.decided_by == "content"


def test_fallback_unknown_mode():
    with pytest.raises(ValueError):
        rollup([sco(outcome())], CompletionFallback("sometimes"))
