"""Status rules of SCORM 1.2 and SCORM 2004 (4th ed.), as pure functions.

SCO level (:func:`evaluate`), from the ``clean`` dict of one validated commit:

SCORM 1.2 -- ``cmi.core.lesson_status`` is the only status.  Mastery score rule
(RTE 3.4.4 / Conformance Requirements for cmi.core.lesson_status): when the
learner takes the SCO for credit, the manifest has ``adlcp:masteryscore`` and the
SCO set ``cmi.core.score.raw``, the LMS sets ``passed`` (raw >= mastery) or
``failed``; the conformance requirements exempt a status the SCO explicitly set
to ``incomplete`` (the SCO says it is still in progress), and so do we.  No
change with ``no-credit``.  The effective lesson_status is then mapped with
``datamodel.LESSON_STATUS_MAP``: passed -> completed+passed, failed ->
completed+failed (finished but not mastered; what most LMSs report), completed
-> completed+unknown, incomplete and browsed -> incomplete+unknown, not attempted
(or unset) -> not attempted+unknown.  ``score_scaled`` for 1.2 is
``(raw - min) / (max - min)`` with min defaulting to 0 and max to 100, clamped
to [0, 1] (None without a raw score or when max <= min).

SCORM 2004 -- RTE 4.2.4.1 (Table 4.2.4.1a) and 4.2.22.1: if a completion
threshold is defined, completion is ``completed``/``incomplete`` by
progress_measure >= threshold, or ``unknown`` when no progress_measure was set
(the SCO's own completion_status is ignored in both cases); without a threshold
the SCO's completion_status (``unknown`` if unset) counts.  Success works the
same way with scaled_passing_score vs score.scaled.  ``credit`` does not change
2004 evaluation.

Attempts: SCORM 1.2 leaves attempt semantics to the LMS; we use the 2004 rule for
both versions -- an exit other than ``suspend`` at termination ("", ``normal``,
``logout``, ``time-out``) ends the attempt.  ``attempt_ended`` describes the exit
value; it only has that effect on the terminating commit (the caller decides).

Package level (:func:`rollup`): see its docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

from .datamodel import LESSON_STATUS_MAP
from .duration import parse_duration

__all__ = [
    "CompletionFallback",
    "Rollup",
    "ScoDefinition",
    "ScoOutcome",
    "ScoProgress",
    "evaluate",
    "next_entry",
    "rollup",
]


@dataclass(frozen=True)
class ScoDefinition:
    version: str  # "1.2" | "2004"
    mastery_score: float | None = None  # 1.2 adlcp:masteryscore (0-100)
    completion_threshold: float | None = None  # 2004 minProgressMeasure
    scaled_passing_score: float | None = None  # 2004


@dataclass(frozen=True)
class ScoOutcome:
    completion_status: str  # "completed" | "incomplete" | "not attempted" | "unknown"
    success_status: str  # "passed" | "failed" | "unknown"
    score_scaled: float | None
    score_raw: float | None
    session_seconds: float
    exit: str
    suspended: bool
    attempt_ended: bool
    lesson_status: str | None  # 1.2 only: effective cmi.core.lesson_status


@dataclass(frozen=True)
class Rollup:
    completion_status: str
    success_status: str
    score_scaled: float | None
    total_seconds: float
    decided_by: str  # "content" | "platform"


@dataclass(frozen=True)
class CompletionFallback:
    mode: str = "none"  # "none" | "all_launched_and_exited" | "minutes"
    minutes: float | None = None


@dataclass(frozen=True)
class ScoProgress:
    outcome: ScoOutcome | None  # None if never launched
    total_seconds: float
    launched: bool
    exited: bool


def _number(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _seconds(version: str, value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return parse_duration(version, value)
    except ValueError:
        return 0.0


def _scaled_from_raw(raw: float | None, low: float | None, high: float | None) -> float | None:
    if raw is None:
        return None
    low = 0.0 if low is None else low
    high = 100.0 if high is None else high
    if high <= low:
        return None
    return min(1.0, max(0.0, (raw - low) / (high - low)))


def _evaluate_12(defn: ScoDefinition, clean: dict[str, str], credit: str) -> ScoOutcome:
    status = clean.get("cmi.core.lesson_status", "") or "not attempted"
    raw = _number(clean.get("cmi.core.score.raw"))
    if (
        credit == "credit"
        and defn.mastery_score is not None
        and raw is not None
        and status != "incomplete"
    ):
        status = "passed" if raw >= defn.mastery_score else "failed"
    completion, success = LESSON_STATUS_MAP.get(status, ("unknown", "unknown"))
    exit_value = clean.get("cmi.core.exit", "")
    return ScoOutcome(
        completion_status=completion,
        success_status=success,
        score_scaled=_scaled_from_raw(
            raw,
            _number(clean.get("cmi.core.score.min")),
            _number(clean.get("cmi.core.score.max")),
        ),
        score_raw=raw,
        session_seconds=_seconds("1.2", clean.get("cmi.core.session_time")),
        exit=exit_value,
        suspended=exit_value == "suspend",
        attempt_ended=exit_value != "suspend",
        lesson_status=status,
    )


def _judge(
    clean: dict[str, str], status_key: str, measure_key: str, threshold: float | None,
    verdicts: tuple[str, str],
) -> str:
    """2004 RTE: with a threshold from the manifest the measure decides (unknown without one);
    without a threshold the content's own status stands."""
    if threshold is None:
        return clean.get(status_key, "") or "unknown"
    measure = _number(clean.get(measure_key))
    if measure is None:
        return "unknown"
    return verdicts[0] if measure >= threshold else verdicts[1]


