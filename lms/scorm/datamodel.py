"""Server-side validation of SCORM 1.2 / 2004 (4th ed.) run-time data commits.

What the browser runtime really sends (scorm-again 3.4.3, run in node with
``dataCommitFormat: "flattened"``, ``sendFullCommit: true``; see the fixtures in
tests/scorm/test_datamodel.py, which are verbatim outputs of that experiment):

* a flat JSON object ``{dotted element name: value}`` holding the WHOLE data
  model on every commit, not only what changed; collection indices are dotted
  (``cmi.interactions.0.id``), never ``[0]``;
* values are strings, with "" for every unset element (e.g. ``cmi.score.raw``,
  ``cmi.interactions.1.latency``).  Numbers that the SCO passes to SetValue are
  stringified, but values the LMS injected with ``loadFromJSON`` keep their JSON
  type (``"cmi.learner_id": 7``, ``"cmi.completion_threshold": 0.8``);
* an EMPTY collection is emitted as an empty object: ``"cmi.interactions": {}``,
  ``"cmi.objectives": {}``, ``"cmi.interactions.1.objectives": {}``,
  ``"cmi.interactions.1.correct_responses": {}``, ``"cmi.comments_from_lms": {}``;
* keywords (``_children``, ``_count``, ``_version``) are NOT emitted, but the
  read-only data is: 1.2 ``cmi.core.student_id/student_name/credit/entry/
  lesson_mode``, ``cmi.launch_data``, ``cmi.comments_from_lms``,
  ``cmi.student_data.*``; 2004 ``cmi.learner_id/learner_name/credit/entry/mode/
  launch_data/completion_threshold/scaled_passing_score/max_time_allowed/
  time_limit_action``, ``cmi.comments_from_lms.n.*``, ``adl.data.n.id``;
* ``cmi.core.total_time`` / ``cmi.total_time`` only on the terminating commit;
* defaults it fills in: 1.2 ``cmi.core.lesson_status: "not attempted"``,
  ``cmi.core.session_time: "00:00:00"``, ``cmi.core.score.max: "100"``;
  2004 ``cmi.session_time: "PT0H0M0S"``, ``cmi.completion_status`` and
  ``cmi.success_status: "unknown"``, learner_preference ``"1"/"1"/"0"``;
* ``adl.data.*`` appears only when adl.data has entries; ``adl.nav.*`` never.

Policy implemented by :func:`validate_commit`:

* read-only / keyword / server-owned elements are dropped silently;
* "" (and JSON null) is always accepted for writable elements and means "unset";
* elements with a violation are left out of ``clean``; everything else is kept;
* where scorm-again deliberately relaxes the standard for legacy content we
  relax too, so that nothing the runtime accepted is lost (marked "relaxed").
  1.2: suspend_data up to 64000 chars (spec 4096), CMIIdentifier may contain
  spaces/any printable character (spec: no white space), student_response and
  correct_responses patterns up to 4096 chars with no per-type format check
  (spec: CMIFeedback, 255).  2004: time(second,10,0) accepts years 1970-9999
  and a time zone without fractional seconds.
* NUL characters are rejected everywhere (PostgreSQL text cannot store them).
* 2004 learner_response / correct_responses.n.pattern are checked per the
  interaction's type for true-false, choice, sequencing, likert, matching and
  numeric; fill-in, long-fill-in, performance and other (whose formats carry
  {lang=}/{case_matters=}/{order_matters=} prefixes and step structure) are
  only length-checked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .duration import parse_cmi_timespan, parse_iso_duration

__all__ = [
    "LESSON_STATUS_MAP",
    "RULES",
    "Rule",
    "Violation",
    "find_rule",
    "interactions",
    "objectives",
    "validate_commit",
]

V12 = frozenset({"1.2"})
V2004 = frozenset({"2004"})
BOTH = V12 | V2004

# ---------------------------------------------------------------- type names
KEYWORD = "keyword"
# SCORM 1.2 (RTE 3.4.2)
CMI_STRING255 = "CMIString255"
CMI_STRING4096 = "CMIString4096"
CMI_IDENTIFIER = "CMIIdentifier"
CMI_DECIMAL = "CMIDecimal"
CMI_SINTEGER = "CMISInteger"
CMI_TIMESPAN = "CMITimespan"
CMI_TIME = "CMITime"
CMI_VOCABULARY = "CMIVocabulary"
CMI_FEEDBACK = "CMIFeedback"
# SCORM 2004 4th ed. (RTE 4.1)
CHARACTERSTRING = "characterstring"
LOCALIZED_STRING = "localized_string_type"
LONG_IDENTIFIER = "long_identifier_type"
LANGUAGE = "language_type"
REAL = "real(10,7)"
TIME = "time(second,10,0)"
TIMEINTERVAL = "timeinterval(second,10,2)"
STATE = "state"
LEARNER_RESPONSE = "learner_response"
CORRECT_RESPONSE = "correct_responses.pattern"
NAV_REQUEST = "adl.nav.request"
# both: vocabulary token OR a decimal number (interaction result)
RESULT = "result"

_INDEX_RE = r"(0|[1-9][0-9]*)"
_INDEX_SEGMENT = re.compile(r"0|[1-9][0-9]*", re.ASCII)


def _compile(pattern: str) -> re.Pattern[str]:
    if pattern.endswith(".*"):
        return re.compile(re.escape(pattern[:-2]) + r"\..+", re.DOTALL)
    parts = [_INDEX_RE if seg == "n" else re.escape(seg) for seg in pattern.split(".")]
    return re.compile(r"\.".join(parts))


@dataclass(frozen=True)
class Rule:
    """One data model element (``n`` = collection index, trailing ``.*`` = any suffix)."""

    pattern: str
    versions: frozenset[str]
    type: str
    access: str = "rw"  # "ro" | "wo" | "rw"
    vocab: frozenset[str] | None = None
    max_len: int | None = None
    range: tuple[float | None, float | None] | None = None
    server_owned: bool = False  # value is supplied by the LMS at launch
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", _compile(self.pattern))

    @property
    def writable(self) -> bool:
        return self.access in ("rw", "wo") and self.type != KEYWORD


@dataclass(frozen=True)
class Violation:
    element: str
    # unknown_element | read_only | type | vocabulary | too_long | out_of_range | index_gap
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"element": self.element, "code": self.code, "message": self.message}


# ---------------------------------------------------------------- vocabularies
LESSON_STATUS_12 = frozenset(
    {"passed", "completed", "failed", "incomplete", "browsed", "not attempted"}
)
EXIT_12 = frozenset({"time-out", "suspend", "logout"})
ENTRY = frozenset({"ab-initio", "resume"})
CREDIT = frozenset({"credit", "no-credit"})
MODE = frozenset({"browse", "normal", "review"})
TIME_LIMIT_ACTION = frozenset(
    {"exit,message", "exit,no message", "continue,message", "continue,no message"}
)
INTERACTION_TYPE_12 = frozenset(
    {
        "true-false",
        "choice",
        "fill-in",
        "matching",
        "performance",
        "sequencing",
        "likert",
        "numeric",
    }
)
RESULT_12 = frozenset({"correct", "wrong", "unanticipated", "neutral"})
COMPLETION_STATUS = frozenset({"completed", "incomplete", "not attempted", "unknown"})
SUCCESS_STATUS = frozenset({"passed", "failed", "unknown"})
EXIT_2004 = frozenset({"time-out", "suspend", "logout", "normal"})
INTERACTION_TYPE_2004 = INTERACTION_TYPE_12 | {"long-fill-in", "other"}
RESULT_2004 = frozenset({"correct", "incorrect", "unanticipated", "neutral"})
AUDIO_CAPTIONING = frozenset({"-1", "0", "1"})
NAV_VALID = frozenset({"true", "false", "unknown"})

# SCORM 1.2 lesson_status / objectives.n.status -> (completion_status, success_status).
# "failed" counts as completed (the learner finished and was assessed; this is what most
# LMSs report), "browsed" as incomplete (looking at content in browse mode is not
# completing it for credit).
LESSON_STATUS_MAP: dict[str, tuple[str, str]] = {
    "passed": ("completed", "passed"),
    "failed": ("completed", "failed"),
    "completed": ("completed", "unknown"),
    "incomplete": ("incomplete", "unknown"),
    "browsed": ("incomplete", "unknown"),
    "not attempted": ("not attempted", "unknown"),
    "": ("unknown", "unknown"),
}

R = Rule
_SO = {"access": "ro", "server_owned": True}
SCORE_12 = (0.0, 100.0)

# ---------------------------------------------------------------- the table
RULES: list[Rule] = [
    # -- keywords (both versions; never stored)
    R("cmi._version", BOTH, KEYWORD, "ro"),
    R("cmi._children", BOTH, KEYWORD, "ro"),
    R("cmi.objectives._children", BOTH, KEYWORD, "ro"),
    R("cmi.objectives._count", BOTH, KEYWORD, "ro"),
    R("cmi.objectives.n.score._children", BOTH, KEYWORD, "ro"),
    R("cmi.interactions._children", BOTH, KEYWORD, "ro"),
    R("cmi.interactions._count", BOTH, KEYWORD, "ro"),
    R("cmi.interactions.n.objectives._count", BOTH, KEYWORD, "ro"),
    R("cmi.interactions.n.correct_responses._count", BOTH, KEYWORD, "ro"),
    # -- SCORM 1.2: cmi.core
    R("cmi.core._children", V12, KEYWORD, "ro"),
    R("cmi.core.score._children", V12, KEYWORD, "ro"),
    R("cmi.core.student_id", V12, CMI_IDENTIFIER, max_len=255, **_SO),
    R("cmi.core.student_name", V12, CMI_STRING255, max_len=255, **_SO),
    R("cmi.core.lesson_location", V12, CMI_STRING255, max_len=255),
    R("cmi.core.credit", V12, CMI_VOCABULARY, vocab=CREDIT, **_SO),
    R("cmi.core.lesson_status", V12, CMI_VOCABULARY, vocab=LESSON_STATUS_12),
    R("cmi.core.entry", V12, CMI_VOCABULARY, vocab=ENTRY, **_SO),
    R("cmi.core.score.raw", V12, CMI_DECIMAL, range=SCORE_12),
    R("cmi.core.score.min", V12, CMI_DECIMAL, range=SCORE_12),
    R("cmi.core.score.max", V12, CMI_DECIMAL, range=SCORE_12),
    R("cmi.core.total_time", V12, CMI_TIMESPAN, **_SO),
    R("cmi.core.lesson_mode", V12, CMI_VOCABULARY, vocab=MODE, **_SO),
    R("cmi.core.exit", V12, CMI_VOCABULARY, "wo", vocab=EXIT_12),
    R("cmi.core.session_time", V12, CMI_TIMESPAN, "wo"),
    # -- SCORM 1.2: other top level
    R("cmi.suspend_data", V12, CMI_STRING4096, max_len=64000),  # relaxed (spec 4096)
    R("cmi.launch_data", V12, CMI_STRING4096, max_len=4096, **_SO),
    R("cmi.comments", V12, CMI_STRING4096, max_len=4096),
    R("cmi.comments_from_lms", V12, CMI_STRING4096, max_len=4096, **_SO),
    R("cmi.objectives.n.id", V12, CMI_IDENTIFIER, max_len=255),
    R("cmi.objectives.n.score.raw", V12, CMI_DECIMAL, range=SCORE_12),
    R("cmi.objectives.n.score.min", V12, CMI_DECIMAL, range=SCORE_12),
    R("cmi.objectives.n.score.max", V12, CMI_DECIMAL, range=SCORE_12),
    R("cmi.objectives.n.status", V12, CMI_VOCABULARY, vocab=LESSON_STATUS_12),
    R("cmi.student_data._children", V12, KEYWORD, "ro"),
    R("cmi.student_data.mastery_score", V12, CMI_DECIMAL, range=SCORE_12, **_SO),
    R("cmi.student_data.max_time_allowed", V12, CMI_TIMESPAN, **_SO),
    R("cmi.student_data.time_limit_action", V12, CMI_VOCABULARY, vocab=TIME_LIMIT_ACTION, **_SO),
    R("cmi.student_preference._children", V12, KEYWORD, "ro"),
    R("cmi.student_preference.audio", V12, CMI_SINTEGER, range=(-1, 100)),
    R("cmi.student_preference.language", V12, CMI_STRING255, max_len=255),
    R("cmi.student_preference.speed", V12, CMI_SINTEGER, range=(-100, 100)),
    R("cmi.student_preference.text", V12, CMI_SINTEGER, range=(-1, 1)),
    # 1.2 interactions are write-only
    R("cmi.interactions.n.id", V12, CMI_IDENTIFIER, "wo", max_len=255),
    R("cmi.interactions.n.objectives.n.id", V12, CMI_IDENTIFIER, "wo", max_len=255),
    R("cmi.interactions.n.time", V12, CMI_TIME, "wo"),
    R("cmi.interactions.n.type", V12, CMI_VOCABULARY, "wo", vocab=INTERACTION_TYPE_12),
    # relaxed: CMIFeedback is 255 characters in the spec
    R("cmi.interactions.n.correct_responses.n.pattern", V12, CMI_FEEDBACK, "wo", max_len=4096),
    R("cmi.interactions.n.weighting", V12, CMI_DECIMAL, "wo"),
    R("cmi.interactions.n.student_response", V12, CMI_FEEDBACK, "wo", max_len=4096),
    R("cmi.interactions.n.result", V12, RESULT, "wo", vocab=RESULT_12),
    R("cmi.interactions.n.latency", V12, CMI_TIMESPAN, "wo"),
    # -- SCORM 2004 4th ed.
    R("cmi.comments_from_learner._children", V2004, KEYWORD, "ro"),
    R("cmi.comments_from_learner._count", V2004, KEYWORD, "ro"),
    R("cmi.comments_from_learner.n.comment", V2004, LOCALIZED_STRING, max_len=4000),
    R("cmi.comments_from_learner.n.location", V2004, CHARACTERSTRING, max_len=250),
    R("cmi.comments_from_learner.n.timestamp", V2004, TIME),
    R("cmi.comments_from_lms._children", V2004, KEYWORD, "ro"),
    R("cmi.comments_from_lms._count", V2004, KEYWORD, "ro"),
    R("cmi.comments_from_lms.n.comment", V2004, LOCALIZED_STRING, max_len=4000, **_SO),
    R("cmi.comments_from_lms.n.location", V2004, CHARACTERSTRING, max_len=250, **_SO),
    R("cmi.comments_from_lms.n.timestamp", V2004, TIME, **_SO),
    R("cmi.completion_status", V2004, STATE, vocab=COMPLETION_STATUS),
    R("cmi.completion_threshold", V2004, REAL, range=(0, 1), **_SO),
    R("cmi.credit", V2004, STATE, vocab=CREDIT, **_SO),
    R("cmi.entry", V2004, STATE, vocab=ENTRY, **_SO),
    R("cmi.exit", V2004, STATE, "wo", vocab=EXIT_2004),
    R("cmi.interactions.n.id", V2004, LONG_IDENTIFIER, max_len=4000),
    R("cmi.interactions.n.type", V2004, STATE, vocab=INTERACTION_TYPE_2004),
    R("cmi.interactions.n.objectives.n.id", V2004, LONG_IDENTIFIER, max_len=4000),
    R("cmi.interactions.n.timestamp", V2004, TIME),
    R("cmi.interactions.n.correct_responses.n.pattern", V2004, CORRECT_RESPONSE, max_len=64000),
    R("cmi.interactions.n.weighting", V2004, REAL),
    R("cmi.interactions.n.learner_response", V2004, LEARNER_RESPONSE, max_len=64000),
    R("cmi.interactions.n.result", V2004, RESULT, vocab=RESULT_2004),
    R("cmi.interactions.n.latency", V2004, TIMEINTERVAL),
    R("cmi.interactions.n.description", V2004, LOCALIZED_STRING, max_len=250),
    R("cmi.launch_data", V2004, CHARACTERSTRING, max_len=4000, **_SO),
    R("cmi.learner_id", V2004, LONG_IDENTIFIER, max_len=4000, **_SO),
    R("cmi.learner_name", V2004, LOCALIZED_STRING, max_len=250, **_SO),
    R("cmi.learner_preference._children", V2004, KEYWORD, "ro"),
    R("cmi.learner_preference.audio_level", V2004, REAL, range=(0, None)),
    R("cmi.learner_preference.language", V2004, LANGUAGE, max_len=250),
    R("cmi.learner_preference.delivery_speed", V2004, REAL, range=(0, None)),
    R("cmi.learner_preference.audio_captioning", V2004, STATE, vocab=AUDIO_CAPTIONING),
    R("cmi.location", V2004, CHARACTERSTRING, max_len=1000),
    R("cmi.max_time_allowed", V2004, TIMEINTERVAL, **_SO),
    R("cmi.mode", V2004, STATE, vocab=MODE, **_SO),
    R("cmi.objectives.n.id", V2004, LONG_IDENTIFIER, max_len=4000),
    R("cmi.objectives.n.score.scaled", V2004, REAL, range=(-1, 1)),
    R("cmi.objectives.n.score.raw", V2004, REAL),
    R("cmi.objectives.n.score.min", V2004, REAL),
    R("cmi.objectives.n.score.max", V2004, REAL),
    R("cmi.objectives.n.success_status", V2004, STATE, vocab=SUCCESS_STATUS),
    R("cmi.objectives.n.completion_status", V2004, STATE, vocab=COMPLETION_STATUS),
    R("cmi.objectives.n.progress_measure", V2004, REAL, range=(0, 1)),
    R("cmi.objectives.n.description", V2004, LOCALIZED_STRING, max_len=250),
    R("cmi.progress_measure", V2004, REAL, range=(0, 1)),
    R("cmi.scaled_passing_score", V2004, REAL, range=(-1, 1), **_SO),
    R("cmi.score._children", V2004, KEYWORD, "ro"),
    R("cmi.score.scaled", V2004, REAL, range=(-1, 1)),
    R("cmi.score.raw", V2004, REAL),
    R("cmi.score.min", V2004, REAL),
    R("cmi.score.max", V2004, REAL),
    R("cmi.session_time", V2004, TIMEINTERVAL, "wo"),
    R("cmi.success_status", V2004, STATE, vocab=SUCCESS_STATUS),
    R("cmi.suspend_data", V2004, CHARACTERSTRING, max_len=64000),
    R("cmi.time_limit_action", V2004, STATE, vocab=TIME_LIMIT_ACTION, **_SO),
    R("cmi.total_time", V2004, TIMEINTERVAL, **_SO),
    R("adl.data._children", V2004, KEYWORD, "ro"),
    R("adl.data._count", V2004, KEYWORD, "ro"),
    R("adl.data.n.id", V2004, LONG_IDENTIFIER, max_len=4000, **_SO),
    R("adl.data.n.store", V2004, CHARACTERSTRING, max_len=64000),
    R("adl.nav.request", V2004, NAV_REQUEST),
    R("adl.nav.request_valid.*", V2004, STATE, vocab=NAV_VALID, **_SO),
]
del R


def _normalise(element: str) -> str:
    return ".".join("n" if _INDEX_SEGMENT.fullmatch(s) else s for s in element.split("."))


def _build_index() -> tuple[dict[str, dict[str, Rule]], dict[str, list[Rule]], dict[str, set[str]]]:
    exact: dict[str, dict[str, Rule]] = {"1.2": {}, "2004": {}}
    prefix: dict[str, list[Rule]] = {"1.2": [], "2004": []}
    containers: dict[str, set[str]] = {"1.2": set(), "2004": set()}
    for rule in RULES:
        for version in rule.versions:
            if rule.pattern.endswith(".*"):
                prefix[version].append(rule)
                continue
            if rule.pattern in exact[version]:
                raise RuntimeError(f"duplicate rule {rule.pattern} for {version}")
            exact[version][rule.pattern] = rule
            segs = rule.pattern.split(".")
            for i in range(1, len(segs)):
                containers[version].add(".".join(segs[:i]))
    return exact, prefix, containers


_EXACT, _PREFIX, _CONTAINERS = _build_index()


def _check_version(version: str) -> None:
    if version not in ("1.2", "2004"):
        raise ValueError(f"unknown SCORM version {version!r} (expected '1.2' or '2004')")


def find_rule(version: str, element: str) -> Rule | None:
    """The rule governing ``element`` (e.g. ``cmi.interactions.3.id``), or None."""
    _check_version(version)
    rule = _EXACT[version].get(_normalise(element))
    if rule is not None and rule.regex.fullmatch(element):
        return rule
    for rule in _PREFIX[version]:
        if rule.regex.fullmatch(element):
            return rule
    return None


# ---------------------------------------------------------------- value checks
Problem = tuple[str, str] | None  # (code, message)

_DECIMAL_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_INTEGER_RE = re.compile(r"-?[0-9]{1,10}", re.ASCII)
_TIME12_RE = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,2})?", re.ASCII)
_TIME2004_RE = re.compile(
    r"(?P<y>19[7-9][0-9]|[2-9][0-9]{3})"
    r"(?:-(?P<mo>0[1-9]|1[0-2])"
    r"(?:-(?P<d>0[1-9]|[12][0-9]|3[01])"
    r"(?:T(?:[01][0-9]|2[0-3])(?::[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?)?)?)?",
    re.ASCII,
)
_LANGUAGE_RE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*", re.ASCII)
_URN_RE = re.compile(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,30}:\S+", re.IGNORECASE)
_NAV_RE = re.compile(
    r"continue|previous|exit|exitAll|abandon|abandonAll|suspendAll|_none_"
    r"|\{target=[^\s{}]+\}(?:choice|jump)"
)
_MAX_NUMBER_LEN = 40


def _too_long(rule: Rule, text: str) -> Problem:
    if rule.max_len is not None and len(text) > rule.max_len:
        return "too_long", f"{len(text)} characters, maximum {rule.max_len}"
    return None


def _in_range(rule: Rule, number: float) -> Problem:
    if rule.range is None:
        return None
    low, high = rule.range
    if (low is not None and number < low) or (high is not None and number > high):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "+inf" if high is None else f"{high:g}"
        return "out_of_range", f"{number:g} is outside [{lo}, {hi}]"
    return None


def _is_decimal(value: str) -> bool:
    return len(value) <= _MAX_NUMBER_LEN and _DECIMAL_RE.fullmatch(value) is not None


def _check_string(rule: Rule, value: str) -> Problem:
    return _too_long(rule, value)


def _check_identifier_12(rule: Rule, value: str) -> Problem:
    if not value.isprintable():
        return "type", "identifier contains control characters"
    return _too_long(rule, value)


def _check_decimal(rule: Rule, value: str) -> Problem:
    if not _is_decimal(value):
        return "type", f"{value[:50]!r} is not a decimal number"
    return _in_range(rule, float(value))


def _check_integer(rule: Rule, value: str) -> Problem:
    if _INTEGER_RE.fullmatch(value) is None:
        return "type", f"{value[:50]!r} is not an integer"
    return _in_range(rule, int(value))


def _check_vocab(rule: Rule, value: str) -> Problem:
    assert rule.vocab is not None
    if value not in rule.vocab:
        return "vocabulary", f"{value[:50]!r} is not one of {sorted(rule.vocab)}"
    return None


def _check_result(rule: Rule, value: str) -> Problem:
    assert rule.vocab is not None
    if value in rule.vocab or _is_decimal(value):
        return None
    return "vocabulary", f"{value[:50]!r} is neither a number nor one of {sorted(rule.vocab)}"


def _check_timespan_12(rule: Rule, value: str) -> Problem:
    try:
        parse_cmi_timespan(value)
    except ValueError:
        return "type", f"{value[:50]!r} is not a CMITimespan (HHHH:MM:SS.SS)"
    return None


def _check_time_12(rule: Rule, value: str) -> Problem:
    if _TIME12_RE.fullmatch(value) is None:
        return "type", f"{value[:50]!r} is not a CMITime (HH:MM:SS.SS)"
    return None


def _check_timeinterval(rule: Rule, value: str) -> Problem:
    try:
        parse_iso_duration(value)
    except ValueError:
        return "type", f"{value[:50]!r} is not an ISO 8601 timeinterval"
    return None


def _check_time_2004(rule: Rule, value: str) -> Problem:
    m = _TIME2004_RE.fullmatch(value)
    if m is None:
        return "type", f"{value[:50]!r} is not an ISO 8601 time (YYYY[-MM[-DD[Thh[:mm[:ss]]]]])"
    if m.group("d") is not None:
        try:
            date(int(m.group("y")), int(m.group("mo")), int(m.group("d")))
        except ValueError:
            return "type", f"{value[:50]!r} is not a real calendar date"
    return None


def _split_lang(value: str) -> tuple[str | None, str]:
    """``{lang=xx}text`` -> (lang, text); a missing or malformed delimiter -> (None, value)."""
    if value.startswith("{lang="):
        end = value.find("}")
        if end != -1:
            return value[6:end], value[end + 1 :]
    return None, value


def _check_localized(rule: Rule, value: str) -> Problem:
    if value.startswith("{lang="):
        lang, text = _split_lang(value)
        if lang is None or _LANGUAGE_RE.fullmatch(lang) is None:
            return "type", "malformed {lang=...} delimiter"
    else:
        text = value
    return _too_long(rule, text)


def _check_long_identifier(rule: Rule, value: str) -> Problem:
    # White space is outside the URI grammar, but scorm-again accepts it and real authoring tools
    # emit it; rejecting it here would drop the learner's whole commit.
    if not value.isprintable():
        return "type", "identifier contains control characters"
    if value[:4].lower() == "urn:" and _URN_RE.fullmatch(value) is None:
        return "type", f"{value[:50]!r} is not a valid URN"
    return _too_long(rule, value)


def _check_language(rule: Rule, value: str) -> Problem:
    if _LANGUAGE_RE.fullmatch(value) is None:
        return "type", f"{value[:50]!r} is not a language code (RFC 3066)"
    return _too_long(rule, value)


def _check_nav(rule: Rule, value: str) -> Problem:
    if _NAV_RE.fullmatch(value) is None:
        return "vocabulary", f"{value[:50]!r} is not a navigation request"
    return None


_CHECKS: dict[str, Callable[[Rule, str], Problem]] = {
    CMI_STRING255: _check_string,
    CMI_STRING4096: _check_string,
    CMI_FEEDBACK: _check_string,
    CHARACTERSTRING: _check_string,
    LEARNER_RESPONSE: _check_string,  # + per-type check in _check_responses
    CORRECT_RESPONSE: _check_string,  # + per-type check in _check_responses
    CMI_IDENTIFIER: _check_identifier_12,
    CMI_DECIMAL: _check_decimal,
    REAL: _check_decimal,
    CMI_SINTEGER: _check_integer,
    CMI_VOCABULARY: _check_vocab,
    STATE: _check_vocab,
    RESULT: _check_result,
    CMI_TIMESPAN: _check_timespan_12,
    CMI_TIME: _check_time_12,
    TIMEINTERVAL: _check_timeinterval,
    TIME: _check_time_2004,
    LOCALIZED_STRING: _check_localized,
    LONG_IDENTIFIER: _check_long_identifier,
    LANGUAGE: _check_language,
    NAV_REQUEST: _check_nav,
}
_missing = {r.type for r in RULES if r.writable} - _CHECKS.keys()
assert not _missing, f"no checker for {_missing}"


# ---------------------------------------------------------------- 2004 responses
def _items(value: str) -> list[str]:
    return value.split("[,]")


def _numeric_range_problem(value: str) -> str | None:
    if "[:]" not in value:
        return None if _is_decimal(value) else "expected a number or min[:]max"
    low, _, high = value.partition("[:]")
    for side in (low, high):
        if side and not _is_decimal(side):
            return "expected min[:]max with numeric bounds"
    if low and high and float(low) > float(high):
        return "numeric range minimum exceeds maximum"
    return None


def _response_problem(itype: str, value: str, *, is_pattern: bool) -> str | None:
    """Format problem of a 2004 learner_response / correct pattern, or None."""
    if itype == "true-false":
        return None if value in ("true", "false") else "expected 'true' or 'false'"
    if itype == "numeric":
        if is_pattern:
            return _numeric_range_problem(value)
        return None if _is_decimal(value) else "expected a number"
    if itype in ("choice", "sequencing"):
        items = _items(value)
        if any(not item or not item.isprintable() for item in items):
            return "expected identifiers separated by [,]"
        if itype == "choice" and len(set(items)) != len(items):
            return "choice identifiers must be unique"
        return None
    if itype == "likert":
        if "[,]" in value or not value.isprintable():
            return "expected a single identifier"
        return None
    if itype == "matching":
        for item in _items(value):
            source, sep, target = item.partition("[.]")
            if not sep or not source or not target or "[.]" in target:
                return "expected source[.]target pairs separated by [,]"
        return None
    return None  # fill-in, long-fill-in, performance, other: length only


def _check_responses(cmi_clean: dict[str, str], violations: list[Violation]) -> None:
    """Per-type format check of 2004 learner_response / correct patterns (in place)."""
    for element in list(cmi_clean):
        value = cmi_clean[element]
        if not value or not element.startswith("cmi.interactions."):
            continue
        segs = element.split(".")
        if segs[3] == "learner_response" and len(segs) == 4:
            is_pattern = False
        elif len(segs) == 6 and segs[3] == "correct_responses" and segs[5] == "pattern":
            is_pattern = True
        else:
            continue
        itype = cmi_clean.get(f"cmi.interactions.{segs[2]}.type", "")
        problem = _response_problem(itype, value, is_pattern=is_pattern) if itype else None
        if problem:
            violations.append(Violation(element, "type", f"{itype}: {problem}"))
            del cmi_clean[element]


# ---------------------------------------------------------------- commit
def _to_text(value: object) -> str | None:
    """JSON scalar -> SCORM string; None when the value cannot be a SCORM value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    return None


