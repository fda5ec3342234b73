"""The catalog seed builds exactly the city's structure, is idempotent and all-or-nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from lms.catalog import COURSES_DIR, CatalogError, load_framework_version, seed_structure
from lms.coursebuild.source import parse
from lms.extensions import db
from lms.models import FrameworkCompetency, FrameworkVersion, Module, Programme, Topic


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_seed_creates_the_city_structure(app):
    with app.app_context():
        report, modules = seed_structure()
        progs = {p.code: p for p in db.session.scalars(db.select(Programme))}
        assert set(progs) == {"nguoi-dan", "lop-1", "lop-2", "lop-3", "lop-4"}

        citizens = progs["nguoi-dan"]
        assert citizens.open
        assert [t.title for t in citizens.topics] == [
            "Nhận thức số và năng lực số cơ bản",
            "Sử dụng dịch vụ số thiết yếu",
            "Tương tác trên môi trường số",
            "Ứng dụng AI trong công việc và cuộc sống",
        ]
        assert sum(len(t.modules) for t in citizens.topics) == 12
        assert len(progs["lop-1"].topics) == 5
        assert len(progs["lop-2"].topics) == 5
        assert len(progs["lop-3"].topics) == 2
        assert sum(len(t.modules) for t in progs["lop-4"].topics) == 19
        assert report.modules == _count(Module) == 12 + 5 + 5 + 2 + 19

        fw = db.session.scalar(db.select(FrameworkVersion))
        assert (fw.code, len(fw.competencies)) == ("tt02-2025", 24)
        for module in db.session.scalars(db.select(Module)):
            assert module.competencies, f"{module.code} has no framework mapping"
            assert all(mc.competency.framework_id == fw.id for mc in module.competencies)
            assert 5 <= module.minutes <= 7, module.code


def test_module_sources_use_the_scorm_version_of_their_audience():
    for path in sorted((COURSES_DIR / "modules").glob("*.yaml")):
        src = parse(path)
        expected = "2004" if src.code.startswith("nd-") else "1.2"
        assert src.scorm == expected, src.code


def test_seed_twice_changes_nothing(app):
    with app.app_context():
        seed_structure()
        counts = [_count(m) for m in (Programme, Topic, Module, FrameworkCompetency)]
        report, _ = seed_structure()
        assert (report.programmes, report.topics, report.modules) == (0, 0, 0)
        assert [_count(m) for m in (Programme, Topic, Module, FrameworkCompetency)] == counts


def test_reseeding_keeps_admin_edits_and_adds_what_is_missing(app, tmp_path: Path):
    courses = tmp_path / "courses"
    shutil.copytree(COURSES_DIR, courses)
    with app.app_context():
        seed_structure(courses)
        module = db.session.scalar(db.select(Module).filter_by(code="nd-1-1"))
        module.title = "Tên do quản trị viên sửa"
        db.session.commit()
        catalog = yaml.safe_load((courses / "catalog.yaml").read_text(encoding="utf-8"))
        catalog["programmes"][0]["topics"][0]["modules"].append("l4-01-copy")
        shutil.copy(courses / "modules" / "l4-01.yaml", courses / "modules" / "l4-01-copy.yaml")
        src = courses / "modules" / "l4-01-copy.yaml"
        src.write_text(src.read_text(encoding="utf-8").replace("code: l4-01", "code: l4-01-copy"),
                       encoding="utf-8")
        (courses / "catalog.yaml").write_text(yaml.safe_dump(catalog, allow_unicode=True),
                                              encoding="utf-8")

        report, modules = seed_structure(courses)
        assert report.modules == 1 and "l4-01-copy" in modules
        added = db.session.scalar(db.select(Module).filter_by(code="l4-01-copy"))
        assert added.topic.code == "nd-1" and added.competencies
        assert db.session.get(Module, module.id).title == "Tên do quản trị viên sửa"

        seed_structure(courses, update=True)
        assert db.session.get(Module, module.id).title != "Tên do quản trị viên sửa"


def test_broken_catalog_writes_nothing(app, tmp_path: Path):
    courses = tmp_path / "courses"
    shutil.copytree(COURSES_DIR, courses)
    (courses / "modules" / "l3-2.yaml").unlink()
    bad = courses / "modules" / "nd-1-1.yaml"
    data = yaml.safe_load(bad.read_text(encoding="utf-8"))
    data["competencies"] = [{"id": "9.9", "level": 1}]
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with app.app_context():
        with pytest.raises(CatalogError) as exc:
            seed_structure(courses)
        message = str(exc.value)
        assert "modules/l3-2.yaml" in message
        assert "'9.9'" in message
        assert _count(Programme) == _count(Module) == _count(FrameworkVersion) == 0


def test_catalog_yaml_follows_the_admin_forms_rules(app, tmp_path: Path):
    """The seed checks each programme and topic by lms/admin_catalog/rules.py, reports every
    problem at once, and writes nothing."""
    courses = tmp_path / "courses"
    shutil.copytree(COURSES_DIR, courses)
    catalog = yaml.safe_load((courses / "catalog.yaml").read_text(encoding="utf-8"))
    first, second = catalog["programmes"][0], catalog["programmes"][1]
    first["target_rate"] = 150
    first["audience"] = ["nguoi_ngoai_hanh_tinh"]
    second["completion"] = {"mode": "count", "count": 999}
    second["topics"][0]["title"] = "x" * 301
    second["topics"][1]["code"] = "Chuyen De"
    (courses / "catalog.yaml").write_text(yaml.safe_dump(catalog, allow_unicode=True),
                                          encoding="utf-8")
    with app.app_context():
        with pytest.raises(CatalogError) as exc:
            seed_structure(courses)
        lines = str(exc.value).splitlines()
        assert len(lines) == 5, lines
        assert any(f"{first['code']} (target_rate)" in line for line in lines)
        assert any("nguoi_ngoai_hanh_tinh" in line for line in lines)
        assert any(f"{second['code']} (completion_count)" in line and "999" in line
                   for line in lines)
        assert any("(title): Tên dài tối đa 300 ký tự" in line for line in lines)
        assert any("Chuyen De (code)" in line for line in lines)
        assert _count(Programme) == _count(Topic) == _count(FrameworkVersion) == 0


def test_a_new_framework_version_loads_as_data(app, tmp_path: Path):
    annex = {
        "code": "qd757-nguoi-dan",
        "version": "1.0",
        "title": "Khung kiến thức, kỹ năng số cơ bản (thử nghiệm)",
        "domains": [
            {"id": "A", "name": "Lĩnh vực A", "competencies": [
                {"id": "A.1", "name": "Năng lực A.1"},
                {"id": "A.2", "name": "Năng lực A.2"},
            ]},
        ],
    }
    path = tmp_path / "annex.yaml"
    path.write_text(yaml.safe_dump(annex, allow_unicode=True), encoding="utf-8")
    with app.app_context():
        load_framework_version("tt02-2025")
        fw = load_framework_version(path)
        db.session.commit()
        assert [c.code for c in fw.competencies] == ["A.1", "A.2"]
        assert _count(FrameworkVersion) == 2
        annex["domains"][0]["competencies"][1]["id"] = "A.1"
        path.write_text(yaml.safe_dump(annex, allow_unicode=True), encoding="utf-8")
        with pytest.raises(CatalogError, match="A.1 lặp lại"):
            load_framework_version(path)
