"""Tests for lms.scorm.datamodel (validation of flattened scorm-again commits)."""

from __future__ import annotations

import pytest

from lms.scorm.datamodel import (
    RULES,
    Violation,
    find_rule,
    interactions,
    objectives,
    validate_commit,
)

# ---------------------------------------------------------------------------
# Verbatim output of scorm-again 3.4.3 (node, dataCommitFormat "flattened",
# sendFullCommit true): api.renderCommitCMI(true) after LMSFinish/Terminate.
# ---------------------------------------------------------------------------
EMITTED_12_TERMINATE: dict[str, object] = {
    "cmi.suspend_data": "A1B2|p=12",
    "cmi.launch_data": "chapter=2",
    "cmi.comments": "Nội dung hay",
    "cmi.comments_from_lms": "Chúc học tốt",
    "cmi.core.student_id": "hp-0042",
    "cmi.core.student_name": "Tran, An",
    "cmi.core.lesson_location": "page-12",
    "cmi.core.credit": "credit",
    "cmi.core.lesson_status": "failed",
    "cmi.core.entry": "resume",
    "cmi.core.lesson_mode": "normal",
    "cmi.core.exit": "suspend",
    "cmi.core.session_time": "00:12:30.25",
    "cmi.core.score.raw": "72.5",
    "cmi.core.score.min": "0",
    "cmi.core.score.max": "100",
    "cmi.core.total_time": "01:22:30.25",
    "cmi.objectives.0.id": "obj-1",
    "cmi.objectives.0.status": "completed",
    "cmi.objectives.0.score.raw": "100",
    "cmi.objectives.0.score.min": "0",
    "cmi.objectives.0.score.max": "100",
    "cmi.objectives.1.id": "obj-2",
    "cmi.objectives.1.status": "not attempted",
    "cmi.objectives.1.score.raw": "",
    "cmi.objectives.1.score.min": "",
    "cmi.objectives.1.score.max": "100",
    "cmi.student_data.mastery_score": "80",
    "cmi.student_data.max_time_allowed": "02:00:00",
    "cmi.student_data.time_limit_action": "continue,no message",
    "cmi.student_preference.audio": "-1",
    "cmi.student_preference.language": "vi",
    "cmi.student_preference.speed": "50",
    "cmi.student_preference.text": "0",
    "cmi.interactions.0.id": "Q1",
    "cmi.interactions.0.time": "09:15:00",
    "cmi.interactions.0.type": "true-false",
    "cmi.interactions.0.weighting": "1",
    "cmi.interactions.0.student_response": "f",
    "cmi.interactions.0.result": "wrong",
    "cmi.interactions.0.latency": "00:00:12.5",
    "cmi.interactions.0.objectives.0.id": "obj-1",
    "cmi.interactions.0.correct_responses.0.pattern": "t",
    "cmi.interactions.1.id": "Q2",
    "cmi.interactions.1.time": "09:16:30.5",
    "cmi.interactions.1.type": "choice",
    "cmi.interactions.1.weighting": "",
    "cmi.interactions.1.student_response": "a,b",
    "cmi.interactions.1.result": "correct",
    "cmi.interactions.1.latency": "",
    "cmi.interactions.1.objectives": {},
    "cmi.interactions.1.correct_responses.0.pattern": "a,b",
    "cmi.interactions.1.correct_responses.1.pattern": "b,a",
    "cmi.interactions.2.id": "Q3",
    "cmi.interactions.2.time": "",
    "cmi.interactions.2.type": "numeric",
    "cmi.interactions.2.weighting": "-2",
    "cmi.interactions.2.student_response": "3.14",
    "cmi.interactions.2.result": "75",
    "cmi.interactions.2.latency": "",
    "cmi.interactions.2.objectives": {},
    "cmi.interactions.2.correct_responses": {},
}

