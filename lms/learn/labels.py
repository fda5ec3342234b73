"""Translatable words for progress: status names, the completion rule, time, levels.

The Vietnamese texts are those of `lms.progress` (the tests check that they stay equal), marked
for translation here so the catalog pages can be shown in English too.
"""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext, ngettext

from .. import progress
from ..models import FrameworkVersion, Programme

STATUS = {
    progress.NOT_STARTED: lazy_gettext("Chưa học"),
    progress.IN_PROGRESS: lazy_gettext("Đang học"),
    progress.COMPLETED: lazy_gettext("Đã hoàn thành"),
    progress.PASSED: lazy_gettext("Đạt"),
    progress.FAILED: lazy_gettext("Chưa đạt"),
}


def status_label(status: str) -> str:
    return str(STATUS[status])


def rule_words(programme: Programme) -> str:
    """`progress.rule_text` in the interface language."""
    rule = programme.completion_rule or {}
    if rule.get("mode") == "count":
        base = gettext("Hoàn thành khi đạt ít nhất %(count)s học phần bắt buộc",
                       count=rule.get("count"))
    else:
        base = gettext("Hoàn thành khi đạt tất cả học phần bắt buộc")
    return base + gettext(" (mỗi học phần: xem bài giảng và đạt bài kiểm tra cuối bài).")


def time_spent(seconds: float | None) -> str:
    minutes = round((seconds or 0) / 60)
    if not seconds:
        return gettext("chưa có")
    if minutes < 1:
        return gettext("dưới 1 phút")
    if minutes < 60:
        return ngettext("%(num)s phút", "%(num)s phút", minutes)
    hours, rest = divmod(minutes, 60)
    return gettext("%(hours)s giờ %(minutes)s phút", hours=hours, minutes=rest)


def minutes_text(minutes: int | None) -> str:
    if not minutes:
        return ""
    return ngettext("khoảng %(num)s phút", "khoảng %(num)s phút", minutes)


def level_text(framework: FrameworkVersion | None, level: int) -> str:
    """"mức 1 (CB1, Cơ bản)" from the framework's table of levels."""
    for row in (framework.data or {}).get("levels", []) if framework else []:
        if row.get("level") == level:
            return gettext("mức %(level)s (%(code)s, %(tier)s)", level=level,
                           code=row.get("code", ""), tier=row.get("tier", ""))
    return gettext("mức %(level)s", level=level)


def kind_label(kind: str) -> str:
    return gettext("Lớp") if kind == "class" else gettext("Chương trình")
