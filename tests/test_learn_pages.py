"""Learner pages: catalog, programme, topic and module pages for every role; enrolment; who
may start what (closed classes 403, retired items 404); progress as the learner sees it."""

from __future__ import annotations

import re
from datetime import timedelta

from lms.assignments import today_vn
from lms.extensions import db
from lms.models import Enrollment, Module, Package, Programme, Registration, Topic, utcnow

from .conftest import login_as, make_user
from .learn_support import assign, attach, module_id, post_form, programme_id, seed, start


def _card(page: str, code: str) -> str:
    """The catalog card of one programme."""
    m = re.search(rf'<li class="programme-card" data-programme="{code}">(.*?)</li>\n', page, re.S)
    assert m, f"no card for {code}"
    return m.group(1)


def _count(model, **where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).filter_by(**where))


def test_catalog_for_anonymous_visitors(app, client):
    seed(app)
    r = client.get("/hoc")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    for code in ("nguoi-dan", "lop-1", "lop-2", "lop-3", "lop-4"):
        assert f'data-programme="{code}"' in page
    citizens = _card(page, "nguoi-dan")
    assert "Chương trình Bình dân học vụ số cho người dân" in citizens
    assert "Học ngay" in citizens and "data-enrol" not in citizens
    lop1 = _card(page, "lop-1")
    assert "Dành cho cán bộ được giao" in lop1
    assert "<form" not in lop1 and "Học ngay" not in lop1
    # The catalog is reachable from every page's header.
    assert 'href="/hoc"' in client.get("/login").get_data(as_text=True)


def test_home_page_links_to_the_catalog(app, client):
    login_as(client, make_user_in(app))
    page = client.get("/").get_data(as_text=True)
    assert 'class="button" href="/hoc"' in page


def make_user_in(app, email: str = "hv@example.vn", role: str = "learner") -> int:
    with app.app_context():
        return make_user(email, role)


def test_self_enrolment_needs_csrf_and_only_for_open_programmes(app, client):
    seed(app)
    uid = make_user_in(app)
    login_as(client, uid)
    page = client.get("/hoc").get_data(as_text=True)
    assert "data-enrol" in _card(page, "nguoi-dan")
    assert "data-enrol" not in _card(page, "lop-1")
    assert "Dành cho cán bộ được giao" in _card(page, "lop-1")

    assert client.post("/hoc/nguoi-dan/dang-ky").status_code == 400  # no CSRF token
    r = post_form(client, "/hoc", "/hoc/nguoi-dan/dang-ky", next="/hoc")
    assert r.status_code == 302 and r.headers["Location"] == "/hoc"
    again = post_form(client, "/hoc", "/hoc/nguoi-dan/dang-ky")
    assert again.status_code == 302
    assert post_form(client, "/hoc", "/hoc/lop-1/dang-ky").status_code == 403
    assert post_form(client, "/hoc", "/hoc/khong-co/dang-ky").status_code == 404
    with app.app_context():
        rows = db.session.scalars(db.select(Enrollment).where(Enrollment.user_id == uid)).all()
        assert [(e.programme.code, e.source) for e in rows] == [("nguoi-dan", "self")]

    page = client.get("/hoc").get_data(as_text=True)
    card = _card(page, "nguoi-dan")
    assert "data-enrol" not in card
    assert "Đã đạt 0/12 học phần" in card
    assert "Bài học đang được chuẩn bị" in card  # the next module has no package yet


def test_enrolment_needs_an_account(app, client):
    seed(app)
    r = post_form(client, "/login", "/hoc/nguoi-dan/dang-ky")  # (any page with a form)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    with app.app_context():
        assert _count(Enrollment) == 0


def test_programme_and_topic_pages_show_rules_and_structure(app, client):
    seed(app)
    login_as(client, make_user_in(app))
    page = client.get("/hoc/nguoi-dan").get_data(as_text=True)
    assert "Hoàn thành khi đạt tất cả học phần bắt buộc" in page
    for code in ("nd-1", "nd-2", "nd-3", "nd-4"):
        assert f'data-topic="{code}"' in page
    assert page.count("data-module=") == 12
    assert 'href="/hoc/module/nd-1-1"' in page

    topic = client.get("/hoc/nguoi-dan/nd-2")
    assert topic.status_code == 200
    text = topic.get_data(as_text=True)
    assert "Sử dụng dịch vụ số thiết yếu" in text and text.count("data-module=") == 3
    assert "Chủ đề hoàn thành khi đạt tất cả học phần bắt buộc của chủ đề." in text
    # Short and wrong addresses lead to the right page; unknown ones are 404.
    short = client.get("/hoc/chuyen-de/nd-2")
    assert short.status_code == 302 and short.headers["Location"] == "/hoc/nguoi-dan/nd-2"
    assert client.get("/hoc/lop-1/nd-2").headers["Location"] == "/hoc/nguoi-dan/nd-2"
    assert client.get("/hoc/khong-co").status_code == 404
    assert client.get("/hoc/nguoi-dan/khong-co").status_code == 404
    assert client.get("/hoc/module/khong-co").status_code == 404


