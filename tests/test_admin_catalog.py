"""Catalog admin: an admin adds and changes classes, topics and modules without a deploy.

Every save is checked (same rules as the YAML seed), written in one transaction with an audit
entry, and nothing is ever deleted: items are retired and restored.
"""

from __future__ import annotations

import pytest
import yaml

from lms.admin_catalog import rules
from lms.catalog import COURSES_DIR, load_framework_version, seed_structure
from lms.coursebuild.source import load_framework, parse
from lms.extensions import db
from lms.importer import import_package
from lms.learn.access import module_live
from lms.models import (
    AuditLog,
    FrameworkCompetency,
    Module,
    ModuleCompetency,
    Package,
    Programme,
    Topic,
    User,
)
from lms.tracking import register

from .conftest import csrf_token, login_as, make_user, sample

BASE = "/admin/catalog"


def _count(model, *where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def _setup(app) -> dict:
    """A loaded framework, two imported SCORM packages and an admin."""
    with app.app_context():
        load_framework_version("tt02-2025")
        db.session.commit()
        first = import_package(sample("RuntimeBasicCalls_SCORM12.zip")).version.package_id
        second = import_package(
            sample("RuntimeBasicCalls_SCORM20043rdEdition.zip")).version.package_id
        comps = {c.code: c.id for c in db.session.scalars(db.select(FrameworkCompetency))}
        return {"admin": make_user("quantri@example.vn", "admin"), "packages": (first, second),
                "comps": comps}


def _post(client, url: str, data: dict, page: str | None = None):
    token = csrf_token(page or client.get(url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _class_data(**over) -> dict:
    return {"code": "lop-5", "kind": "class", "title": "Lớp 5 — Kỹ năng số cho tổ trưởng",
            "description": "Dành cho tổ trưởng tổ dân phố.", "audience": ["nguoi_dan", "cbccvc"],
            "open": "y", "target_rate": "75", "completion_mode": "all", "completion_count": "",
            "certificate": "y", **over}


def _module_data(s: dict, **over) -> dict:
    return {"code": "l5-1", "title": "Dùng VNeID an toàn", "summary": "Cài đặt và bảo vệ VNeID.",
            "objectives": "Cài đặt VNeID\n\nBảo vệ mật khẩu\n", "audience": ["nguoi_dan"],
            "minutes": "6", "required": "y", "done_when": "passed",
            "package_id": str(s["packages"][0]),
            f"level_{s['comps']['4.1']}": "2", f"level_{s['comps']['2.3']}": "1", **over}


def _create_tree(client, s: dict) -> tuple[int, int, int]:
    r = _post(client, f"{BASE}/programmes/new", _class_data())
    assert r.status_code == 302, r.get_data(as_text=True)
    programme_id = db.session.scalar(db.select(Programme.id).where(Programme.code == "lop-5"))
    r = _post(client, f"{BASE}/programmes/{programme_id}/topics/new",
              {"code": "l5-cd1", "title": "Định danh điện tử", "description": ""})
    assert r.status_code == 302, r.get_data(as_text=True)
    topic_id = db.session.scalar(db.select(Topic.id).where(Topic.code == "l5-cd1"))
    r = _post(client, f"{BASE}/topics/{topic_id}/modules/new", _module_data(s))
    assert r.status_code == 302, r.get_data(as_text=True)
    module_id = db.session.scalar(db.select(Module.id).where(Module.code == "l5-1"))
    return programme_id, topic_id, module_id


def test_admin_creates_a_class_with_a_topic_and_a_module(app, client):
    s = _setup(app)
    login_as(client, s["admin"])
    page = client.get(BASE + "/").get_data(as_text=True)
    assert "Danh mục khóa học" in page
    with app.app_context():
        programme_id, topic_id, module_id = _create_tree(client, s)
        p = db.session.get(Programme, programme_id)
        assert (p.kind, p.title, p.open, p.target_rate, p.certificate) == (
            "class", "Lớp 5 — Kỹ năng số cho tổ trưởng", True, 75, True)
        assert p.audience == ["nguoi_dan", "cbccvc"]
        assert p.completion_rule == {"mode": "all"}
        assert p.description == "Dành cho tổ trưởng tổ dân phố."
        t = db.session.get(Topic, topic_id)
        assert (t.programme_id, t.title, t.position) == (programme_id, "Định danh điện tử", 0)
        m = db.session.get(Module, module_id)
        assert (m.topic_id, m.title, m.minutes, m.required, m.done_when) == (
            topic_id, "Dùng VNeID an toàn", 6, True, "passed")
        assert m.objectives == ["Cài đặt VNeID", "Bảo vệ mật khẩu"]
        assert m.package_id == s["packages"][0]
        assert sorted((mc.competency.code, mc.level) for mc in m.competencies) == [
            ("2.3", 1), ("4.1", 2)]
        assert m.retired_at is None and module_live(m)

        entries = db.session.scalars(db.select(AuditLog).order_by(AuditLog.id)).all()
        assert [e.action for e in entries] == [
            "catalog.programme.create", "catalog.topic.create", "catalog.module.create"]
        assert all(e.actor_id == s["admin"] and e.before is None for e in entries)
        assert entries[0].after["code"] == "lop-5" and entries[0].after["target_rate"] == 75
        assert {c["code"] for c in entries[2].after["competencies"]} == {"2.3", "4.1"}

    listing = client.get(BASE + "/").get_data(as_text=True)
    for text in ("Lớp 5 — Kỹ năng số cho tổ trưởng", "Định danh điện tử", "Dùng VNeID an toàn"):
        assert text in listing


def test_admin_edits_with_before_and_after_in_the_audit_log(app, client):
    s = _setup(app)
    login_as(client, s["admin"])
    with app.app_context():
        programme_id, _topic_id, module_id = _create_tree(client, s)
        # count rule: 1 of the 1 required module is fine, the code is kept even if posted
        r = _post(client, f"{BASE}/programmes/{programme_id}",
                  _class_data(code="doi-ma", title="Lớp 5 (mới)", completion_mode="count",
                              completion_count="1", target_rate="90", certificate=""))
        assert r.status_code == 302
        db.session.expire_all()
        p = db.session.get(Programme, programme_id)
        assert (p.code, p.title, p.target_rate, p.certificate) == ("lop-5", "Lớp 5 (mới)", 90,
                                                                   False)
        assert p.completion_rule == {"mode": "count", "count": 1}
        entry = db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "catalog.programme.update"))
        assert entry.before["title"] == "Lớp 5 — Kỹ năng số cho tổ trưởng"
        assert entry.after["title"] == "Lớp 5 (mới)"
        assert entry.before["completion_rule"] == {"mode": "all"}

        edit = client.get(f"{BASE}/modules/{module_id}").get_data(as_text=True)
        assert "Dùng VNeID an toàn" in edit and "Bảo vệ mật khẩu" in edit
        data = _module_data(s, title="VNeID mức 2", package_id=str(s["packages"][1]),
                            done_when="completed")
        data[f"level_{s['comps']['4.1']}"] = "0"  # unmapped
        data[f"level_{s['comps']['1.1']}"] = "3"
        r = _post(client, f"{BASE}/modules/{module_id}", data, edit)
        assert r.status_code == 302
        db.session.expire_all()
        m = db.session.get(Module, module_id)
        assert (m.title, m.package_id, m.done_when) == ("VNeID mức 2", s["packages"][1],
                                                        "completed")
        assert sorted((mc.competency.code, mc.level) for mc in m.competencies) == [
            ("1.1", 3), ("2.3", 1)]
        entry = db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "catalog.module.update"))
        assert {c["code"] for c in entry.before["competencies"]} == {"2.3", "4.1"}
        assert {c["code"] for c in entry.after["competencies"]} == {"1.1", "2.3"}
        assert entry.before["package_id"] == s["packages"][0]