EMITTED_2004_TERMINATE: dict[str, object] = {
    "cmi.comments_from_learner.0.comment": "{lang=vi}Hay quá",
    "cmi.comments_from_learner.0.location": "slide-3",
    "cmi.comments_from_learner.0.timestamp": "2024-03-01T08:10:00.0Z",
    "cmi.comments_from_lms.0.comment": "{lang=vi}Chào",
    "cmi.comments_from_lms.0.location": "p1",
    "cmi.comments_from_lms.0.timestamp": "2024-03-01T08:00:00",
    "cmi.completion_status": "incomplete",
    "cmi.completion_threshold": "0.8",
    "cmi.credit": "credit",
    "cmi.entry": "ab-initio",
    "cmi.exit": "normal",
    "cmi.interactions.0.id": "urn:q:0",
    "cmi.interactions.0.type": "true-false",
    "cmi.interactions.0.objectives.0.id": "obj_0",
    "cmi.interactions.0.timestamp": "2024-03-01T08:00:00.5+07:00",
    "cmi.interactions.0.weighting": "1.5",
    "cmi.interactions.0.learner_response": "true",
    "cmi.interactions.0.result": "incorrect",
    "cmi.interactions.0.latency": "PT1M2.25S",
    "cmi.interactions.0.description": "{lang=vi}Câu hỏi 0",
    "cmi.interactions.0.correct_responses.0.pattern": "false",
    "cmi.interactions.1.id": "urn:q:1",
    "cmi.interactions.1.type": "choice",
    "cmi.interactions.1.objectives.0.id": "obj_1",
    "cmi.interactions.1.timestamp": "2024-03-01T08:01:00.5+07:00",
    "cmi.interactions.1.weighting": "1.5",
    "cmi.interactions.1.learner_response": "a[,]c",
    "cmi.interactions.1.result": "correct",
    "cmi.interactions.1.latency": "PT1M2.25S",
    "cmi.interactions.1.description": "{lang=vi}Câu hỏi 1",
    "cmi.interactions.1.correct_responses.0.pattern": "a[,]c",
    "cmi.interactions.1.correct_responses.1.pattern": "c[,]a",
    "cmi.interactions.2.id": "urn:q:2",
    "cmi.interactions.2.type": "fill-in",
    "cmi.interactions.2.objectives.0.id": "obj_2",
    "cmi.interactions.2.timestamp": "2024-03-01T08:02:00.5+07:00",
    "cmi.interactions.2.weighting": "1.5",
    "cmi.interactions.2.learner_response": "{lang=en}Hai Phong",
    "cmi.interactions.2.result": "correct",
    "cmi.interactions.2.latency": "PT1M2.25S",
    "cmi.interactions.2.description": "{lang=vi}Câu hỏi 2",
    "cmi.interactions.2.correct_responses.0.pattern": "{case_matters=false}{order_matters=true}{lang=en}Hai Phong",  # noqa: E501
    "cmi.interactions.3.id": "urn:q:3",
    "cmi.interactions.3.type": "long-fill-in",
    "cmi.interactions.3.objectives.0.id": "obj_3",
    "cmi.interactions.3.timestamp": "2024-03-01T08:03:00.5+07:00",
    "cmi.interactions.3.weighting": "1.5",
    "cmi.interactions.3.learner_response": "Một đoạn văn dài. Dòng hai.",
    "cmi.interactions.3.result": "neutral",
    "cmi.interactions.3.latency": "PT1M2.25S",
    "cmi.interactions.3.description": "{lang=vi}Câu hỏi 3",
    "cmi.interactions.3.correct_responses.0.pattern": "Một đoạn",
    "cmi.interactions.4.id": "urn:q:4",
    "cmi.interactions.4.type": "matching",
    "cmi.interactions.4.objectives.0.id": "obj_4",
    "cmi.interactions.4.timestamp": "2024-03-01T08:04:00.5+07:00",
    "cmi.interactions.4.weighting": "1.5",
    "cmi.interactions.4.learner_response": "a[.]1[,]b[.]2",
    "cmi.interactions.4.result": "correct",
    "cmi.interactions.4.latency": "PT1M2.25S",
    "cmi.interactions.4.description": "{lang=vi}Câu hỏi 4",
    "cmi.interactions.4.correct_responses.0.pattern": "a[.]1[,]b[.]2",
    "cmi.interactions.5.id": "urn:q:5",
    "cmi.interactions.5.type": "performance",
    "cmi.interactions.5.objectives.0.id": "obj_5",
    "cmi.interactions.5.timestamp": "2024-03-01T08:05:00.5+07:00",
    "cmi.interactions.5.weighting": "1.5",
    "cmi.interactions.5.learner_response": "step1[.]ans1[,]step2[.]5",
    "cmi.interactions.5.result": "unanticipated",
    "cmi.interactions.5.latency": "PT1M2.25S",
    "cmi.interactions.5.description": "{lang=vi}Câu hỏi 5",
    "cmi.interactions.5.correct_responses.0.pattern": "{order_matters=false}step1[.]ans1[,]step2[.]1[:]10",  # noqa: E501
    "cmi.interactions.6.id": "urn:q:6",
    "cmi.interactions.6.type": "sequencing",
    "cmi.interactions.6.objectives.0.id": "obj_6",
    "cmi.interactions.6.timestamp": "2024-03-01T08:06:00.5+07:00",
    "cmi.interactions.6.weighting": "1.5",
    "cmi.interactions.6.learner_response": "x[,]y[,]z",
    "cmi.interactions.6.result": "0.75",
    "cmi.interactions.6.latency": "PT1M2.25S",
    "cmi.interactions.6.description": "{lang=vi}Câu hỏi 6",
    "cmi.interactions.6.correct_responses.0.pattern": "x[,]y[,]z",
    "cmi.interactions.7.id": "urn:q:7",
    "cmi.interactions.7.type": "likert",
    "cmi.interactions.7.objectives.0.id": "obj_7",
    "cmi.interactions.7.timestamp": "2024-03-01T08:07:00.5+07:00",
    "cmi.interactions.7.weighting": "1.5",
    "cmi.interactions.7.learner_response": "agree",
    "cmi.interactions.7.result": "neutral",
    "cmi.interactions.7.latency": "PT1M2.25S",
    "cmi.interactions.7.description": "{lang=vi}Câu hỏi 7",
    "cmi.interactions.7.correct_responses.0.pattern": "agree",
    "cmi.interactions.8.id": "urn:q:8",
    "cmi.interactions.8.type": "numeric",
    "cmi.interactions.8.objectives.0.id": "obj_8",
    "cmi.interactions.8.timestamp": "2024-03-01T08:08:00.5+07:00",
    "cmi.interactions.8.weighting": "1.5",
    "cmi.interactions.8.learner_response": "42.5",
    "cmi.interactions.8.result": "correct",
    "cmi.interactions.8.latency": "PT1M2.25S",
    "cmi.interactions.8.description": "{lang=vi}Câu hỏi 8",
    "cmi.interactions.8.correct_responses.0.pattern": "40[:]45",
    "cmi.interactions.9.id": "urn:q:9",
    "cmi.interactions.9.type": "other",
    "cmi.interactions.9.objectives.0.id": "obj_9",
    "cmi.interactions.9.timestamp": "2024-03-01T08:09:00.5+07:00",
    "cmi.interactions.9.weighting": "1.5",
    "cmi.interactions.9.learner_response": "anything goes here",
    "cmi.interactions.9.result": "-2.5",
    "cmi.interactions.9.latency": "PT1M2.25S",
    "cmi.interactions.9.description": "{lang=vi}Câu hỏi 9",
    "cmi.interactions.9.correct_responses.0.pattern": "anything",
    "cmi.launch_data": "chapter=2",
    "cmi.learner_id": "urn:lms:user:42",
    "cmi.learner_name": "Trần Văn An",
    "cmi.learner_preference.audio_level": "0.5",
    "cmi.learner_preference.language": "vi-VN",
    "cmi.learner_preference.delivery_speed": "1.25",
    "cmi.learner_preference.audio_captioning": "-1",
    "cmi.location": "slide-7",
    "cmi.max_time_allowed": "PT1H",
    "cmi.mode": "normal",
    "cmi.objectives.0.id": "obj_0",
    "cmi.objectives.0.success_status": "failed",
    "cmi.objectives.0.completion_status": "completed",
    "cmi.objectives.0.progress_measure": "1",
    "cmi.objectives.0.description": "{lang=en-US}First objective",
    "cmi.objectives.0.score.scaled": "-0.25",
    "cmi.objectives.0.score.raw": "-5",
    "cmi.objectives.0.score.min": "-20",
    "cmi.objectives.0.score.max": "20",
    "cmi.objectives.1.id": "urn:obj:global-2",
    "cmi.objectives.1.success_status": "unknown",
    "cmi.objectives.1.completion_status": "unknown",
    "cmi.objectives.1.progress_measure": "",
    "cmi.objectives.1.description": "",
    "cmi.objectives.1.score.scaled": "",
    "cmi.objectives.1.score.raw": "",
    "cmi.objectives.1.score.min": "",
    "cmi.objectives.1.score.max": "",
    "cmi.progress_measure": "0.5",
    "cmi.scaled_passing_score": "0.7",
    "cmi.score.scaled": "0.85",
    "cmi.score.raw": "85",
    "cmi.score.min": "0",
    "cmi.score.max": "100",
    "cmi.session_time": "PT1H2M3.5S",
    "cmi.success_status": "passed",
    "cmi.suspend_data": '{"a":[1,2,3]}',
    "cmi.time_limit_action": "continue,no message",
    "cmi.total_time": "PT1H2M3.5S",
    "adl.data.0.id": "urn:x:shared",
    "adl.data.0.store": "shared-value",
}