def test_module_page_details_and_unready_package(app, client):
    seed(app)
    uid = make_user_in(app)
    login_as(client, uid)
    page = client.get("/hoc/module/nd-1-1").get_data(as_text=True)
    with app.app_context():
        module = db.session.scalar(db.select(Module).where(Module.code == "nd-1-1"))
        assert module.summary in page
        for objective in module.objectives:
            assert objective in page
        for mc in module.competencies:
            assert f'data-competency="{mc.competency.code}"' in page
            assert mc.competency.name in page
        assert f"khoảng {module.minutes} phút" in page
    assert 'data-status="not_started"' in page and "Chưa học" in page
    assert "Thời gian đã học" in page
    assert re.search(r"<button[^>]*disabled[^>]*data-main-button>Bài học đang được chuẩn bị<",
                     page)
    r = start(client, "nd-1-1")  # the button is disabled, the route refuses too
    assert r.status_code == 302 and r.headers["Location"] == "/hoc/module/nd-1-1"
    with app.app_context():
        assert _count(Registration) == 0


def test_starting_an_open_module_launches_the_player_and_enrols(app, client):
    seed(app)
    package_id = attach(app, "nd-1-1")
    uid = make_user_in(app)
    login_as(client, uid)
    page = client.get("/hoc/module/nd-1-1").get_data(as_text=True)
    assert ">Bắt đầu</button>" in page
    r = start(client, "nd-1-1")
    assert r.status_code == 302
    with app.app_context():
        reg = db.session.scalar(db.select(Registration).where(Registration.user_id == uid))
        assert reg.package_id == package_id
        assert r.headers["Location"] == f"/play/{reg.id}"
        assert _count(Enrollment, user_id=uid, programme_id=programme_id(app, "nguoi-dan")) == 1
    assert client.get(r.headers["Location"]).status_code == 200


def test_closed_class_module_is_403_until_enrolled(app, client):
    seed(app)
    package_id = attach(app, "l1-1", "RuntimeBasicCalls_SCORM12.zip")
    uid = make_user_in(app)
    login_as(client, uid)
    page = client.get("/hoc/module/l1-1").get_data(as_text=True)
    assert "Dành cho cán bộ được giao" in page
    assert "/hoc/module/l1-1/bat-dau" not in page
    assert start(client, "l1-1").status_code == 403
    # Nor through the plain package list.
    assert post_form(client, "/hoc", f"/packages/{package_id}/start").status_code == 403
    assert f'data-package-id="{package_id}"' not in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert _count(Registration) == 0
        db.session.add(Enrollment(user_id=uid, programme_id=programme_id(app, "lop-1"),
                                  source="admin"))
        db.session.commit()
    assert start(client, "l1-1").status_code == 302
    page = client.get("/hoc").get_data(as_text=True)
    assert "Dành cho cán bộ được giao" not in _card(page, "lop-1")


def test_anonymous_start_of_a_closed_class_asks_to_log_in(app, client):
    seed(app)
    attach(app, "l1-1", "RuntimeBasicCalls_SCORM12.zip")
    page = client.get("/hoc/module/l1-1").get_data(as_text=True)
    assert "Dành cho cán bộ được giao" in page and "Học ngay" not in page
    r = post_form(client, "/login", "/hoc/module/l1-1/bat-dau")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    with app.app_context():
        assert _count(Registration) == 0


def test_admin_may_start_anything(app, client):
    seed(app)
    attach(app, "l1-1", "RuntimeBasicCalls_SCORM12.zip")
    login_as(client, make_user_in(app, "qt@example.vn", "admin"))
    assert "/hoc/module/l1-1/bat-dau" in client.get("/hoc/module/l1-1").get_data(as_text=True)
    assert start(client, "l1-1").status_code == 302


