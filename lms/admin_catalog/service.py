"""Changes to the catalog made by admins: each save is checked against `rules.py`, written in
one transaction together with its audit entry (before/after), and nothing is ever deleted —
programmes, topics and modules are retired and can be restored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..catalog import active_framework
from ..extensions import db
from ..models import (
    FrameworkVersion,
    Module,
    ModuleCompetency,
    Package,
    Programme,
    Registration,
    Topic,
)
from . import rules
from .text import _

CatalogItem = Programme | Topic | Module
KIND_OF = {Programme: "programme", Topic: "topic", Module: "module"}


class CatalogInvalid(ValueError):
    """The change was refused; `problems` are (field, message) pairs for the form."""

    def __init__(self, problems: list[rules.Problem]):
        super().__init__("; ".join(message for _field, message in problems))
        self.problems = problems


@contextmanager
def _saving() -> Iterator[None]:
    """One transaction for a save and its audit entry; a code taken meanwhile by a concurrent
    save (the unique index) is reported like any other duplicate."""
    try:
        yield
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise CatalogInvalid([("code", _("Mã này đã được dùng."))]) from exc
    except BaseException:
        db.session.rollback()
        raise


# --- framework ------------------------------------------------------------------------------


def framework() -> FrameworkVersion | None:
    return active_framework()


def target_groups(fw: FrameworkVersion | None) -> list[tuple[str, str]]:
    groups = (fw.data or {}).get("target_groups", []) if fw else []
    return [(str(g["id"]), str(g["name"])) for g in groups]


def levels(fw: FrameworkVersion | None) -> list[tuple[int, str]]:
    rows = (fw.data or {}).get("levels", []) if fw else []
    found = [(int(r["level"]), f"{r['level']} — {r.get('code', '')} ({r.get('tier', '')})")
             for r in rows]
    return found or [(n, str(n)) for n in range(rules.LEVEL_MIN, rules.LEVEL_MAX + 1)]


# --- snapshots for the audit log -----------------------------------------------------------


def snapshot(item: CatalogItem) -> dict:
    if isinstance(item, Programme):
        return {"code": item.code, "kind": item.kind, "title": item.title,
                "description": item.description, "audience": list(item.audience or []),
                "open": item.open, "target_rate": item.target_rate,
                "completion_rule": dict(item.completion_rule or {}),
                "certificate": item.certificate, "position": item.position,
                "retired": item.retired_at is not None}
    if isinstance(item, Topic):
        return {"code": item.code, "programme_id": item.programme_id, "title": item.title,
                "description": item.description, "position": item.position,
                "retired": item.retired_at is not None}
    return {"code": item.code, "topic_id": item.topic_id, "title": item.title,
            "summary": item.summary, "objectives": list(item.objectives or []),
            "audience": list(item.audience or []), "minutes": item.minutes,
            "package_id": item.package_id, "required": item.required,
            "done_when": item.done_when, "position": item.position,
            "competencies": sorted(
                ({"code": mc.competency.code, "level": mc.level,
                  "framework_id": mc.competency.framework_id} for mc in item.competencies),
                key=lambda c: (c["framework_id"], c["code"])),
            "retired": item.retired_at is not None}


# --- queries --------------------------------------------------------------------------------


def programmes() -> list[Programme]:
    return list(db.session.scalars(select(Programme).order_by(Programme.position, Programme.id)))


def required_module_count(programme: Programme) -> int:
    return sum(1 for t in programme.topics if t.retired_at is None
               for m in t.modules if m.retired_at is None and m.required)


def rule_warning(programme: Programme) -> str | None:
    """A count rule asking for more modules than the programme now requires."""
    rule = programme.completion_rule or {}
    required = required_module_count(programme)
    if rule.get("mode") == "count" and int(rule.get("count", 0)) > required:
        return _("Lưu ý: «%(p)s» yêu cầu đạt %(n)s học phần nhưng chỉ còn %(m)s học phần bắt "
                 "buộc; hãy sửa quy tắc hoàn thành.", p=programme.title,
                 n=rule.get("count"), m=required)
    return None


def package_used(package_id: int | None) -> bool:
    """Whether any learner has started this package (then it is never swapped out)."""
    if package_id is None:
        return False
    return bool(db.session.scalar(
        select(func.count()).select_from(Registration)
        .where(Registration.package_id == package_id)))


def _check_code_free(problems: list[rules.Problem], model: type[CatalogItem], code: str,
                     message: str) -> None:
    """Add `message` unless the code is already refused or free (new items only)."""
    if any(f == "code" for f, _m in problems):
        return
    if db.session.scalar(select(model.id).where(model.code == code)) is not None:
        problems.append(("code", message))


def _next_position(model: type[CatalogItem], *where: object) -> int:
    top = db.session.scalar(select(func.max(model.position)).where(*where))
    return 0 if top is None else top + 1


def _raise(problems: list[rules.Problem]) -> None:
    if problems:
        raise CatalogInvalid(problems)


# --- programmes -----------------------------------------------------------------------------


def save_programme(programme: Programme | None, data: Mapping) -> Programme:
    """Create (programme None) or update a programme/class. The code never changes after
    creation: the YAML seed matches by code."""
    fw = framework()
    code = data["code"] if programme is None else programme.code
    completion = dict(data["completion"])
    required = 0 if programme is None else required_module_count(programme)
    problems = rules.check_programme(
        {**data, "code": code, "completion": completion},
        [g for g, _name in target_groups(fw)], required_modules=required)
    if programme is None:
        _check_code_free(problems, Programme, code,
                         _("Mã «%(c)s» đã được dùng cho chương trình/lớp khác.", c=code))
    _raise(problems)
    if completion["mode"] == "all":
        completion = {"mode": "all"}
    before = None if programme is None else snapshot(programme)
    with _saving():
        if programme is None:
            programme = Programme(code=code, position=_next_position(Programme))
            db.session.add(programme)
        programme.kind = data["kind"]
        programme.title = data["title"].strip()
        programme.description = (data.get("description") or "").strip()
        programme.audience = list(data["audience"])
        programme.open = bool(data["open"])
        programme.target_rate = int(data["target_rate"])
        programme.completion_rule = completion
        programme.certificate = bool(data["certificate"])
        db.session.flush()
        audit.record("catalog.programme." + ("create" if before is None else "update"),
                     "programme", programme.id, before=before, after=snapshot(programme))
    return programme


# --- topics ---------------------------------------------------------------------------------


def save_topic(programme: Programme, topic: Topic | None, data: Mapping) -> Topic:
    code = data["code"] if topic is None else topic.code
    problems = rules.check_topic({**data, "code": code})
    if topic is None:
        _check_code_free(problems, Topic, code,
                         _("Mã «%(c)s» đã được dùng cho chuyên đề khác.", c=code))
    _raise(problems)
    before = None if topic is None else snapshot(topic)
    with _saving():
        if topic is None:
            topic = Topic(code=code, programme_id=programme.id,
                          position=_next_position(Topic, Topic.programme_id == programme.id))
            db.session.add(topic)
        topic.title = data["title"].strip()
        topic.description = (data.get("description") or "").strip()
        db.session.flush()
        audit.record("catalog.topic." + ("create" if before is None else "update"),
                     "topic", topic.id, before=before, after=snapshot(topic))
    return topic


# --- modules --------------------------------------------------------------------------------


def save_module(topic: Topic, module: Module | None, data: Mapping) -> Module:
    """`data["competencies"]` maps competency codes of the active framework to levels."""
    fw = framework()
    if fw is None:
        raise CatalogInvalid([("competencies", _(
            "Chưa nạp khung năng lực nào: hãy chạy lệnh nạp danh mục trước."))])
    comps = {c.code: c for c in fw.competencies}
    code = data["code"] if module is None else module.code
    problems = rules.check_module({**data, "code": code},
                                  [g for g, _name in target_groups(fw)], comps)
    if module is None:
        _check_code_free(problems, Module, code,
                         _("Mã «%(c)s» đã được dùng cho học phần khác.", c=code))
    package_id = data.get("package_id")
    if package_id is None and module is not None and module.package_id is None:
        pass  # a seeded module whose zip is not built yet: it may be saved without one
    elif package_id is None or db.session.get(Package, package_id) is None:
        problems.append(("package_id", _("Hãy chọn một gói SCORM đã nhập.")))
    elif module is not None and module.package_id not in (None, package_id) \
            and package_used(module.package_id):
        problems.append(("package_id", _(
            "Đã có học viên học gói hiện tại nên không thể đổi sang gói khác; hãy tải phiên "
            "bản mới của gói ở trang Quản lý gói.")))
    _raise(problems)
    before = None if module is None else snapshot(module)
    with _saving():
        if module is None:
            module = Module(code=code, topic_id=topic.id,
                            position=_next_position(Module, Module.topic_id == topic.id))
            db.session.add(module)
        module.title = data["title"].strip()
        module.summary = data["summary"].strip()
        module.objectives = [o.strip() for o in data["objectives"]]
        module.audience = list(data["audience"])
        module.minutes = data.get("minutes")
        module.package_id = package_id
        module.required = bool(data["required"])
        module.done_when = data["done_when"]
        wanted = {comps[c].id: level for c, level in data["competencies"].items()}
        kept = []
        for mc in list(module.competencies):
            if mc.competency_id in wanted:
                mc.level = wanted.pop(mc.competency_id)
                kept.append(mc)
        module.competencies = kept + [ModuleCompetency(competency_id=cid, level=level)
                                      for cid, level in wanted.items()]
        db.session.flush()
        db.session.refresh(module, ["competencies"])
        audit.record("catalog.module." + ("create" if before is None else "update"),
                     "module", module.id, before=before, after=snapshot(module))
    return module


# --- order, retire, restore -----------------------------------------------------------------


def _siblings(item: CatalogItem) -> list:
    if isinstance(item, Programme):
        return programmes()
    if isinstance(item, Topic):
        return sorted(item.programme.topics, key=lambda t: (t.position, t.id))
    return sorted(item.topic.modules, key=lambda m: (m.position, m.id))


def move(item: CatalogItem, step: int) -> bool:
    """Move one place up (-1) or down (+1) among its siblings; False at either end."""
    siblings = _siblings(item)
    index = siblings.index(item)
    target = index + step
    if step not in (-1, 1) or not 0 <= target < len(siblings):
        return False
    with _saving():
        before = [s.code for s in siblings]
        siblings[index], siblings[target] = siblings[target], siblings[index]
        for position, sibling in enumerate(siblings):
            sibling.position = position
        audit.record(f"catalog.{KIND_OF[type(item)]}.move", KIND_OF[type(item)], item.id,
                     before={"order": before}, after={"order": [s.code for s in siblings]})
    return True


def set_retired(item: CatalogItem, retired: bool) -> None:
    """Retire (hide from learners, keep every record) or restore."""
    if retired == (item.retired_at is not None):
        raise CatalogInvalid([("", _("Mục này đã ngừng sử dụng.") if retired
                               else _("Mục này đang được sử dụng."))])
    kind = KIND_OF[type(item)]
    with _saving():
        before = snapshot(item)
        item.retired_at = datetime.now(UTC) if retired else None
        audit.record(f"catalog.{kind}.{'retire' if retired else 'restore'}", kind, item.id,
                     before=before, after=snapshot(item))


def programme_of(item: CatalogItem) -> Programme:
    if isinstance(item, Programme):
        return item
    if isinstance(item, Topic):
        return item.programme
    return item.topic.programme
