"""Loading the catalog (`courses/catalog.yaml`) and the competency framework into the database.

Everything is matched by code, so loading twice changes nothing and an admin's additions
(other codes) are left alone. Module packages go through the same import pipeline as an
admin upload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .coursebuild.source import (
    SLIDE_PAUSE_S,
    SPEED_WPM,
    ModuleSource,
    load_framework,
    load_yaml,
    parse,
)
from .extensions import db
from .importer import import_package
from .models import (
    FrameworkCompetency,
    FrameworkVersion,
    Module,
    ModuleCompetency,
    Programme,
    Topic,
)

ROOT = Path(__file__).resolve().parent.parent
COURSES_DIR = ROOT / "courses"
PACKAGES_DIR = ROOT / "scorm_packages"
# espeak-ng says about 1.33 Vietnamese syllables per "word" of its speed setting
SYLLABLES_PER_MINUTE = SPEED_WPM * 1.33


class CatalogError(ValueError):
    pass


@dataclass
class SeedReport:
    programmes: int = 0
    topics: int = 0
    modules: int = 0
    packages_imported: int = 0
    missing_packages: list[str] = field(default_factory=list)


def estimate_minutes(source: ModuleSource) -> int:
    syllables = sum(len(s.narration.split()) for s in source.slides)
    seconds = syllables / SYLLABLES_PER_MINUTE * 60 + SLIDE_PAUSE_S * len(source.slides)
    return max(1, round(seconds / 60))


def load_framework_version(code_or_path: str | Path) -> FrameworkVersion:
    """Load a framework (a code in lms/data/frameworks, or a YAML file) idempotently.

    A new version of the framework (e.g. the official QĐ 757 annex) is just a new file.
    """
    path = Path(code_or_path)
    if path.suffix in (".yaml", ".yml"):
        with open(path, encoding="utf-8") as fh:
            data = load_yaml(fh)
        _check_framework(data, path.name)
    else:
        data = load_framework(str(code_or_path))
    fw = db.session.scalar(
        db.select(FrameworkVersion).filter_by(code=data["code"], version=str(data["version"]))
    )
    if fw is None:
        fw = FrameworkVersion(code=data["code"], version=str(data["version"]))
        db.session.add(fw)
    fw.title = data["title"]
    fw.basis = data.get("basis", "")
    fw.note = data.get("note", "")
    fw.data = {
        "levels": data.get("levels", []),
        "target_groups": data.get("target_groups", []),
        "target_groups_basis": data.get("target_groups_basis", ""),
    }
    db.session.flush()
    existing = {c.code: c for c in fw.competencies}
    position = 0
    for domain in data["domains"]:
        for comp in domain["competencies"]:
            position += 1
            row = existing.get(str(comp["id"]))
            if row is None:
                row = FrameworkCompetency(framework_id=fw.id, code=str(comp["id"]))
                db.session.add(row)
            row.name = comp["name"]
            row.domain_code = str(domain["id"])
            row.domain_name = domain["name"]
            row.position = position
    db.session.flush()
    db.session.expire(fw, ["competencies"])  # rows added above by id, not through the list
    return fw


def _check_framework(data: object, name: str) -> None:
    problems = []
    if not isinstance(data, dict):
        raise CatalogError(f"{name}: tệp khung phải là một bảng khoá–giá trị")
    for key in ("code", "version", "title", "domains"):
        if not data.get(key):
            problems.append(f"{name}: thiếu '{key}'")
    seen: set[str] = set()
    for d in data.get("domains") or []:
        if not isinstance(d, dict) or not d.get("id") or not d.get("name"):
            problems.append(f"{name}: mỗi lĩnh vực cần id và name")
            continue
        for c in d.get("competencies") or []:
            cid = str(c.get("id", "")) if isinstance(c, dict) else ""
            if not cid or not c.get("name"):
                problems.append(f"{name}: năng lực trong lĩnh vực {d['id']} thiếu id hoặc name")
            elif cid in seen:
                problems.append(f"{name}: năng lực {cid} lặp lại")
            seen.add(cid)
    if problems:
        raise CatalogError("\n".join(problems))


def active_framework() -> FrameworkVersion | None:
    return db.session.scalar(
        db.select(FrameworkVersion)
        .where(FrameworkVersion.active.is_(True))
        .order_by(FrameworkVersion.loaded_at.desc(), FrameworkVersion.id.desc())
    )


_PARSED: dict[tuple, ModuleSource] = {}


def _parse_cached(src: Path, framework_code: str, framework: dict) -> ModuleSource:
    """Parse a module source once per process and file version (seeding reads all 43)."""
    st = src.stat()
    key = (str(src.resolve()), st.st_mtime_ns, st.st_size, framework_code)
    if key not in _PARSED:
        _PARSED[key] = parse(src, framework)
    return _PARSED[key]


def _read_catalog(courses_dir: Path) -> tuple[dict, dict[str, ModuleSource]]:
    path = courses_dir / "catalog.yaml"
    with open(path, encoding="utf-8") as fh:
        catalog = load_yaml(fh)
    problems, framework = _check_catalog(catalog)  # raises at once if its structure is wrong
    sources: dict[str, ModuleSource] = {}
    seen_topics: set[str] = set()
    for prog in catalog["programmes"]:
        for topic in prog["topics"]:
            if topic["code"] in seen_topics:
                problems.append(f"catalog.yaml: chuyên đề {topic['code']} lặp lại")
            seen_topics.add(topic["code"])
            for code in topic["modules"]:
                if code in sources:
                    problems.append(f"catalog.yaml: học phần {code} xuất hiện hai lần")
                    continue
                src = courses_dir / "modules" / f"{code}.yaml"
                if not src.exists():
                    problems.append(f"catalog.yaml: thiếu tệp nguồn modules/{code}.yaml")
                    continue
                try:
                    sources[code] = _parse_cached(src, catalog["framework"], framework)
                except Exception as exc:  # SourceError lists every problem of the file
                    problems.append(str(exc))
    if problems:
        raise CatalogError("\n".join(problems))
    return catalog, sources


def _check_catalog(catalog: object) -> tuple[list[str], dict]:
    """What is wrong with catalog.yaml's programmes and topics by the rules the admin forms use
    (lms/admin_catalog/rules.py); module sources are checked by their own parser. A file of
    the wrong shape raises CatalogError at once. Returns the problems and the framework."""
    from .admin_catalog import rules  # here: admin_catalog imports this module

    if not isinstance(catalog, dict) or not isinstance(catalog.get("programmes"), list):
        raise CatalogError("catalog.yaml: cần 'framework' và danh sách 'programmes'")
    try:
        framework = load_framework(str(catalog.get("framework")))
    except OSError as exc:
        raise CatalogError(
            f"catalog.yaml: không có khung năng lực '{catalog.get('framework')}'") from exc
    groups = [g["id"] for g in framework.get("target_groups", [])]
    shape: list[str] = []
    problems: list[str] = []
    seen: set[object] = set()
    for i, prog in enumerate(catalog["programmes"]):
        topics = prog.get("topics") if isinstance(prog, dict) else None
        if not isinstance(topics, list) or not all(
                isinstance(t, dict) and isinstance(t.get("modules"), list) for t in topics):
            shape.append(f"catalog.yaml: programmes[{i}] cần danh sách topics, mỗi chuyên đề "
                         "có code, title và danh sách modules")
            continue
        where = f"catalog.yaml: chương trình {prog.get('code', f'programmes[{i}]')}"
        if prog.get("code") in seen:
            problems.append(f"{where} lặp lại")
        seen.add(prog.get("code"))
        modules = sum(len(t["modules"]) for t in topics)  # all required, as seeded
        problems += [f"{where} ({key}): {msg}"
                     for key, msg in rules.check_programme(prog, groups, modules)]
        for top in topics:
            problems += [f"catalog.yaml: chuyên đề {top.get('code')} ({key}): {msg}"
                         for key, msg in rules.check_topic(top)]
    if shape:
        raise CatalogError("\n".join(shape + problems))
    return problems, framework


def seed_structure(courses_dir: Path = COURSES_DIR, update: bool = False
                   ) -> tuple[SeedReport, dict[str, Module]]:
    """Create the programmes, topics and modules that are missing, with their framework mapping;
    one transaction. Existing items keep what admins edited on /admin/catalog unless `update`
    (`flask lms seed-catalog --update`) asks to overwrite them with courses/."""
    catalog, sources = _read_catalog(courses_dir)
    report = SeedReport()
    try:
        fw = load_framework_version(catalog["framework"])
        comps = {c.code: c for c in fw.competencies}
        modules: dict[str, Module] = {}
        for p_pos, prog in enumerate(catalog["programmes"]):
            programme = db.session.scalar(db.select(Programme).filter_by(code=prog["code"]))
            if programme is None:
                programme = Programme(code=prog["code"])
                db.session.add(programme)
                report.programmes += 1
            elif not update:
                _keep_existing_topics(prog, programme, sources, comps, modules, report)
                continue
            programme.kind = prog.get("kind", "class")
            programme.title = prog["title"]
            programme.description = prog.get("description", "")
            programme.audience = list(prog.get("audience", []))
            programme.open = bool(prog.get("open", False))
            programme.target_rate = int(prog.get("target_rate", 80))
            programme.completion_rule = dict(prog.get("completion", {"mode": "all"}))
            programme.position = p_pos
            db.session.flush()
            for t_pos, top in enumerate(prog["topics"]):
                topic = db.session.scalar(db.select(Topic).filter_by(code=top["code"]))
                if topic is None:
                    topic = Topic(code=top["code"], programme_id=programme.id)
                    db.session.add(topic)
                    report.topics += 1
                topic.programme_id = programme.id
                topic.title = top["title"]
                topic.description = top.get("description", "")
                topic.position = t_pos
                db.session.flush()
                for m_pos, code in enumerate(top["modules"]):
                    src = sources[code]
                    module = db.session.scalar(db.select(Module).filter_by(code=code))
                    if module is None:
                        module = Module(code=code, topic_id=topic.id)
                        db.session.add(module)
                        report.modules += 1
                    _fill_module(module, topic, src, m_pos, comps)
                    modules[code] = module
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return report, modules


def _keep_existing_topics(prog: dict, programme: Programme, sources: dict[str, ModuleSource],
                          comps: dict, modules: dict[str, Module], report: SeedReport) -> None:
    """An existing programme is left as admins keep it; only topics and modules of courses/
    that it does not have yet are added (at the end), and its modules are returned for their
    packages."""
    top_pos = len(programme.topics)
    for top in prog["topics"]:
        topic = db.session.scalar(db.select(Topic).filter_by(code=top["code"]))
        if topic is None:
            topic = Topic(code=top["code"], programme_id=programme.id, title=top["title"],
                          description=top.get("description", ""), position=top_pos)
            db.session.add(topic)
            db.session.flush()
            report.topics += 1
            top_pos += 1
        for m_pos, code in enumerate(top["modules"]):
            module = db.session.scalar(db.select(Module).filter_by(code=code))
            if module is None:
                module = _new_module(code, topic, sources[code], m_pos, comps)
                report.modules += 1
            modules[code] = module


def _fill_module(module: Module, topic: Topic, src: ModuleSource, position: int,
                 comps: dict) -> None:
    """What courses/ says about a module, written onto its row."""
    module.topic_id = topic.id
    module.title = src.title
    module.summary = src.summary
    module.objectives = list(src.objectives)
    module.audience = list(src.audience)
    module.minutes = estimate_minutes(src)
    module.position = position
    module.done_when = "passed"
    wanted = {c.id: c.level for c in src.competencies}
    module.competencies = [ModuleCompetency(competency=comps[cid], level=level)
                           for cid, level in wanted.items()]


def _new_module(code: str, topic: Topic, src: ModuleSource, position: int,
                comps: dict) -> Module:
    module = Module(code=code, topic_id=topic.id)
    _fill_module(module, topic, src, position, comps)
    db.session.add(module)
    db.session.flush()
    return module


def seed_catalog(
    courses_dir: Path = COURSES_DIR,
    packages_dir: Path = PACKAGES_DIR,
    progress: Callable[[str], None] | None = None,
    update: bool = False,
) -> SeedReport:
    """Load the catalog, then import each module's built zip (if present) and link it."""
    report, modules = seed_structure(courses_dir, update=update)
    for code, module in modules.items():
        zip_path = packages_dir / f"{code}.zip"
        if not zip_path.exists():
            report.missing_packages.append(code)
            continue
        result = import_package(zip_path, package_id=module.package_id)
        if result.created:
            report.packages_imported += 1
        if module.package_id != result.version.package_id:
            module.package_id = result.version.package_id
            db.session.commit()
        if progress:
            progress(f"{code}: {'đã nhập' if result.created else 'không đổi'}")
    return report
