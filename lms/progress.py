"""A learner's progress through the catalog, derived from SCORM registrations.

Module status comes from the registration of the module's package; topics and programmes roll
up by the rules stored with the catalog (`Module.done_when`, `Programme.completion_rule`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .extensions import db
from .models import Module, Programme, Registration, Topic

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
PASSED = "passed"
FAILED = "failed"

LABELS = {
    NOT_STARTED: "Chưa học",
    IN_PROGRESS: "Đang học",
    COMPLETED: "Đã hoàn thành",
    PASSED: "Đạt",
    FAILED: "Chưa đạt",
}


@dataclass(frozen=True)
class ModuleProgress:
    status: str
    score: int | None  # percent
    seconds: float
    done: bool

    @property
    def label(self) -> str:
        return LABELS[self.status]


@dataclass(frozen=True)
class Rollup:
    done: int
    required: int
    needed: int  # how many required modules the rule asks for
    started: bool

    @property
    def complete(self) -> bool:
        return self.required > 0 and self.done >= self.needed

    @property
    def percent(self) -> int:
        return 0 if not self.needed else min(100, round(100 * self.done / self.needed))

    @property
    def status(self) -> str:
        if self.complete:
            return COMPLETED
        return IN_PROGRESS if self.started else NOT_STARTED

    @property
    def label(self) -> str:
        return LABELS[self.status]


EMPTY = ModuleProgress(NOT_STARTED, None, 0.0, False)


def module_status(module: Module, reg: Registration | None) -> ModuleProgress:
    if reg is None:
        return EMPTY
    score = None if reg.score_scaled is None else round(reg.score_scaled * 100)
    if reg.success_status == "passed":
        status = PASSED
    elif reg.completion_status == "completed" and reg.success_status != "failed":
        status = COMPLETED
    elif reg.success_status == "failed":
        status = FAILED
    elif reg.completion_status in ("not attempted", "unknown") and not reg.total_seconds:
        status = NOT_STARTED
    else:
        status = IN_PROGRESS
    if module.done_when == "completed":
        done = status in (PASSED, COMPLETED) or reg.completion_status == "completed"
    else:
        done = status == PASSED
    return ModuleProgress(status, score, reg.total_seconds or 0.0, done)


def registrations_for(user_id: int, modules: Iterable[Module]) -> dict[int, Registration]:
    package_ids = {m.package_id for m in modules if m.package_id is not None}
    if not package_ids:
        return {}
    rows = db.session.scalars(
        db.select(Registration).where(
            Registration.user_id == user_id, Registration.package_id.in_(package_ids)
        )
    )
    return {r.package_id: r for r in rows}


def modules_progress(user_id: int | None, modules: list[Module]) -> dict[int, ModuleProgress]:
    regs = registrations_for(user_id, modules) if user_id else {}
    return {m.id: module_status(m, regs.get(m.package_id)) for m in modules}


def _rollup(modules: list[Module], progress: dict[int, ModuleProgress], rule: dict) -> Rollup:
    required = [m for m in modules if m.required and m.retired_at is None]
    done = sum(progress[m.id].done for m in required)
    started = any(progress[m.id].status != NOT_STARTED for m in modules)
    return Rollup(done, len(required), needed_modules(len(required), rule), started)


def needed_modules(required: int, rule: dict | None) -> int:
    """How many of `required` modules a completion rule asks for: all of them, or
    {"mode": "count", "count": N} of them (never more than there are)."""
    rule = rule or {}
    if rule.get("mode") == "count":
        return min(required, int(rule.get("count", required)))
    return required


def live_modules(programme: Programme) -> list[Module]:
    return [
        m
        for t in programme.topics
        if t.retired_at is None
        for m in t.modules
        if m.retired_at is None
    ]


def topic_rollup(topic: Topic, progress: dict[int, ModuleProgress]) -> Rollup:
    modules = [m for m in topic.modules if m.retired_at is None]
    return _rollup(modules, progress, {"mode": "all"})


def programme_rollup(programme: Programme, progress: dict[int, ModuleProgress]) -> Rollup:
    return _rollup(live_modules(programme), progress, programme.completion_rule or {})


def rule_text(programme: Programme) -> str:
    """The completion rule in words, shown to learners."""
    rule = programme.completion_rule or {}
    if rule.get("mode") == "count":
        base = f"Hoàn thành khi đạt ít nhất {rule.get('count')} học phần bắt buộc"
    else:
        base = "Hoàn thành khi đạt tất cả học phần bắt buộc"
    return base + " (mỗi học phần: xem bài giảng và đạt bài kiểm tra cuối bài)."