def _evaluate_2004(defn: ScoDefinition, clean: dict[str, str]) -> ScoOutcome:
    completion = _judge(
        clean, "cmi.completion_status", "cmi.progress_measure", defn.completion_threshold,
        ("completed", "incomplete"),
    )
    success = _judge(
        clean, "cmi.success_status", "cmi.score.scaled", defn.scaled_passing_score,
        ("passed", "failed"),
    )
    exit_value = clean.get("cmi.exit", "")
    return ScoOutcome(
        completion_status=completion,
        success_status=success,
        score_scaled=_number(clean.get("cmi.score.scaled")),
        score_raw=_number(clean.get("cmi.score.raw")),
        session_seconds=_seconds("2004", clean.get("cmi.session_time")),
        exit=exit_value,
        suspended=exit_value == "suspend",
        attempt_ended=exit_value != "suspend",
        lesson_status=None,
    )


def evaluate(defn: ScoDefinition, clean: dict[str, str], credit: str = "credit") -> ScoOutcome:
    """Status of one SCO after a commit (``clean`` from ``validate_commit``)."""
    if defn.version == "1.2":
        return _evaluate_12(defn, clean, credit)
    if defn.version == "2004":
        return _evaluate_2004(defn, clean)
    raise ValueError(f"unknown SCORM version {defn.version!r}")


def next_entry(version: str, exit: str, attempt_ended: bool) -> str:
    """``cmi.core.entry`` / ``cmi.entry`` for the next launch of the same SCO.

    ``resume`` iff the previous session exited with ``suspend`` (1.2 RTE
    3.4.4 cmi.core.exit/entry; 2004 RTE 4.2.8) and the attempt is still open;
    ``ab-initio`` when the next launch starts a new attempt; otherwise "" (a
    re-entry into an open attempt that was not suspended, e.g. a session that
    never terminated).
    """
    if version not in ("1.2", "2004"):
        raise ValueError(f"unknown SCORM version {version!r}")
    if exit == "suspend" and not attempt_ended:
        return "resume"
    if attempt_ended:
        return "ab-initio"
    return ""


_NO_FALLBACK = CompletionFallback()


def _done(outcome: ScoOutcome | None) -> bool:
    if outcome is None:
        return False
    return outcome.completion_status == "completed" or outcome.success_status == "passed"


def rollup(scos: list[ScoProgress], fallback: CompletionFallback = _NO_FALLBACK) -> Rollup:
    """Package status from its SCOs.

    * completion (content): ``completed`` iff there is at least one SCO and every
      SCO is completed or passed; else ``incomplete`` if any SCO was launched or
      reported, else ``not attempted``.
    * success: ``failed`` if any SCO failed; ``passed`` if at least one SCO
      reports a success status and all that do passed; else ``unknown``.
    * score: mean of the known scaled scores (None if none); time: sum of totals.
    * platform fallback, only when the content rollup is not ``completed``:
      ``all_launched_and_exited`` -- every SCO launched and exited;
      ``minutes`` -- summed time >= minutes.  It then reports ``completed`` with
      ``decided_by="platform"`` (success is never decided by the platform).
    """
    outcomes = [p.outcome for p in scos if p.outcome is not None]
    total = float(sum(p.total_seconds for p in scos))

    if scos and all(_done(p.outcome) for p in scos):
        completion = "completed"
    elif any(p.launched for p in scos) or outcomes:
        completion = "incomplete"
    else:
        completion = "not attempted"

    known = [o.success_status for o in outcomes if o.success_status in ("passed", "failed")]
    if "failed" in known:
        success = "failed"
    elif known:
        success = "passed"
    else:
        success = "unknown"

    scores = [o.score_scaled for o in outcomes if o.score_scaled is not None]
    score = sum(scores) / len(scores) if scores else None

    decided_by = "content"
    if completion != "completed" and scos:
        if fallback.mode == "all_launched_and_exited":
            applies = all(p.launched and p.exited for p in scos)
        elif fallback.mode == "minutes":
            applies = fallback.minutes is not None and total >= fallback.minutes * 60
        elif fallback.mode == "none":
            applies = False
        else:
            raise ValueError(f"unknown completion fallback mode {fallback.mode!r}")
        if applies:
            completion, decided_by = "completed", "platform"
    return Rollup(completion, success, score, total, decided_by)