def _is_empty_container(value: object) -> bool:
    return isinstance(value, (dict, list)) and not value


def _record_indices(element: str, seen: dict[str, set[int]]) -> None:
    segs = element.split(".")
    for i, seg in enumerate(segs):
        if i >= 2 and _INDEX_SEGMENT.fullmatch(seg):
            seen.setdefault(".".join(segs[:i]), set()).add(int(seg))


def _check_gaps(
    seen: dict[str, set[int]], clean: dict[str, str], violations: list[Violation]
) -> None:
    cut: list[str] = []
    for collection in sorted(seen):
        indices = seen[collection]
        expected = 0
        while expected in indices:
            expected += 1
        beyond = sorted(i for i in indices if i > expected)
        if not beyond:
            continue
        violations.append(
            Violation(
                f"{collection}.{beyond[0]}",
                "index_gap",
                f"{collection} has index {beyond[0]} but no index {expected}; "
                f"indices {beyond} dropped",
            )
        )
        cut.extend(f"{collection}.{i}." for i in beyond)
    if cut:
        prefixes = tuple(cut)
        for element in [e for e in clean if e.startswith(prefixes)]:
            del clean[element]


def validate_commit(version: str, cmi: dict[str, object]) -> tuple[dict[str, str], list[Violation]]:
    """Validate a flattened commit; return (writable elements as str, violations)."""
    _check_version(version)
    clean: dict[str, str] = {}
    violations: list[Violation] = []
    seen: dict[str, set[int]] = {}
    for element, raw in cmi.items():
        if not isinstance(element, str):
            violations.append(Violation(str(element), "unknown_element", "element name"))
            continue
        rule = find_rule(version, element)
        if rule is None:
            if _is_empty_container(raw) and _normalise(element) in _CONTAINERS[version]:
                _record_indices(element, seen)  # e.g. "cmi.interactions.1.objectives": {}
                continue
            violations.append(
                Violation(element, "unknown_element", f"not a SCORM {version} element")
            )
            continue
        _record_indices(element, seen)
        if not rule.writable:
            continue  # read-only, keyword or server-owned: the LMS is authoritative
        text = _to_text(raw)
        if text is None:
            violations.append(
                Violation(element, "type", f"unsupported JSON value of type {type(raw).__name__}")
            )
            continue
        if text == "":
            clean[element] = text  # unset
            continue
        if "\x00" in text:
            violations.append(Violation(element, "type", "NUL character"))
            continue
        problem = _CHECKS[rule.type](rule, text)
        if problem is not None:
            violations.append(Violation(element, problem[0], problem[1]))
            continue
        clean[element] = text
    if version == "2004":
        _check_responses(clean, violations)
    _check_gaps(seen, clean, violations)
    return clean, violations


