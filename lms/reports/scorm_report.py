"""SCORM report of one module: score distribution, pass rate, average time, and per question
(from `cmi.interactions`) how many learners answered it right or wrong.

The figures come from `DashModuleStats` / `DashQuestionStats`, rebuilt by the dashboard refresh
(`lms.reports.dashboard.refresh`) per package and learner unit (their unit, else the commune they
live in), so a unit manager's report is the sum of their unit's rows and an admin's the sum of
all of them.

- started: the registration's status is not "not started" (`lms.progress`);
- pass rate: passed / (passed + failed), among learners the quiz decided;
- average time: total time of started learners / started;
- score histogram: the registration's scaled score (the best attempt's rollup) in tenths;
- a question: each learner's last recorded answer to an interaction id (latest attempt, then the
  latest journal entry), counted correct ("correct") or wrong ("wrong" in SCORM 1.2,
  "incorrect" in 2004); other results (neutral, unanticipated, numeric) count as answered only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, case, delete, func, insert, select

from ..extensions import db
from ..models import (
    Attempt,
    DashModuleStats,
    DashQuestionStats,
    Interaction,
    Module,
    Registration,
    ScoState,
    User,
)
from ..progress import NOT_STARTED
from .roster import EXCLUDED_ROLES, learner_unit, status_expr

BUCKETS = 10
WRONG = ("wrong", "incorrect")


def _flag(cond) -> object:
    return case((cond, 1), else_=0)


def _live_packages() -> list[int]:
    return sorted(set(db.session.scalars(select(Module.package_id).where(
        Module.package_id.is_not(None), Module.retired_at.is_(None)))))


def _bucket_expr(score) -> object:
    whens = [(score >= k / BUCKETS, k) for k in range(BUCKETS - 1, 0, -1)]
    return case(*whens, else_=0)


def refresh_module_stats() -> None:
    """Rebuild the per-module figures (called inside the dashboard refresh's transaction)."""
    db.session.execute(delete(DashModuleStats))
    db.session.execute(delete(DashQuestionStats))
    packages = _live_packages()
    if not packages:
        return
    r, u = Registration, User
    unit = learner_unit(u)
    started = status_expr(r) != NOT_STARTED
    bucket = _bucket_expr(r.score_scaled)
    cols = [r.package_id, unit.label("unit_id"), func.count(), func.sum(_flag(started)),
            func.sum(_flag(r.completion_status == "completed")),
            func.sum(_flag(r.success_status == "passed")),
            func.sum(_flag(r.success_status == "failed")),
            func.sum(case((started, r.total_seconds), else_=0.0))]
    cols += [func.sum(_flag(and_(r.score_scaled.is_not(None), bucket == k)))
             for k in range(BUCKETS)]
    q = (select(*cols).join(u, u.id == r.user_id)
         .where(r.package_id.in_(packages), u.role.not_in(EXCLUDED_ROLES))
         .group_by(r.package_id, unit))
    rows = [{"package_id": row[0], "unit_id": row[1], "registered": int(row[2] or 0),
             "started": int(row[3] or 0), "completed": int(row[4] or 0),
             "passed": int(row[5] or 0), "failed": int(row[6] or 0),
             "seconds": float(row[7] or 0.0), "buckets": [int(v or 0) for v in row[8:]]}
            for row in db.session.execute(q)]
    if rows:
        db.session.execute(insert(DashModuleStats), rows)

    i, s, a = Interaction, ScoState, Attempt
    ranked = (select(r.package_id, unit.label("unit_id"), i.interaction_id, i.result,
                     i.description,
                     func.row_number().over(
                         partition_by=(r.id, i.interaction_id),
                         order_by=(a.number.desc(), s.updated_at.desc(), i.idx.desc()),
                     ).label("rn"))
              .select_from(i).join(s, s.id == i.sco_state_id).join(a, a.id == s.attempt_id)
              .join(r, r.id == a.registration_id).join(u, u.id == r.user_id)
              .where(r.package_id.in_(packages), u.role.not_in(EXCLUDED_ROLES),
                     i.interaction_id != "")
              .subquery("ranked"))
    last = (select(ranked.c.package_id, ranked.c.unit_id, ranked.c.interaction_id,
                   func.max(ranked.c.description), func.count(),
                   func.sum(_flag(ranked.c.result == "correct")),
                   func.sum(_flag(ranked.c.result.in_(WRONG))))
            .where(ranked.c.rn == 1)
            .group_by(ranked.c.package_id, ranked.c.unit_id, ranked.c.interaction_id))
    db.session.execute(insert(DashQuestionStats.__table__).from_select(
        ["package_id", "unit_id", "interaction_id", "description", "answered", "correct",
         "wrong"], last))


# --- reading ----------------------------------------------------------------------------------


@dataclass
class Question:
    interaction_id: str
    description: str
    answered: int
    correct: int
    wrong: int

    @property
    def wrong_rate(self) -> float:
        return 100.0 * self.wrong / self.answered if self.answered else 0.0


@dataclass
class ModuleReport:
    module: Module
    unit_id: int | None
    registered: int = 0
    started: int = 0
    completed: int = 0
    passed: int = 0
    failed: int = 0
    seconds: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    questions: list[Question] = field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        decided = self.passed + self.failed
        return None if not decided else 100.0 * self.passed / decided

    @property
    def average_minutes(self) -> float | None:
        return None if not self.started else self.seconds / self.started / 60.0

    @property
    def scored(self) -> int:
        return sum(self.buckets)

    @staticmethod
    def bucket_labels() -> list[str]:
        step = 100 // BUCKETS
        return [f"{k * step}–{k * step + step - 1}%" if k < BUCKETS - 1 else f"{k * step}–100%"
                for k in range(BUCKETS)]


def most_wrong_first(questions: Iterable[Question]) -> list[Question]:
    """Most learners wrong first; then the larger wrong share; then the question id."""
    return sorted(questions, key=lambda q: (-q.wrong, -q.wrong_rate, q.interaction_id))


def module_report(module: Module, unit_id: int | None = None) -> ModuleReport:
    """The module's report for the whole city (unit_id None) or one unit's learners."""
    report = ModuleReport(module, unit_id)
    if module.package_id is None:
        return report
    m = DashModuleStats
    q = select(m).where(m.package_id == module.package_id)
    if unit_id is not None:
        q = q.where(m.unit_id == unit_id)
    for row in db.session.scalars(q):
        report.registered += row.registered
        report.started += row.started
        report.completed += row.completed
        report.passed += row.passed
        report.failed += row.failed
        report.seconds += row.seconds or 0.0
        for k, v in enumerate((row.buckets or [])[:BUCKETS]):
            report.buckets[k] += int(v)
    qs = DashQuestionStats
    qq = (select(qs.interaction_id, func.max(qs.description), func.sum(qs.answered),
                 func.sum(qs.correct), func.sum(qs.wrong))
          .where(qs.package_id == module.package_id).group_by(qs.interaction_id))
    if unit_id is not None:
        qq = qq.where(qs.unit_id == unit_id)
    report.questions = most_wrong_first(
        Question(iid, desc or "", int(a or 0), int(c or 0), int(w or 0))
        for iid, desc, a, c, w in db.session.execute(qq))
    return report


# --- CSV (UTF-8 with BOM, so Excel shows Vietnamese) ------------------------------------------


def _csv(rows: Iterable[list[object]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}".replace(".", ",")


def questions_csv(report: ModuleReport) -> bytes:
    header = ["Mã câu hỏi", "Nội dung câu hỏi", "Số người trả lời", "Trả lời đúng",
              "Trả lời sai", "Tỷ lệ sai (%)"]
    return _csv([header] + [[q.interaction_id, q.description, q.answered, q.correct, q.wrong,
                             _pct(q.wrong_rate)] for q in report.questions])


def scores_csv(report: ModuleReport) -> bytes:
    rows: list[list[object]] = [["Khoảng điểm", "Số học viên"]]
    rows += [[label, n] for label, n in zip(report.bucket_labels(), report.buckets, strict=True)]
    rows += [[], ["Chỉ số", "Giá trị"],
             ["Học phần", f"{report.module.code} {report.module.title}"],
             ["Đã ghi danh", report.registered], ["Đã bắt đầu", report.started],
             ["Hoàn thành", report.completed], ["Đạt", report.passed],
             ["Chưa đạt", report.failed], ["Tỷ lệ đạt (%)", _pct(report.pass_rate)],
             ["Thời gian trung bình (phút)", _pct(report.average_minutes)]]
    return _csv(rows)