def test_assigned_items_come_first_with_due_dates_and_overdue_flag(app, client):
    seed(app)
    attach(app, "l1-2", "RuntimeBasicCalls_SCORM12.zip")
    uid = make_user_in(app)
    overdue = today_vn() - timedelta(days=3)
    assign(app, uid, "module", module_id(app, "l1-2"), overdue)
    with app.app_context():
        topic_id = db.session.scalar(db.select(Topic.id).where(Topic.code == "l2-cd1"))
    assign(app, uid, "topic", topic_id, today_vn() + timedelta(days=20))
    login_as(client, uid)
    page = client.get("/hoc").get_data(as_text=True)
    section = page.index("data-assigned>")
    assert section < page.index('data-programme="nguoi-dan"')
    items = re.findall(r"<li class=\"assigned-item[^\"]*\" data-assigned-item>(.*?)</li>", page,
                       re.S)
    assert len(items) == 2
    assert "Hạn: " + overdue.strftime("%d/%m/%Y") in items[0] and "Quá hạn" in items[0]
    assert 'href="/hoc/module/l1-2"' in items[0]
    assert "Quá hạn" not in items[1]
    # The assigned module of a closed class may be started; the rest of the class may not.
    assert "Dành cho cán bộ được giao" not in _card(page, "lop-1")
    assert start(client, "l1-2").status_code == 302
    attach(app, "l1-3", "ContentPackagingOneFilePerSCO_SCORM12.zip")
    assert start(client, "l1-3").status_code == 403


def test_retired_items_are_404_except_for_admins(app, client):
    seed(app)
    attach(app, "nd-1-2")
    with app.app_context():
        db.session.scalar(db.select(Module).where(Module.code == "nd-1-2")).retired_at = utcnow()
        db.session.scalar(db.select(Programme).where(Programme.code == "lop-3")).retired_at = (
            utcnow())
        db.session.commit()
    login_as(client, make_user_in(app))
    assert client.get("/hoc/module/nd-1-2").status_code == 404
    assert start(client, "nd-1-1").status_code == 302  # a live neighbour still works
    assert post_form(client, "/hoc", "/hoc/module/nd-1-2/bat-dau").status_code == 404
    assert client.get("/hoc/lop-3").status_code == 404
    assert client.get("/hoc/lop-3/l3-cd1").status_code == 404
    assert 'data-programme="lop-3"' not in client.get("/hoc").get_data(as_text=True)
    assert "nd-1-2" not in client.get("/hoc/nguoi-dan").get_data(as_text=True)

    login_as(client, make_user_in(app, "qt@example.vn", "admin"))
    assert client.get("/hoc/module/nd-1-2").status_code == 200
    assert client.get("/hoc/lop-3").status_code == 200


def test_progress_is_shown_on_every_level(app, client):
    seed(app)
    pkg_done = attach(app, "nd-1-1")
    pkg_doing = attach(app, "nd-1-2", "RuntimeBasicCalls_SCORM12.zip")
    uid = make_user_in(app)
    with app.app_context():
        for pkg, values in ((pkg_done, {"completion_status": "completed", "score_scaled": 0.9,
                                        "success_status": "passed", "total_seconds": 330.0}),
                            (pkg_doing, {"completion_status": "incomplete",
                                         "total_seconds": 65.0})):
            version = db.session.get(Package, pkg).current_version_id
            db.session.add(Registration(user_id=uid, package_id=pkg, package_version_id=version,
                                        **values))
        db.session.add(Enrollment(user_id=uid, programme_id=programme_id(app, "nguoi-dan")))
        db.session.commit()
    login_as(client, uid)
    done = client.get("/hoc/module/nd-1-1").get_data(as_text=True)
    assert 'data-status="passed"' in done and "<dd data-score>90%</dd>" in done
    assert "<dd data-time>6 phút</dd>" in done and ">Học lại</button>" in done
    doing = client.get("/hoc/module/nd-1-2").get_data(as_text=True)
    assert 'data-status="in_progress"' in doing and ">Tiếp tục học</button>" in doing
    assert "<dd data-time>1 phút</dd>" in doing
    assert "Bài học mở lại đúng chỗ bạn đã dừng." in doing

    topic = client.get("/hoc/nguoi-dan/nd-1").get_data(as_text=True)
    assert "Đã đạt 1/3 học phần" in topic
    # "Continue" goes to the module in progress, straight into the player.
    assert re.search(r'action="/hoc/module/nd-1-2/bat-dau".*?data-main-button>Tiếp tục học<',
                     topic, re.S)
    programme = client.get("/hoc/nguoi-dan").get_data(as_text=True)
    assert "Đã đạt 1/12 học phần" in programme and 'data-status="in_progress"' in programme
    card = _card(client.get("/hoc").get_data(as_text=True), "nguoi-dan")
    assert "Đã đạt 1/12 học phần" in card and 'action="/hoc/module/nd-1-2/bat-dau"' in card
    # Anonymous visitors see no one's progress.
    anon = app.test_client().get("/hoc/module/nd-1-1").get_data(as_text=True)
    assert "data-score" not in anon and ">Học ngay</button>" in anon