# ---------------------------------------------------------------- records
_INTERACTION_KEY = re.compile(r"cmi\.interactions\.(0|[1-9][0-9]*)\.(.+)", re.DOTALL)
_OBJECTIVE_KEY = re.compile(r"cmi\.objectives\.(0|[1-9][0-9]*)\.(.+)", re.DOTALL)
_SUB_ITEM = re.compile(r"(correct_responses|objectives)\.(0|[1-9][0-9]*)\.(pattern|id)")


def _grouped(regex: re.Pattern[str], clean: dict[str, str]) -> dict[int, dict[str, str]]:
    groups: dict[int, dict[str, str]] = {}
    for element, value in clean.items():
        m = regex.fullmatch(element)
        if m:
            groups.setdefault(int(m.group(1)), {})[m.group(2)] = value
    return groups


def interactions(version: str, clean: dict[str, str]) -> list[dict]:
    """Interaction records ordered by index, one shape for both versions.

    Values stay the stored strings ("" when unset). 1.2 ``time`` is reported as
    ``timestamp``, ``student_response`` as ``learner_response``; 1.2 has no
    description (""). ``correct_responses`` / ``objectives`` are ordered lists.
    """
    _check_version(version)
    response_key = "student_response" if version == "1.2" else "learner_response"
    time_key = "time" if version == "1.2" else "timestamp"
    records = []
    for index, fields in sorted(_grouped(_INTERACTION_KEY, clean).items()):
        subs: dict[str, dict[int, str]] = {"correct_responses": {}, "objectives": {}}
        for name, value in fields.items():
            m = _SUB_ITEM.fullmatch(name)
            if m and (m.group(1) == "objectives") == (m.group(3) == "id"):
                subs[m.group(1)][int(m.group(2))] = value
        records.append(
            {
                "index": index,
                "id": fields.get("id", ""),
                "type": fields.get("type", ""),
                "timestamp": fields.get(time_key, ""),
                "weighting": fields.get("weighting", ""),
                "learner_response": fields.get(response_key, ""),
                "result": fields.get("result", ""),
                "latency": fields.get("latency", ""),
                "description": fields.get("description", ""),
                "correct_responses": [v for _, v in sorted(subs["correct_responses"].items())],
                "objectives": [v for _, v in sorted(subs["objectives"].items())],
            }
        )
    return records


def objectives(version: str, clean: dict[str, str]) -> list[dict]:
    """Objective records ordered by index, one shape for both versions.

    1.2 ``status`` is mapped with :data:`LESSON_STATUS_MAP` into completion and
    success; 1.2 has no scaled score, progress measure or description ("").
    """
    _check_version(version)
    records = []
    for index, fields in sorted(_grouped(_OBJECTIVE_KEY, clean).items()):
        if version == "1.2":
            completion, success = LESSON_STATUS_MAP.get(
                fields.get("status", ""), ("unknown", "unknown")
            )
        else:
            completion = fields.get("completion_status", "") or "unknown"
            success = fields.get("success_status", "") or "unknown"
        records.append(
            {
                "index": index,
                "id": fields.get("id", ""),
                "score_raw": fields.get("score.raw", ""),
                "score_min": fields.get("score.min", ""),
                "score_max": fields.get("score.max", ""),
                "score_scaled": fields.get("score.scaled", ""),
                "success_status": success,
                "completion_status": completion,
                "progress_measure": fields.get("progress_measure", ""),
                "description": fields.get("description", ""),
            }
        )
    return records
