"""Who earns a certificate, and what it attests.

A programme (or class) issues a certificate when `Programme.certificate` is on and the learner
meets its completion rule (`Programme.completion_rule` over the modules marked `required`, each
done as `Module.done_when` says; see lms.progress). The competencies attested are derived from
the framework mapping of the required modules the learner has done: every competency of the
framework version the mapping points at, at the highest level any of those modules maps it to,
grouped by the framework's domains in the framework's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..extensions import db
from ..models import FrameworkCompetency, FrameworkVersion, Module, Programme, Registration, User
from ..progress import Rollup, live_modules, modules_progress, programme_rollup, registrations_for


@dataclass
class Eligibility:
    eligible: bool
    reason: str
    rollup: Rollup | None = None
    done_modules: list[Module] = field(default_factory=list)
    missing_modules: list[Module] = field(default_factory=list)
    completed_on: date | None = None


def eligibility(user: User, programme: Programme) -> Eligibility:
    if not programme.certificate:
        return Eligibility(False, "Chương trình này không cấp chứng chỉ.")
    if programme.retired_at is not None:
        return Eligibility(False, "Chương trình đã ngừng.")
    modules = live_modules(programme)
    progress = modules_progress(user.id, modules)
    rollup = programme_rollup(programme, progress)
    required = [m for m in modules if m.required]
    done = [m for m in required if progress[m.id].done]
    missing = [m for m in required if not progress[m.id].done]
    if not rollup.complete:
        return Eligibility(False, "Chưa hoàn thành các học phần bắt buộc.", rollup, done, missing)
    return Eligibility(True, "", rollup, done, missing, _completed_on(user.id, done))


def _completed_on(user_id: int, done: list[Module]) -> date:
    """The day the last required module was done (completion or the pass, whichever is later)."""
    regs: dict[int, Registration] = registrations_for(user_id, done)
    stamps = [
        max(filter(None, (r.completed_at, r.updated_at)))
        for r in regs.values()
        if r.completed_at or r.updated_at
    ]
    return max(stamps).date() if stamps else date.today()


@dataclass(frozen=True)
class Attested:
    framework: FrameworkVersion | None
    domains: list[dict]  # [{"code", "name", "competencies": [{"code", "name", "level", ...}]}]


def level_code(framework: FrameworkVersion, level: int) -> str:
    for row in (framework.data or {}).get("levels", []):
        if int(row.get("level", 0)) == level:
            return str(row.get("code", level))
    return str(level)


def attested_competencies(modules: list[Module]) -> Attested:
    """Highest level per competency over `modules`, grouped by domain (framework order)."""
    best: dict[int, tuple[FrameworkCompetency, int]] = {}
    for module in modules:
        for mc in module.competencies:
            held = best.get(mc.competency_id)
            if held is None or mc.level > held[1]:
                best[mc.competency_id] = (mc.competency, mc.level)
    if not best:
        return Attested(None, [])
    frameworks = {comp.framework_id for comp, _ in best.values()}
    if len(frameworks) > 1:
        # Mixed mappings (an old and a new framework version): attest the newest one only.
        newest = max(frameworks)
        best = {k: v for k, v in best.items() if v[0].framework_id == newest}
    framework = db.session.get(FrameworkVersion, next(iter(best.values()))[0].framework_id)
    domains: dict[str, dict] = {}
    for comp, level in sorted(best.values(), key=lambda v: v[0].position):
        domain = domains.setdefault(comp.domain_code, {
            "code": comp.domain_code, "name": comp.domain_name, "competencies": [],
        })
        domain["competencies"].append({
            "code": comp.code, "name": comp.name, "level": level,
            "level_code": level_code(framework, level),
        })
    return Attested(framework, list(domains.values()))


def target_group_names(programme: Programme, framework: FrameworkVersion | None) -> str:
    names = {
        g.get("id"): g.get("name")
        for g in ((framework.data or {}).get("target_groups", []) if framework else [])
    }
    return "; ".join(names.get(code) or code for code in (programme.audience or []))