EMITTED_12_LOADED_NUMBERS: dict[str, object] = {
    "cmi.suspend_data": "",
    "cmi.launch_data": "",
    "cmi.comments": "",
    "cmi.comments_from_lms": "",
    "cmi.core.student_id": 42,
    "cmi.core.student_name": "",
    "cmi.core.lesson_location": "",
    "cmi.core.credit": "",
    "cmi.core.lesson_status": "passed",
    "cmi.core.entry": "",
    "cmi.core.lesson_mode": "normal",
    "cmi.core.exit": "",
    "cmi.core.session_time": "00:00:00",
    "cmi.core.score.raw": "80",
    "cmi.core.score.min": "",
    "cmi.core.score.max": "100",
    "cmi.core.total_time": "00:00:00",
    "cmi.objectives": {},
    "cmi.student_data.mastery_score": "80",
    "cmi.student_data.max_time_allowed": "",
    "cmi.student_data.time_limit_action": "",
    "cmi.student_preference.audio": "",
    "cmi.student_preference.language": "",
    "cmi.student_preference.speed": "",
    "cmi.student_preference.text": "",
    "cmi.interactions.0.id": "q1",
    "cmi.interactions.0.time": "",
    "cmi.interactions.0.type": "choice",
    "cmi.interactions.0.weighting": "2",
    "cmi.interactions.0.student_response": "a",
    "cmi.interactions.0.result": "",
    "cmi.interactions.0.latency": "",
    "cmi.interactions.0.objectives": {},
    "cmi.interactions.0.correct_responses": {},
}

EMITTED_2004_LOADED_NUMBERS: dict[str, object] = {
    "cmi.comments_from_learner": {},
    "cmi.comments_from_lms": {},
    "cmi.completion_status": "unknown",
    "cmi.completion_threshold": 0.8,
    "cmi.credit": "credit",
    "cmi.entry": "",
    "cmi.exit": "",
    "cmi.interactions.0.id": "q",
    "cmi.interactions.0.type": "",
    "cmi.interactions.0.objectives": {},
    "cmi.interactions.0.timestamp": "2024-01-02T03:04:05.1+07:00",
    "cmi.interactions.0.weighting": "1",
    "cmi.interactions.0.learner_response": "",
    "cmi.interactions.0.result": "",
    "cmi.interactions.0.latency": "",
    "cmi.interactions.0.description": "",
    "cmi.interactions.0.correct_responses": {},
    "cmi.launch_data": "",
    "cmi.learner_id": 7,
    "cmi.learner_name": "",
    "cmi.learner_preference.audio_level": "1",
    "cmi.learner_preference.language": "",
    "cmi.learner_preference.delivery_speed": "1",
    "cmi.learner_preference.audio_captioning": "0",
    "cmi.location": "",
    "cmi.max_time_allowed": "",
    "cmi.mode": "normal",
    "cmi.objectives": {},
    "cmi.progress_measure": "0.5",
    "cmi.scaled_passing_score": 0.5,
    "cmi.score.scaled": "0.9",
    "cmi.score.raw": "",
    "cmi.score.min": "",
    "cmi.score.max": "",
    "cmi.session_time": "PT0H0M0S",
    "cmi.success_status": "unknown",
    "cmi.suspend_data": "",
    "cmi.time_limit_action": "continue,no message",
    "cmi.total_time": "PT0S",
    "adl.data.0.id": "urn:x",
    "adl.data.0.store": "s",
}


def codes(violations: list[Violation]) -> dict[str, str]:
    return {v.element: v.code for v in violations}


# ------------------------------------------------------------------ real commits
@pytest.mark.parametrize(
    ("version", "commit"),
    [
        ("1.2", EMITTED_12_TERMINATE),
        ("2004", EMITTED_2004_TERMINATE),
        ("1.2", EMITTED_12_LOADED_NUMBERS),
        ("2004", EMITTED_2004_LOADED_NUMBERS),
    ],
    ids=["1.2-terminate", "2004-terminate", "1.2-numbers", "2004-numbers"],
)
def test_real_scorm_again_commits_have_no_violations(version, commit):
    clean, violations = validate_commit(version, commit)
    assert violations == []
    assert clean, "writable elements must be kept"
    assert all(isinstance(v, str) for v in clean.values())
    # nothing read-only or structural leaks into clean
    for element in clean:
        rule = find_rule(version, element)
        assert rule is not None and rule.writable, element
    assert not any(isinstance(commit.get(e), dict) for e in clean)


def test_real_12_commit_clean_content():
    clean, _ = validate_commit("1.2", EMITTED_12_TERMINATE)
    assert clean["cmi.core.lesson_status"] == "failed"
    assert clean["cmi.core.session_time"] == "00:12:30.25"
    assert clean["cmi.interactions.1.correct_responses.1.pattern"] == "b,a"
    assert clean["cmi.suspend_data"] == "A1B2|p=12"
    for dropped in (
        "cmi.core.student_id",
        "cmi.core.student_name",
        "cmi.core.credit",
        "cmi.core.entry",
        "cmi.core.lesson_mode",
        "cmi.core.total_time",
        "cmi.launch_data",
        "cmi.comments_from_lms",
        "cmi.student_data.mastery_score",
        "cmi.student_data.max_time_allowed",
        "cmi.student_data.time_limit_action",
        "cmi.interactions.2.objectives",
    ):
        assert dropped not in clean