def test_bad_input_shows_vietnamese_errors_and_writes_nothing(app, client):
    s = _setup(app)
    login_as(client, s["admin"])
    with app.app_context():
        programme_id, topic_id, _module_id = _create_tree(client, s)
        counts = [_count(m) for m in (Programme, Topic, Module, AuditLog)]
        cases = [
            (f"{BASE}/programmes/new", _class_data(), "đã được dùng"),
            (f"{BASE}/programmes/new", _class_data(code="Lớp 6"), "chữ thường không dấu"),
            (f"{BASE}/programmes/new", _class_data(code="lop-6", target_rate="150"),
             "từ 0 đến 100"),
            (f"{BASE}/programmes/new", _class_data(code="lop-6", target_rate="tám mươi"),
             "từ 0 đến 100"),
            (f"{BASE}/programmes/new", _class_data(code="lop-6", title=" "), "Hãy nhập tên"),
            (f"{BASE}/programmes/new", _class_data(code="lop-6", audience=[]),
             "ít nhất một nhóm đối tượng"),
            (f"{BASE}/programmes/new", _class_data(code="lop-6", audience=["nguoi_ngoai"]),
             "không có trong khung"),
            (f"{BASE}/programmes/new",
             _class_data(code="lop-6", completion_mode="count", completion_count="2"),
             "chưa có học phần bắt buộc"),
            (f"{BASE}/programmes/{programme_id}",
             _class_data(completion_mode="count", completion_count="2"),
             "lớn hơn số học phần bắt buộc đang có (1)"),
            (f"{BASE}/programmes/{programme_id}",
             _class_data(completion_mode="count", completion_count="0"), "từ 1 trở lên"),
            (f"{BASE}/programmes/{programme_id}/topics/new",
             {"code": "l5-cd1", "title": "Trùng mã"}, "đã được dùng cho chuyên đề khác"),
            (f"{BASE}/topics/{topic_id}/modules/new", _module_data(s),
             "đã được dùng cho học phần khác"),
            (f"{BASE}/topics/{topic_id}/modules/new", _module_data(s, code="l5-2", package_id=""),
             "Hãy chọn một gói SCORM đã nhập"),
            (f"{BASE}/topics/{topic_id}/modules/new",
             _module_data(s, code="l5-2", package_id="999999"), "Hãy chọn một gói SCORM đã nhập"),
            (f"{BASE}/topics/{topic_id}/modules/new",
             _module_data(s, code="l5-2", objectives="Chỉ một mục tiêu"), "mỗi dòng một mục tiêu"),
            (f"{BASE}/topics/{topic_id}/modules/new",
             _module_data(s, code="l5-2", minutes="999"), "Thời lượng phải từ 1 đến 240 phút"),
            (f"{BASE}/topics/{topic_id}/modules/new",
             {k: v for k, v in _module_data(s, code="l5-2").items()
              if not k.startswith("level_")}, "ít nhất một năng lực"),
            (f"{BASE}/topics/{topic_id}/modules/new",
             _module_data(s, code="l5-2", **{f"level_{s['comps']['1.1']}": "9"}),
             "phải từ 1 đến 8"),
        ]
        for url, data, message in cases:
            r = _post(client, url, data)
            body = r.get_data(as_text=True)
            assert r.status_code == 422, (url, data, r.status_code)
            assert message in body, (message, url)
            db.session.expire_all()
            assert [_count(m) for m in (Programme, Topic, Module, AuditLog)] == counts, message
        p = db.session.get(Programme, programme_id)
        assert p.completion_rule == {"mode": "all"} and p.target_rate == 75


