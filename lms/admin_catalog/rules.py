"""The catalog's rules: one set for the YAML seed (`courses/catalog.yaml`) and the admin forms.

Each check returns a list of problems, `(field, message)`, so a form can show the message next
to its field and a seed run can print them all at once. Nothing here touches the database;
the checks that need it (a code already taken, how many modules a programme has) are made by
`service.py` with the numbers passed in.

Codes, titles, competency levels and the number of objectives have the limits of the module
sources, defined once in `lms/coursebuild/source.py` (importable without Flask): lowercase
letters, digits and '-' (at most 40), titles of at most 300, levels 1–8, 2–4 objectives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..coursebuild.source import (  # the limits module sources follow too
    CODE_MAX,
    CODE_RE,
    LEVEL_MAX,
    LEVEL_MIN,
    OBJECTIVES_MAX,
    OBJECTIVES_MIN,
    TITLE_MAX,
)
from .text import _

Problem = tuple[str, str]

KINDS = ("programme", "class")
DONE_WHEN = ("passed", "completed")
COMPLETION_MODES = ("all", "count")
MINUTES_MIN, MINUTES_MAX = 1, 240


def check_code(code: object) -> list[Problem]:
    if not isinstance(code, str) or not code.strip():
        return [("code", _("Hãy nhập mã."))]
    if len(code) > CODE_MAX:
        return [("code", _("Mã dài tối đa %(n)s ký tự.", n=CODE_MAX))]
    if not CODE_RE.match(code):
        return [("code", _("Mã chỉ gồm chữ thường không dấu, chữ số và dấu '-' "
                           "(ví dụ: lop-5, l5-cd1)."))]
    return []


def check_title(title: object) -> list[Problem]:
    if not isinstance(title, str) or not title.strip():
        return [("title", _("Hãy nhập tên."))]
    if len(title) > TITLE_MAX:
        return [("title", _("Tên dài tối đa %(n)s ký tự.", n=TITLE_MAX))]
    return []


def check_audience(audience: object, known_groups: Iterable[str]) -> list[Problem]:
    known = set(known_groups)
    if not isinstance(audience, list) or not audience:
        return [("audience", _("Hãy chọn ít nhất một nhóm đối tượng."))]
    unknown = [g for g in audience if g not in known]
    if unknown:
        return [("audience", _("Nhóm đối tượng không có trong khung năng lực: %(g)s.",
                               g=", ".join(map(str, unknown))))]
    return []


def check_target_rate(rate: object) -> list[Problem]:
    if not isinstance(rate, int) or isinstance(rate, bool) or not 0 <= rate <= 100:
        return [("target_rate", _("Tỉ lệ mục tiêu phải là số nguyên từ 0 đến 100."))]
    return []


def check_completion(rule: object, required_modules: int | None) -> list[Problem]:
    """`{"mode": "all"}` or `{"mode": "count", "count": N}` with 1 ≤ N ≤ required modules.

    `required_modules` is the number of live required modules of the programme (None: unknown,
    as in the YAML file before the modules are loaded — then only N ≥ 1 is checked).
    """
    if not isinstance(rule, Mapping) or rule.get("mode") not in COMPLETION_MODES:
        return [("completion_mode", _("Quy tắc hoàn thành phải là «tất cả» hoặc «đủ N học phần»."))]
    if rule["mode"] == "all":
        return []
    count = rule.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        return [("completion_count", _("Số học phần cần đạt phải là số nguyên từ 1 trở lên."))]
    if required_modules is not None and count > required_modules:
        if required_modules == 0:
            return [("completion_count", _(
                "Chương trình chưa có học phần bắt buộc nào: hãy chọn «tất cả học phần bắt buộc» "
                "và đổi quy tắc sau khi thêm học phần."))]
        return [("completion_count", _(
            "Số học phần cần đạt (%(n)s) lớn hơn số học phần bắt buộc đang có (%(m)s).",
            n=count, m=required_modules))]
    return []


def check_programme(data: Mapping, known_groups: Iterable[str],
                    required_modules: int | None = None) -> list[Problem]:
    """A programme or class as in catalog.yaml: code, kind, title, audience, target_rate,
    completion."""
    problems = check_code(data.get("code")) + check_title(data.get("title"))
    if data.get("kind", "class") not in KINDS:
        problems.append(("kind", _("Loại phải là «chương trình» hoặc «lớp học».")))
    problems += check_audience(list(data.get("audience") or []), known_groups)
    problems += check_target_rate(data.get("target_rate", 80))
    problems += check_completion(data.get("completion", {"mode": "all"}), required_modules)
    return problems


def check_topic(data: Mapping) -> list[Problem]:
    return check_code(data.get("code")) + check_title(data.get("title"))


def check_objectives(objectives: object) -> list[Problem]:
    if (not isinstance(objectives, list)
            or not OBJECTIVES_MIN <= len(objectives) <= OBJECTIVES_MAX
            or not all(isinstance(o, str) and o.strip() for o in objectives)):
        return [("objectives", _("Cần từ %(a)s đến %(b)s mục tiêu, mỗi dòng một mục tiêu.",
                                 a=OBJECTIVES_MIN, b=OBJECTIVES_MAX))]
    return []


def check_competencies(levels: Mapping[str, object], known: Iterable[str]) -> list[Problem]:
    """`{competency id: level}`: at least one, every id in the framework, levels 1–8."""
    known_ids = set(known)
    if not levels:
        return [("competencies", _("Hãy gắn học phần với ít nhất một năng lực của khung."))]
    problems: list[Problem] = []
    for cid, level in levels.items():
        if cid not in known_ids:
            problems.append(("competencies", _("Năng lực %(c)s không có trong khung đang dùng.",
                                               c=cid)))
        elif (not isinstance(level, int) or isinstance(level, bool)
              or not LEVEL_MIN <= level <= LEVEL_MAX):
            problems.append(("competencies", _("Mức của năng lực %(c)s phải từ %(a)s đến %(b)s.",
                                               c=cid, a=LEVEL_MIN, b=LEVEL_MAX)))
    return problems


def check_module(data: Mapping, known_groups: Iterable[str],
                 known_competencies: Iterable[str]) -> list[Problem]:
    """A module: code, title, summary, objectives, audience, minutes, done_when and its
    framework mapping (`competencies`: {id: level})."""
    problems = check_code(data.get("code")) + check_title(data.get("title"))
    summary = data.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        problems.append(("summary", _("Hãy nhập phần giới thiệu ngắn.")))
    problems += check_objectives(data.get("objectives"))
    problems += check_audience(list(data.get("audience") or []), known_groups)
    minutes = data.get("minutes")
    if minutes is not None and (not isinstance(minutes, int) or isinstance(minutes, bool)
                                or not MINUTES_MIN <= minutes <= MINUTES_MAX):
        problems.append(("minutes", _("Thời lượng phải từ %(a)s đến %(b)s phút.",
                                      a=MINUTES_MIN, b=MINUTES_MAX)))
    if data.get("done_when", "passed") not in DONE_WHEN:
        problems.append(("done_when", _("Điều kiện hoàn thành phải là «đạt bài kiểm tra» "
                                        "hoặc «học xong».")))
    problems += check_competencies(data.get("competencies") or {}, known_competencies)
    return problems