def test_real_2004_commit_clean_content():
    clean, _ = validate_commit("2004", EMITTED_2004_TERMINATE)
    assert clean["cmi.exit"] == "normal"
    assert clean["cmi.score.scaled"] == "0.85"
    assert clean["adl.data.0.store"] == "shared-value"
    assert clean["cmi.comments_from_learner.0.comment"] == "{lang=vi}Hay quá"
    for dropped in (
        "cmi.learner_id",
        "cmi.learner_name",
        "cmi.credit",
        "cmi.entry",
        "cmi.mode",
        "cmi.launch_data",
        "cmi.completion_threshold",
        "cmi.scaled_passing_score",
        "cmi.max_time_allowed",
        "cmi.time_limit_action",
        "cmi.total_time",
        "cmi.comments_from_lms.0.comment",
        "adl.data.0.id",
    ):
        assert dropped not in clean


def test_loaded_numbers_are_dropped_or_stringified():
    clean, violations = validate_commit("2004", EMITTED_2004_LOADED_NUMBERS)
    assert violations == []
    assert "cmi.learner_id" not in clean  # was the JSON number 7
    assert clean["cmi.interactions.0.weighting"] == "1"


# ------------------------------------------------------------------ valid values
VALID = [
    # accepted like scorm-again does, so a real SCO's commit is never dropped
    ("2004", "cmi.interactions.0.id", "Scene 1 Question 2"),
    ("1.2", "cmi.core.session_time", "0:05:00"),
    # SCORM 1.2
    ("1.2", "cmi.core.lesson_location", "page-12"),
    ("1.2", "cmi.core.lesson_location", "x" * 255),
    ("1.2", "cmi.core.lesson_status", "passed"),
    ("1.2", "cmi.core.lesson_status", "browsed"),
    ("1.2", "cmi.core.lesson_status", "not attempted"),
    ("1.2", "cmi.core.score.raw", "72.5"),
    ("1.2", "cmi.core.score.raw", "100"),
    ("1.2", "cmi.core.score.min", "0"),
    ("1.2", "cmi.core.score.max", ".5"),
    ("1.2", "cmi.core.exit", "suspend"),
    ("1.2", "cmi.core.exit", "logout"),
    ("1.2", "cmi.core.exit", "time-out"),
    ("1.2", "cmi.core.session_time", "00:05:12.5"),
    ("1.2", "cmi.core.session_time", "0000:00:00"),
    ("1.2", "cmi.core.session_time", "9999:59:59.99"),
    ("1.2", "cmi.suspend_data", "s" * 4096),
    ("1.2", "cmi.suspend_data", "s" * 64000),  # relaxed like scorm-again
    ("1.2", "cmi.comments", "Nội dung hay\nline 2"),
    ("1.2", "cmi.objectives.0.id", "obj-1"),
    ("1.2", "cmi.objectives.0.id", "Objective 1.a"),  # relaxed: spaces and dots
    ("1.2", "cmi.objectives.0.status", "not attempted"),
    ("1.2", "cmi.objectives.0.score.raw", "0"),
    ("1.2", "cmi.student_preference.audio", "-1"),
    ("1.2", "cmi.student_preference.audio", "100"),
    ("1.2", "cmi.student_preference.speed", "-100"),
    ("1.2", "cmi.student_preference.text", "1"),
    ("1.2", "cmi.student_preference.language", "vi"),
    ("1.2", "cmi.interactions.0.id", "Q1"),
    ("1.2", "cmi.interactions.0.time", "23:59:59.9"),
    ("1.2", "cmi.interactions.0.type", "likert"),
    ("1.2", "cmi.interactions.0.weighting", "-2.5"),
    ("1.2", "cmi.interactions.0.student_response", "a,b,{c}"),
    ("1.2", "cmi.interactions.0.correct_responses.0.pattern", "t"),
    ("1.2", "cmi.interactions.0.result", "wrong"),
    ("1.2", "cmi.interactions.0.result", "75.5"),
    ("1.2", "cmi.interactions.0.latency", "00:00:12.5"),
    ("1.2", "cmi.interactions.0.objectives.0.id", "obj-1"),
    # SCORM 2004
    ("2004", "cmi.completion_status", "completed"),
    ("2004", "cmi.completion_status", "unknown"),
    ("2004", "cmi.success_status", "failed"),
    ("2004", "cmi.exit", "normal"),
    ("2004", "cmi.exit", "suspend"),
    ("2004", "cmi.location", "L" * 1000),
    ("2004", "cmi.suspend_data", "d" * 64000),
    ("2004", "cmi.progress_measure", "0"),
    ("2004", "cmi.progress_measure", "1"),
    ("2004", "cmi.progress_measure", "0.4999999"),
    ("2004", "cmi.score.scaled", "-1"),
    ("2004", "cmi.score.scaled", "0.85"),
    ("2004", "cmi.score.raw", "-12345.5"),
    ("2004", "cmi.score.max", "1000"),
    ("2004", "cmi.session_time", "PT1H2M3.5S"),
    ("2004", "cmi.session_time", "P1DT2H"),
    ("2004", "cmi.session_time", "PT0H0M0S"),
    ("2004", "cmi.learner_preference.audio_level", "0"),
    ("2004", "cmi.learner_preference.audio_level", "2.5"),
    ("2004", "cmi.learner_preference.delivery_speed", "0.75"),
    ("2004", "cmi.learner_preference.audio_captioning", "-1"),
    ("2004", "cmi.learner_preference.language", "vi-VN"),
    ("2004", "cmi.learner_preference.language", "x-klingon"),
    ("2004", "cmi.comments_from_learner.0.comment", "{lang=vi}Hay quá"),
    ("2004", "cmi.comments_from_learner.0.comment", "no language"),
    ("2004", "cmi.comments_from_learner.0.comment", "{lang=en}" + "c" * 4000),
    ("2004", "cmi.comments_from_learner.0.location", "slide-3"),
    ("2004", "cmi.comments_from_learner.0.timestamp", "2024-03-01T08:10:00.0Z"),
    ("2004", "cmi.comments_from_learner.0.timestamp", "2024"),
    ("2004", "cmi.comments_from_learner.0.timestamp", "2024-02-29"),
    ("2004", "cmi.comments_from_learner.0.timestamp", "2024-03-01T08:10:00Z"),
    ("2004", "cmi.comments_from_learner.0.timestamp", "2024-03-01T08:10:00.123+07:00"),
    ("2004", "cmi.interactions.0.id", "urn:q:0"),
    ("2004", "cmi.interactions.0.id", "http://example.com/q?id=1"),
    ("2004", "cmi.interactions.0.id", "Scene1_Slide3_MultiChoice_0_0"),
    ("2004", "cmi.interactions.0.type", "long-fill-in"),
    ("2004", "cmi.interactions.0.type", "other"),
    ("2004", "cmi.interactions.0.timestamp", "2024-03-01T08:00:00.5+07:00"),
    ("2004", "cmi.interactions.0.weighting", "1.5"),
    ("2004", "cmi.interactions.0.result", "incorrect"),
    ("2004", "cmi.interactions.0.result", "-2.5"),
    ("2004", "cmi.interactions.0.latency", "PT1M2.25S"),
    ("2004", "cmi.interactions.0.description", "{lang=vi}Câu hỏi 0"),
    ("2004", "cmi.interactions.0.learner_response", "anything without a type"),
    ("2004", "cmi.interactions.0.objectives.0.id", "obj_0"),
    ("2004", "cmi.objectives.0.id", "urn:obj:global-2"),
    ("2004", "cmi.objectives.0.score.scaled", "-0.25"),
    ("2004", "cmi.objectives.0.progress_measure", "1"),
    ("2004", "cmi.objectives.0.success_status", "unknown"),
    ("2004", "cmi.objectives.0.completion_status", "not attempted"),
    ("2004", "cmi.objectives.0.description", "{lang=en-US}First objective"),
    ("2004", "adl.data.0.store", "x" * 64000),
    ("2004", "adl.nav.request", "continue"),
    ("2004", "adl.nav.request", "{target=intro}choice"),
]