def test_a_post_without_csrf_token_is_refused(app, client):
    s = _setup(app)
    login_as(client, s["admin"])
    r = client.post(f"{BASE}/programmes/new", data=_class_data())
    assert r.status_code in (400, 422)
    with app.app_context():
        assert _count(Programme) == 0 and _count(AuditLog) == 0


def test_retire_hides_and_restore_brings_back_nothing_deleted(app, client):
    s = _setup(app)
    login_as(client, s["admin"])
    with app.app_context():
        programme_id, topic_id, module_id = _create_tree(client, s)
        learner = db.session.get(User, make_user("hocvien@example.vn"))
        register(learner, db.session.get(Package, s["packages"][0]))  # a learner used it
        page = client.get(BASE + "/").get_data(as_text=True)
        r = _post(client, f"{BASE}/module/{module_id}/retire", {}, page)
        assert r.status_code == 302
        db.session.expire_all()
        m = db.session.get(Module, module_id)
        assert m.retired_at is not None and not module_live(m)
        assert "Đã ngừng sử dụng" in client.get(BASE + "/").get_data(as_text=True)
        entry = db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "catalog.module.retire"))
        assert entry.before["retired"] is False and entry.after["retired"] is True

        r = _post(client, f"{BASE}/module/{module_id}/restore", {}, page)
        assert r.status_code == 302
        db.session.expire_all()
        assert db.session.get(Module, module_id).retired_at is None

        _post(client, f"{BASE}/programme/{programme_id}/retire", {}, page)
        db.session.expire_all()
        assert db.session.get(Programme, programme_id).retired_at is not None
        assert not module_live(db.session.get(Module, module_id))
        # the package a learner used can no longer be swapped for another one
        r = _post(client, f"{BASE}/modules/{module_id}",
                  _module_data(s, package_id=str(s["packages"][1])))
        assert r.status_code == 422
        assert "Đã có học viên học gói hiện tại" in r.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(Module, module_id).package_id == s["packages"][0]
        assert (_count(Programme), _count(Topic), _count(Module)) == (1, 1, 1)
        assert [e.action for e in db.session.scalars(
            db.select(AuditLog).where(AuditLog.action.like("%.re%")).order_by(AuditLog.id))] == [
            "catalog.module.retire", "catalog.module.restore", "catalog.programme.retire"]