@pytest.mark.parametrize(("version", "element", "value"), VALID)
def test_valid_values(version, element, value):
    clean, violations = validate_commit(version, {element: value})
    assert violations == []
    assert clean == {element: value}


# ------------------------------------------------------------------ invalid values
INVALID = [
    # SCORM 1.2
    ("1.2", "cmi.core.lesson_location", "x" * 256, "too_long"),
    ("1.2", "cmi.core.lesson_status", "complete", "vocabulary"),
    ("1.2", "cmi.core.lesson_status", "Passed", "vocabulary"),
    ("1.2", "cmi.core.lesson_status", "unknown", "vocabulary"),
    ("1.2", "cmi.core.score.raw", "abc", "type"),
    ("1.2", "cmi.core.score.raw", "1e5", "type"),
    ("1.2", "cmi.core.score.raw", "101", "out_of_range"),
    ("1.2", "cmi.core.score.min", "-1", "out_of_range"),
    ("1.2", "cmi.core.score.max", "1" * 50, "type"),
    ("1.2", "cmi.core.exit", "normal", "vocabulary"),
    ("1.2", "cmi.core.session_time", "PT5M", "type"),
    ("1.2", "cmi.core.session_time", "00:60:00", "type"),
    ("1.2", "cmi.core.session_time", "00:05:00.123", "type"),
    ("1.2", "cmi.core.session_time", "12345:00:00", "type"),
    ("1.2", "cmi.suspend_data", "s" * 64001, "too_long"),
    ("1.2", "cmi.suspend_data", "nul\x00byte", "type"),
    ("1.2", "cmi.comments", "c" * 4097, "too_long"),
    ("1.2", "cmi.objectives.0.id", "x" * 256, "too_long"),
    ("1.2", "cmi.objectives.0.id", "tab\there", "type"),
    ("1.2", "cmi.objectives.0.status", "done", "vocabulary"),
    ("1.2", "cmi.objectives.0.score.raw", "150", "out_of_range"),
    ("1.2", "cmi.student_preference.audio", "-2", "out_of_range"),
    ("1.2", "cmi.student_preference.audio", "1.5", "type"),
    ("1.2", "cmi.student_preference.speed", "101", "out_of_range"),
    ("1.2", "cmi.student_preference.text", "2", "out_of_range"),
    ("1.2", "cmi.student_preference.language", "l" * 256, "too_long"),
    ("1.2", "cmi.interactions.0.time", "24:00:00", "type"),
    ("1.2", "cmi.interactions.0.time", "2024-01-01T10:00:00", "type"),
    ("1.2", "cmi.interactions.0.type", "long-fill-in", "vocabulary"),
    ("1.2", "cmi.interactions.0.weighting", "heavy", "type"),
    ("1.2", "cmi.interactions.0.student_response", "r" * 4097, "too_long"),
    ("1.2", "cmi.interactions.0.result", "incorrect", "vocabulary"),
    ("1.2", "cmi.interactions.0.latency", "PT5S", "type"),
    # SCORM 2004
    ("2004", "cmi.completion_status", "passed", "vocabulary"),
    ("2004", "cmi.success_status", "completed", "vocabulary"),
    ("2004", "cmi.exit", "quit", "vocabulary"),
    ("2004", "cmi.location", "L" * 1001, "too_long"),
    ("2004", "cmi.suspend_data", "d" * 64001, "too_long"),
    ("2004", "cmi.progress_measure", "1.01", "out_of_range"),
    ("2004", "cmi.progress_measure", "-0.1", "out_of_range"),
    ("2004", "cmi.progress_measure", "half", "type"),
    ("2004", "cmi.score.scaled", "1.5", "out_of_range"),
    ("2004", "cmi.score.scaled", "-1.0000001", "out_of_range"),
    ("2004", "cmi.score.raw", "80%", "type"),
    ("2004", "cmi.session_time", "00:05:00", "type"),
    ("2004", "cmi.session_time", "PT", "type"),
    ("2004", "cmi.session_time", "P", "type"),
    ("2004", "cmi.session_time", "PT1.123S", "type"),
    ("2004", "cmi.session_time", "P1W", "type"),
    ("2004", "cmi.session_time", "PT5s", "type"),
    ("2004", "cmi.learner_preference.audio_level", "-0.5", "out_of_range"),
    ("2004", "cmi.learner_preference.delivery_speed", "-1", "out_of_range"),
    ("2004", "cmi.learner_preference.audio_captioning", "2", "vocabulary"),
    ("2004", "cmi.learner_preference.language", "english language", "type"),
    ("2004", "cmi.learner_preference.language", "toolonglang", "type"),
    ("2004", "cmi.comments_from_learner.0.comment", "c" * 4001, "too_long"),
    ("2004", "cmi.comments_from_learner.0.comment", "{lang=}text", "type"),
    ("2004", "cmi.comments_from_learner.0.comment", "{lang=not a lang}text", "type"),
    ("2004", "cmi.comments_from_learner.0.location", "l" * 251, "too_long"),
    ("2004", "cmi.comments_from_learner.0.timestamp", "2024-13-01", "type"),
    ("2004", "cmi.comments_from_learner.0.timestamp", "2023-02-29", "type"),
    ("2004", "cmi.comments_from_learner.0.timestamp", "1969-12-31", "type"),
    ("2004", "cmi.comments_from_learner.0.timestamp", "2024-03-01 08:10:00", "type"),
    ("2004", "cmi.comments_from_learner.0.timestamp", "yesterday", "type"),
    ("2004", "cmi.interactions.0.id", "i" * 4001, "too_long"),
    ("2004", "cmi.interactions.0.id", "urn:!bad:x", "type"),
    ("2004", "cmi.interactions.0.type", "essay", "vocabulary"),
    ("2004", "cmi.interactions.0.timestamp", "10:11:12", "type"),
    ("2004", "cmi.interactions.0.weighting", "1,5", "type"),
    ("2004", "cmi.interactions.0.result", "wrong", "vocabulary"),
    ("2004", "cmi.interactions.0.latency", "5 seconds", "type"),
    ("2004", "cmi.interactions.0.description", "d" * 251, "too_long"),
    ("2004", "cmi.interactions.0.learner_response", "r" * 64001, "too_long"),
    ("2004", "cmi.objectives.0.id", "", None),  # "" = unset: NOT a violation
    ("2004", "cmi.objectives.0.score.scaled", "2", "out_of_range"),
    ("2004", "cmi.objectives.0.progress_measure", "1.5", "out_of_range"),
    ("2004", "cmi.objectives.0.success_status", "completed", "vocabulary"),
    ("2004", "cmi.objectives.0.completion_status", "passed", "vocabulary"),
    ("2004", "adl.data.0.store", "x" * 64001, "too_long"),
    ("2004", "adl.nav.request", "jump", "vocabulary"),
    ("2004", "adl.nav.request", "{target=}choice", "vocabulary"),
]


@pytest.mark.parametrize(("version", "element", "value", "code"), INVALID)
def test_invalid_values(version, element, value, code):
    clean, violations = validate_commit(version, {element: value})
    if code is None:
        assert violations == [] and clean == {element: value}
        return
    assert [(v.element, v.code) for v in violations] == [(element, code)]
    assert element not in clean


# ------------------------------------------------------------------ dropped elements
DROPPED = [
    ("1.2", "cmi.core.student_id", "hp-0042"),
    ("1.2", "cmi.core.student_name", "Tran, An"),
    ("1.2", "cmi.core.credit", "credit"),
    ("1.2", "cmi.core.entry", "resume"),
    ("1.2", "cmi.core.lesson_mode", "normal"),
    ("1.2", "cmi.core.total_time", "01:22:30.25"),
    ("1.2", "cmi.core._children", "student_id,student_name"),
    ("1.2", "cmi.core.score._children", "raw,min,max"),
    ("1.2", "cmi.launch_data", "chapter=2"),
    ("1.2", "cmi.comments_from_lms", "hello"),
    ("1.2", "cmi.student_data.mastery_score", "80"),
    ("1.2", "cmi.student_data.max_time_allowed", "garbage is ignored too"),
    ("1.2", "cmi.student_data.time_limit_action", "continue,no message"),
    ("1.2", "cmi.interactions._count", "3"),
    ("1.2", "cmi.interactions.0.correct_responses._count", 1),
    ("1.2", "cmi.objectives._children", "id,score,status"),
    ("1.2", "cmi.student_preference._children", "audio,language,speed,text"),
    ("2004", "cmi._version", "1.0"),
    ("2004", "cmi.learner_id", 7),
    ("2004", "cmi.learner_name", "Trần Văn An"),
    ("2004", "cmi.credit", "no-credit"),
    ("2004", "cmi.entry", "ab-initio"),
    ("2004", "cmi.mode", "review"),
    ("2004", "cmi.launch_data", "x"),
    ("2004", "cmi.completion_threshold", 0.8),
    ("2004", "cmi.scaled_passing_score", "0.7"),
    ("2004", "cmi.max_time_allowed", "PT1H"),
    ("2004", "cmi.time_limit_action", "exit,message"),
    ("2004", "cmi.total_time", "PT5M"),
    ("2004", "cmi.comments_from_lms.0.comment", "{lang=vi}Chào"),
    ("2004", "cmi.comments_from_lms._count", "1"),
    ("2004", "cmi.interactions._children", "id,type"),
    ("2004", "cmi.objectives.0.score._children", "scaled,raw,min,max"),
    ("2004", "cmi.learner_preference._children", "audio_level"),
    ("2004", "adl.data.0.id", "urn:x:shared"),
    ("2004", "adl.data._count", "1"),
    ("2004", "adl.nav.request_valid.continue", "true"),
    ("2004", "adl.nav.request_valid.choice.{target=sco.1}", "unknown"),
    # empty collections as emitted by scorm-again
    ("1.2", "cmi.interactions", {}),
    ("1.2", "cmi.objectives", {}),
    ("1.2", "cmi.interactions.0.objectives", {}),
    ("2004", "cmi.comments_from_learner", {}),
    ("2004", "cmi.comments_from_lms", {}),
    ("2004", "cmi.interactions.0.correct_responses", []),
]


@pytest.mark.parametrize(("version", "element", "value"), DROPPED)
def test_read_only_keyword_and_empty_collections_are_dropped_silently(version, element, value):
    clean, violations = validate_commit(version, {element: value})
    assert violations == []
    assert clean == {}