def test_reorder_topics_and_modules(app, client):
    s = _setup(app)
    login_as(client, s["admin"])
    with app.app_context():
        programme_id, topic_id, first = _create_tree(client, s)
        _post(client, f"{BASE}/programmes/{programme_id}/topics/new",
              {"code": "l5-cd2", "title": "Thanh toán trực tuyến"})
        _post(client, f"{BASE}/topics/{topic_id}/modules/new", _module_data(s, code="l5-2"))
        second = db.session.scalar(db.select(Module.id).where(Module.code == "l5-2"))
        page = client.get(BASE + "/").get_data(as_text=True)
        assert _post(client, f"{BASE}/module/{second}/up", {}, page).status_code == 302
        db.session.expire_all()
        topic = db.session.get(Topic, topic_id)
        assert [m.code for m in topic.modules] == ["l5-2", "l5-1"]
        _post(client, f"{BASE}/topic/{topic_id}/down", {}, page)
        db.session.expire_all()
        assert [t.code for t in db.session.get(Programme, programme_id).topics] == [
            "l5-cd2", "l5-cd1"]
        move = db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "catalog.module.move"))
        assert move.before == {"order": ["l5-1", "l5-2"]}
        assert move.after == {"order": ["l5-2", "l5-1"]}
        # the top item cannot go further up: nothing changes, nothing logged
        logged = _count(AuditLog)
        _post(client, f"{BASE}/module/{second}/up", {}, page)
        assert _count(AuditLog) == logged


def test_only_admins_reach_the_catalog_admin(app, client):
    s = _setup(app)
    with app.app_context():
        learner = make_user("hv@example.vn")
        manager = make_user("ql@example.vn", "unit_manager")
        login_as(client, s["admin"])
        programme_id, topic_id, module_id = _create_tree(client, s)
        token = csrf_token(client.get(BASE + "/").get_data(as_text=True))
    urls = [BASE + "/", f"{BASE}/programmes/new", f"{BASE}/programmes/{programme_id}",
            f"{BASE}/programmes/{programme_id}/topics/new", f"{BASE}/topics/{topic_id}",
            f"{BASE}/topics/{topic_id}/modules/new", f"{BASE}/modules/{module_id}"]
    for user in (learner, manager):
        login_as(client, user)
        for url in urls:
            assert client.get(url).status_code == 403, url
        r = client.post(f"{BASE}/module/{module_id}/retire", data={"csrf_token": token})
        assert r.status_code == 403
        r = client.post(f"{BASE}/programmes/new", data={**_class_data(code="lop-9"),
                                                        "csrf_token": token})
        assert r.status_code == 403
    anonymous = app.test_client()
    for url in urls:
        r = anonymous.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url
    assert anonymous.post(f"{BASE}/module/{module_id}/retire").status_code in (302, 400)
    with app.app_context():
        assert db.session.get(Module, module_id).retired_at is None
        assert _count(Programme) == 1
        assert _count(AuditLog) == 3  # only the admin's three creations