# ------------------------------------------------------------------ unknown elements
UNKNOWN = [
    ("1.2", "cmi.core.foo"),
    ("1.2", "cmi.learner_id"),  # 2004 name in a 1.2 commit
    ("1.2", "cmi.completion_status"),
    ("1.2", "cmi.interactions.0.learner_response"),
    ("1.2", "cmi.interactions.01.id"),  # non-canonical index
    ("1.2", "cmi.interactions.n.id"),
    ("1.2", "cmi.interactions[0].id"),
    ("2004", "cmi.core.lesson_status"),  # 1.2 name in a 2004 commit
    ("2004", "cmi.student_preference.audio"),
    ("2004", "cmi.interactions.0.student_response"),
    ("2004", "cmi.interactions.-1.id"),
    ("2004", "adl.data.0.value"),
    ("2004", "cmi.unknown_collection"),
    ("2004", "cmi"),
    ("2004", ""),
]


@pytest.mark.parametrize(("version", "element"), UNKNOWN)
def test_unknown_elements(version, element):
    clean, violations = validate_commit(version, {element: "x"})
    assert [(v.element, v.code) for v in violations] == [(element, "unknown_element")]
    assert clean == {}


def test_unknown_empty_container_is_a_violation():
    _, violations = validate_commit("2004", {"cmi.foo": {}})
    assert codes(violations) == {"cmi.foo": "unknown_element"}


# ------------------------------------------------------------------ value normalisation
@pytest.mark.parametrize(
    ("version", "element", "raw", "stored"),
    [
        ("1.2", "cmi.core.score.raw", 80, "80"),
        ("1.2", "cmi.core.score.raw", 72.5, "72.5"),
        ("1.2", "cmi.core.score.raw", 80.0, "80"),
        ("2004", "cmi.score.scaled", 0.8, "0.8"),
        ("2004", "cmi.score.scaled", 1e-07, "0.0000001"),
        ("2004", "cmi.score.raw", -3, "-3"),
        ("2004", "cmi.location", None, ""),
        ("2004", "cmi.completion_status", "", ""),
        ("1.2", "cmi.core.lesson_status", "", ""),
        ("1.2", "cmi.core.exit", "", ""),
        ("2004", "cmi.exit", "", ""),
        ("2004", "cmi.interactions.0.id", "", ""),
    ],
)
def test_values_are_normalised_to_str(version, element, raw, stored):
    clean, violations = validate_commit(version, {element: raw})
    assert violations == []
    assert clean == {element: stored}


@pytest.mark.parametrize("raw", [True, False, {"a": 1}, [1], float("nan"), float("inf")])
def test_non_scalar_values_are_type_violations(raw):
    clean, violations = validate_commit("2004", {"cmi.score.raw": raw})
    assert codes(violations) == {"cmi.score.raw": "type"}
    assert clean == {}


def test_unknown_version_rejected():
    with pytest.raises(ValueError):
        validate_commit("1.3", {})


def test_violation_as_dict():
    v = Violation("cmi.exit", "vocabulary", "bad")
    assert v.as_dict() == {"element": "cmi.exit", "code": "vocabulary", "message": "bad"}


def test_commit_keeps_valid_elements_when_others_fail():
    clean, violations = validate_commit(
        "2004",
        {"cmi.location": "ok", "cmi.score.scaled": "7", "cmi.learner_id": "u1", "cmi.bogus": "x"},
    )
    assert clean == {"cmi.location": "ok"}
    assert codes(violations) == {
        "cmi.score.scaled": "out_of_range",
        "cmi.bogus": "unknown_element",
    }


# ------------------------------------------------------------------ index gaps
def test_index_gap_in_interactions_is_a_violation_and_tail_dropped():
    clean, violations = validate_commit(
        "2004",
        {
            "cmi.interactions.0.id": "q0",
            "cmi.interactions.1.id": "q1",
            "cmi.interactions.3.id": "q3",
            "cmi.interactions.3.result": "correct",
            "cmi.interactions.4.id": "q4",
        },
    )
    assert codes(violations) == {"cmi.interactions.3": "index_gap"}
    assert clean == {"cmi.interactions.0.id": "q0", "cmi.interactions.1.id": "q1"}


def test_index_gap_in_nested_collection():
    clean, violations = validate_commit(
        "1.2",
        {
            "cmi.interactions.0.id": "q0",
            "cmi.interactions.0.correct_responses.1.pattern": "a",
        },
    )
    assert codes(violations) == {"cmi.interactions.0.correct_responses.1": "index_gap"}
    assert clean == {"cmi.interactions.0.id": "q0"}


def test_index_gap_in_objectives_starting_above_zero():
    _, violations = validate_commit("1.2", {"cmi.objectives.2.id": "o2"})
    assert codes(violations) == {"cmi.objectives.2": "index_gap"}


def test_empty_container_counts_as_existing_index():
    # scorm-again emits "cmi.interactions.1.objectives": {} for an interaction whose
    # other fields may all be read-only/empty; index 1 exists, so 2 is no gap
    clean, violations = validate_commit(
        "1.2",
        {
            "cmi.interactions.0.id": "a",
            "cmi.interactions.1.objectives": {},
            "cmi.interactions.2.id": "c",
        },
    )
    assert violations == []
    assert clean == {"cmi.interactions.0.id": "a", "cmi.interactions.2.id": "c"}


# ------------------------------------------------------------------ 2004 responses per type
RESPONSES = [
    ("true-false", "learner_response", "true", None),
    ("true-false", "learner_response", "t", "type"),
    ("true-false", "correct_responses.0.pattern", "false", None),
    ("true-false", "correct_responses.0.pattern", "1", "type"),
    ("choice", "learner_response", "a[,]c", None),
    ("choice", "learner_response", "a[,]a", "type"),
    ("choice", "learner_response", "a[,]", "type"),
    ("choice", "correct_responses.0.pattern", "c[,]a", None),
    ("sequencing", "learner_response", "x[,]y[,]x", None),
    ("sequencing", "learner_response", "x[,][,]y", "type"),
    ("likert", "learner_response", "agree", None),
    ("likert", "learner_response", "agree[,]disagree", "type"),
    ("matching", "learner_response", "a[.]1[,]b[.]2", None),
    ("matching", "learner_response", "a[.]1[,]b", "type"),
    ("matching", "correct_responses.0.pattern", "a[.]", "type"),
    ("numeric", "learner_response", "42.5", None),
    ("numeric", "learner_response", "forty", "type"),
    ("numeric", "correct_responses.0.pattern", "40[:]45", None),
    ("numeric", "correct_responses.0.pattern", "[:]45", None),
    ("numeric", "correct_responses.0.pattern", "42", None),
    ("numeric", "correct_responses.0.pattern", "45[:]40", "type"),
    ("numeric", "correct_responses.0.pattern", "a[:]b", "type"),
    ("fill-in", "learner_response", "{lang=en}Hai Phong", None),
    ("long-fill-in", "learner_response", "Một đoạn văn dài.\nDòng hai.", None),
    ("performance", "learner_response", "step1[.]ans1[,]step2[.]5", None),
    ("other", "learner_response", "anything [,] goes", None),
]


@pytest.mark.parametrize(("itype", "field", "value", "code"), RESPONSES)
def test_2004_response_formats_follow_interaction_type(itype, field, value, code):
    element = f"cmi.interactions.0.{field}"
    commit = {"cmi.interactions.0.id": "q", "cmi.interactions.0.type": itype, element: value}
    clean, violations = validate_commit("2004", commit)
    if code is None:
        assert violations == []
        assert clean[element] == value
    else:
        assert codes(violations) == {element: code}
        assert element not in clean


def test_12_responses_are_length_checked_only():
    commit = {"cmi.interactions.0.type": "true-false", "cmi.interactions.0.student_response": "x"}
    clean, violations = validate_commit("1.2", commit)
    assert violations == [] and clean["cmi.interactions.0.student_response"] == "x"


# ------------------------------------------------------------------ table sanity
def test_rule_table_is_one_list_for_both_versions():
    versions = {v for rule in RULES for v in rule.versions}
    assert versions == {"1.2", "2004"}
    keys = [(rule.pattern, v) for rule in RULES for v in rule.versions]
    assert len(keys) == len(set(keys))
    assert all(rule.access in ("ro", "wo", "rw") for rule in RULES)
    assert all(rule.server_owned <= (rule.access == "ro") for rule in RULES)


@pytest.mark.parametrize(
    ("version", "element", "pattern", "access"),
    [
        (
            "1.2",
            "cmi.interactions.12.correct_responses.3.pattern",
            "cmi.interactions.n.correct_responses.n.pattern",
            "wo",
        ),
        ("1.2", "cmi.core.lesson_status", "cmi.core.lesson_status", "rw"),
        (
            "2004",
            "cmi.interactions.0.learner_response",
            "cmi.interactions.n.learner_response",
            "rw",
        ),
        ("2004", "cmi.session_time", "cmi.session_time", "wo"),
        ("2004", "cmi.learner_id", "cmi.learner_id", "ro"),
        ("2004", "adl.nav.request_valid.jump.{target=a.b}", "adl.nav.request_valid.*", "ro"),
    ],
)
def test_find_rule(version, element, pattern, access):
    rule = find_rule(version, element)
    assert rule is not None
    assert (rule.pattern, rule.access) == (pattern, access)


# ------------------------------------------------------------------ records
def test_interactions_records_2004():
    clean, _ = validate_commit("2004", EMITTED_2004_TERMINATE)
    records = interactions("2004", clean)
    assert [r["index"] for r in records] == list(range(10))
    first = records[0]
    assert first == {
        "index": 0,
        "id": "urn:q:0",
        "type": "true-false",
        "timestamp": "2024-03-01T08:00:00.5+07:00",
        "weighting": "1.5",
        "learner_response": "true",
        "result": "incorrect",
        "latency": "PT1M2.25S",
        "description": "{lang=vi}Câu hỏi 0",
        "correct_responses": ["false"],
        "objectives": ["obj_0"],
    }
    assert records[1]["correct_responses"] == ["a[,]c", "c[,]a"]


def test_interactions_records_12_same_shape():
    clean, _ = validate_commit("1.2", EMITTED_12_TERMINATE)
    records = interactions("1.2", clean)
    assert [r["id"] for r in records] == ["Q1", "Q2", "Q3"]
    assert records[0]["timestamp"] == "09:15:00"
    assert records[0]["learner_response"] == "f"
    assert records[0]["objectives"] == ["obj-1"]
    assert records[0]["description"] == ""
    assert records[1]["correct_responses"] == ["a,b", "b,a"]
    assert records[2]["correct_responses"] == [] and records[2]["result"] == "75"
    keys_12 = set(records[0])
    clean04, _ = validate_commit("2004", EMITTED_2004_TERMINATE)
    assert keys_12 == set(interactions("2004", clean04)[0])


def test_interactions_ordered_numerically_not_lexically():
    clean = {f"cmi.interactions.{i}.id": f"q{i}" for i in (10, 2, 0, 1, 3, 4, 5, 6, 7, 8, 9)}
    assert [r["index"] for r in interactions("2004", clean)] == list(range(11))


def test_objectives_records_2004():
    clean, _ = validate_commit("2004", EMITTED_2004_TERMINATE)
    first, second = objectives("2004", clean)
    assert first == {
        "index": 0,
        "id": "obj_0",
        "score_raw": "-5",
        "score_min": "-20",
        "score_max": "20",
        "score_scaled": "-0.25",
        "success_status": "failed",
        "completion_status": "completed",
        "progress_measure": "1",
        "description": "{lang=en-US}First objective",
    }
    assert (second["success_status"], second["completion_status"]) == ("unknown", "unknown")


@pytest.mark.parametrize(
    ("status", "completion", "success"),
    [
        ("passed", "completed", "passed"),
        ("failed", "completed", "failed"),
        ("completed", "completed", "unknown"),
        ("incomplete", "incomplete", "unknown"),
        ("browsed", "incomplete", "unknown"),
        ("not attempted", "not attempted", "unknown"),
        ("", "unknown", "unknown"),
    ],
)
def test_objectives_records_12_status_mapping(status, completion, success):
    clean = {"cmi.objectives.0.id": "o", "cmi.objectives.0.status": status}
    (record,) = objectives("1.2", clean)
    assert (record["completion_status"], record["success_status"]) == (completion, success)
    assert record["score_scaled"] == "" and record["progress_measure"] == ""