def test_admin_navigation_links_to_the_catalog(app, client):
    with app.app_context():
        admin = make_user("qt2@example.vn", "admin")
        learner = make_user("hv2@example.vn")
    login_as(client, admin)
    assert 'href="/admin/catalog/"' in client.get("/admin/packages").get_data(as_text=True)
    login_as(client, learner)
    assert "/admin/catalog/" not in client.get("/").get_data(as_text=True)


def test_the_city_catalog_yaml_follows_the_same_rules():
    """One set of rules: every programme and module of courses/ passes what the forms enforce,
    and a broken entry is refused by the same functions."""
    catalog = yaml.safe_load((COURSES_DIR / "catalog.yaml").read_text(encoding="utf-8"))
    framework = load_framework(catalog["framework"])
    groups = [g["id"] for g in framework["target_groups"]]
    known = {str(c["id"]) for d in framework["domains"] for c in d["competencies"]}
    for prog in catalog["programmes"]:
        assert rules.check_programme(prog, groups) == [], prog["code"]
        for topic in prog["topics"]:
            assert rules.check_topic(topic) == [], topic["code"]
            for code in topic["modules"]:
                src = parse(COURSES_DIR / "modules" / f"{code}.yaml", framework)
                data = {"code": src.code, "title": src.title, "summary": src.summary,
                        "objectives": list(src.objectives), "audience": list(src.audience),
                        "done_when": "passed",
                        "competencies": {c.id: c.level for c in src.competencies}}
                assert rules.check_module(data, groups, known) == [], code
    broken = {"code": "Lớp 6", "title": "", "target_rate": 101, "audience": [],
              "completion": {"mode": "count", "count": 0}}
    fields = {f for f, _m in rules.check_programme(broken, groups)}
    assert fields == {"code", "title", "target_rate", "audience", "completion_count"}


def test_a_save_that_fails_midway_leaves_nothing_behind(app, client, monkeypatch):
    """The item and its audit entry are one transaction: if writing the audit entry fails,
    the new module is not there either."""
    s = _setup(app)
    login_as(client, s["admin"])
    with app.app_context():
        _programme_id, topic_id, _module_id = _create_tree(client, s)
        page = client.get(f"{BASE}/topics/{topic_id}/modules/new").get_data(as_text=True)

        def broken_record(*args, **kwargs):
            raise RuntimeError("audit store unavailable")

        monkeypatch.setattr("lms.admin_catalog.service.audit.record", broken_record)
        with pytest.raises(RuntimeError):
            _post(client, f"{BASE}/topics/{topic_id}/modules/new", _module_data(s, code="l5-2"),
                  page)
        db.session.expire_all()
        assert _count(Module) == 1 and _count(ModuleCompetency) == 2
        assert _count(AuditLog) == 3


def test_admin_edits_a_seeded_module_whose_package_is_not_built_yet(app, client):
    with app.app_context():
        seed_structure()
        admin = make_user("qt3@example.vn", "admin")
        module = db.session.scalar(db.select(Module).where(Module.code == "l3-1"))
        assert module.package_id is None
        module_id, topic_id = module.id, module.topic_id
        data = {"title": "Microsoft 365 cho cán bộ (sửa)", "summary": module.summary,
                "objectives": "\n".join(module.objectives), "audience": module.audience,
                "minutes": str(module.minutes), "required": "y", "done_when": "passed",
                "package_id": ""}
        data |= {f"level_{mc.competency_id}": str(mc.level) for mc in module.competencies}
    login_as(client, admin)
    listing = client.get(BASE + "/").get_data(as_text=True)
    assert listing.count("data-module=") == 43 and "Chưa gắn gói SCORM" in listing
    r = _post(client, f"{BASE}/modules/{module_id}", data)
    assert r.status_code == 302, r.get_data(as_text=True)
    with app.app_context():
        module = db.session.get(Module, module_id)
        assert (module.title, module.package_id, module.topic_id) == (
            "Microsoft 365 cho cán bộ (sửa)", None, topic_id)
    # a new module, though, must be delivered by an imported package
    r = _post(client, f"{BASE}/topics/{topic_id}/modules/new", {**data, "code": "l3-9"})
    assert r.status_code == 422 and "Hãy chọn một gói SCORM đã nhập" in r.get_data(as_text=True)
