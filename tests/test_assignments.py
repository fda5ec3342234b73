"""Mandated training: assigning Lớp 4 to three units reaches every member (also those who join
later) and nobody else; the reminder job emails the right people through a real SMTP server."""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from lms.assignments import assigned_items, today_vn
from lms.catalog import seed_structure
from lms.extensions import db
from lms.jobs import send_reminders
from lms.models import (
    Assignment,
    AuditLog,
    Module,
    Package,
    PackageVersion,
    Programme,
    Registration,
    ReminderSent,
    Unit,
    User,
)
from lms.security import hash_password
from lms.units import seed_units

from .conftest import csrf_token, login_as

LOP4 = "Lớp 4 — Kỹ năng số cho cán bộ, công chức và tổ công nghệ số cộng đồng"


@functools.cache
def _password_hash() -> str:
    return hash_password("mat-khau-123")  # Argon2 is slow on purpose: hash once per run


def add_person(name: str, unit: Unit | None, email: str | None = None, phone: str | None = None,
               role: str = "learner", job_title: str | None = "Chuyên viên") -> int:
    user = User(name=name, email=email, phone=phone, role=role, job_title=job_title,
                unit_id=unit.id if unit else None, password_hash=_password_hash())
    db.session.add(user)
    db.session.commit()
    return user.id


@pytest.fixture
def city(app):
    """Units, the catalog (Lớp 4 among it), an admin, two people in each of units A, B, C, one
    in D; managers of A and B; one person of C has only a phone number."""
    with app.app_context():
        seed_units()
        seed_structure()
        units = list(db.session.scalars(select(Unit).order_by(Unit.code).limit(4)))
        a, b, c, d = units
        ids = {
            "admin": add_person("Quản trị", None, "admin@hp.vn", role="admin"),
            "a1": add_person("Nguyễn Văn A1", a, "a1@hp.vn"),
            "a2": add_person("Trần Thị A2", a, "a2@hp.vn", job_title="Phó chủ tịch"),
            "b1": add_person("Lê Văn B1", b, "b1@hp.vn"),
            "b2": add_person("Phạm Thị B2", b, "b2@hp.vn"),
            "c1": add_person("Hoàng Văn C1", c, "c1@hp.vn"),
            "c2": add_person("Vũ Thị C2", c, phone="0912000002"),
            "d1": add_person("Đỗ Văn D1", d, "d1@hp.vn"),
            "mgr_a": add_person("Quản lý A", a, "quanly-a@hp.vn", role="unit_manager"),
            "mgr_b": add_person("Quản lý B", b, "quanly-b@hp.vn", role="unit_manager"),
        }
        lop4 = db.session.scalar(select(Programme).where(Programme.code == "lop-4"))
        return {"units": {k: u.id for k, u in zip("abcd", units, strict=True)},
                "unit_names": {k: u.name for k, u in zip("abcd", units, strict=True)},
                "ids": ids, "lop4": lop4.id}


def _post_assignment(client, url: str, **fields):
    page = client.get(url)
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "job_titles": "",
            "people": "", "note": "", **fields}
    return client.post(url, data=data)


def _assign_lop4(client, city, due: date):
    login_as(client, city["ids"]["admin"])
    r = _post_assignment(client, "/admin/assignments", target=f"programme:{city['lop4']}",
                         units=[str(city["units"][k]) for k in "abc"],
                         due_date=due.isoformat(), note="Theo kế hoạch của thành phố")
    assert r.status_code == 302, r.get_data(as_text=True)
    return r


def _items(user_id: int) -> list:
    return assigned_items(db.session.get(User, user_id))


def test_lop4_reaches_every_member_of_three_units_and_later_members(app, client, city):
    due = today_vn() + timedelta(days=20)
    _assign_lop4(client, city, due)
    with app.app_context():
        for key in ("a1", "a2", "b1", "b2", "c1", "c2", "mgr_a", "mgr_b"):
            items = _items(city["ids"][key])
            assert [(i.title, i.kind, i.due_date, i.overdue, i.done) for i in items] == [
                (LOP4, "programme", due, False, False)], key
            assert items[0].days_left == 20
        assert _items(city["ids"]["d1"]) == []  # another unit
        assert _items(city["ids"]["admin"]) == []  # no unit
        # someone joining unit B afterwards inherits the assignment, with the same due date
        newcomer = add_person("Người mới", db.session.get(Unit, city["units"]["b"]), "moi@hp.vn")
        assert [(i.title, i.due_date) for i in _items(newcomer)] == [(LOP4, due)]
        # moving a person out of unit A takes the assignment away
        moved = db.session.get(User, city["ids"]["a1"])
        moved.unit_id = city["units"]["d"]
        db.session.commit()
        assert _items(moved.id) == []
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "assignment.create"))
        assert entry.actor_id == city["ids"]["admin"]
        assert entry.after["target"] == f"programme:{city['lop4']}"
        assert entry.after["due_date"] == due.isoformat()
        assert entry.after["assignees"] == 8  # 2 + 2 + 2 people and the managers of A and B
    listing = client.get("/admin/assignments").get_data(as_text=True)
    assert LOP4 in listing and due.strftime("%d/%m/%Y") in listing


def test_overdue_items_are_flagged(app, client, city):
    with app.app_context():
        a = Assignment(target_type="programme", target_id=city["lop4"],
                       due_date=today_vn() - timedelta(days=3), created_by_id=city["ids"]["admin"])
        from lms.models import AssignmentAudience

        a.audiences = [AssignmentAudience(unit_id=city["units"]["a"])]
        db.session.add(a)
        db.session.commit()
        (item,) = _items(city["ids"]["a1"])
        assert item.overdue and item.days_left == -3


def _make_done(user_id: int, programme_id: int) -> None:
    """Give the learner a passed registration in every module of the programme."""
    modules = db.session.scalars(select(Module).join(Module.topic)
                                 .where(Module.topic.has(programme_id=programme_id))).all()
    for m in modules:
        if m.package_id is None:
            pkg = Package(title=m.title)
            db.session.add(pkg)
            db.session.flush()
            ver = PackageVersion(package_id=pkg.id, number=1, sha256=f"{m.id:064d}",
                                 scorm_version="2004", edition="4th", title=m.title, manifest={},
                                 sequencing={}, size_bytes=1, file_count=1)
            db.session.add(ver)
            db.session.flush()
            pkg.current_version_id = ver.id
            m.package_id = pkg.id
        version_id = db.session.scalar(select(Package.current_version_id)
                                       .where(Package.id == m.package_id))
        db.session.add(Registration(user_id=user_id, package_id=m.package_id,
                                    package_version_id=version_id, success_status="passed",
                                    completion_status="completed", total_seconds=600))
    db.session.commit()


def _body(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def test_reminder_job_emails_learners_and_manager_digests(app, client, city, outbox):
    today = today_vn()
    due = today + timedelta(days=5)
    _assign_lop4(client, city, due)
    with app.app_context():
        _make_done(city["ids"]["b2"], city["lop4"])  # finished: never reminded
        assert _items(city["ids"]["b2"])[0].done

        # 1. due in 5 days, reminders for 7 days ahead: every learner not done, with an email
        result = send_reminders()
    expected = {"a1@hp.vn", "a2@hp.vn", "b1@hp.vn", "c1@hp.vn", "quanly-a@hp.vn",
                "quanly-b@hp.vn"}
    assert result == {"learners": 6, "digests": 0, "already_sent": 0, "no_email": 1}
    messages = outbox.wait(6)
    assert sorted(m["To"] for m in messages) == sorted(expected)
    for msg in messages:
        assert msg["Subject"] == "Nhắc việc: nội dung học bắt buộc sắp đến hạn hoàn thành"
        body = _body(msg)
        assert LOP4 in body
        assert f"hạn hoàn thành {due.strftime('%d/%m/%Y')}, còn 5 ngày" in body
        assert "Xin chào" in body

    # 2. the same day again (a retried job, the CLI by hand): nothing is sent twice
    with app.app_context():
        assert send_reminders()["already_sent"] == 6
    assert len(outbox.envelopes) == 6

    # 3. three days after the due date: learners are reminded of the overdue class, and each
    # manager gets one digest of their own unit's overdue people
    late_day = due + timedelta(days=3)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["lms", "send-reminders", "--date", late_day.isoformat()])
    assert out.exit_code == 0, out.output
    assert "6 learners, 2 manager digests" in out.output
    messages = outbox.wait(14)[6:]
    learners = [m for m in messages if m["To"] not in ("quanly-a@hp.vn", "quanly-b@hp.vn")
                or "quá hạn hoàn thành" in m["Subject"]]
    digests = [m for m in messages if m["Subject"].startswith("Tổng hợp")]
    assert len(learners) == 6 and len(digests) == 2
    for msg in learners:
        assert msg["Subject"] == "Nhắc việc: nội dung học bắt buộc đã quá hạn hoàn thành"
        assert f"hạn hoàn thành {due.strftime('%d/%m/%Y')}, đã quá hạn 3 ngày" in _body(msg)
    by_to = {m["To"]: m for m in digests}
    assert set(by_to) == {"quanly-a@hp.vn", "quanly-b@hp.vn"}
    digest_a = by_to["quanly-a@hp.vn"]
    assert digest_a["Subject"] == (
        f"Tổng hợp người học quá hạn của {city['unit_names']['a']}: 3 người")
    body_a = _body(digest_a)
    for name in ("Nguyễn Văn A1", "Trần Thị A2", "Quản lý A"):
        assert name in body_a
    assert "Phó chủ tịch" in body_a and f"hạn {due.strftime('%d/%m/%Y')}, quá 3 ngày" in body_a
    for other in ("Lê Văn B1", "Hoàng Văn C1", "Đỗ Văn D1"):
        assert other not in body_a
    body_b = _body(by_to["quanly-b@hp.vn"])
    assert "Lê Văn B1" in body_b and "Phạm Thị B2" not in body_b  # B2 finished
    assert "Nguyễn Văn A1" not in body_b
    assert re.search(r"/manage/people\?status=overdue", body_b)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReminderSent)) == 14
        again = send_reminders(late_day.isoformat())
    assert again["learners"] == 0 and again["digests"] == 0 and again["already_sent"] == 8
    assert len(outbox.envelopes) == 14


def test_reminder_delivery_failure_is_retried_without_duplicates(app, client, city, outbox,
                                                                  monkeypatch):
    _assign_lop4(client, city, today_vn() + timedelta(days=2))
    from lms import mail

    real = mail.build_message
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("SMTP server went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(mail, "build_message", flaky)
    with app.app_context():
        with pytest.raises(ConnectionError):
            send_reminders()
        assert db.session.scalar(select(func.count()).select_from(ReminderSent)) == 2
        result = send_reminders()  # the retry
    assert result["learners"] == 5 and result["already_sent"] == 2  # 7 people with an email
    messages = outbox.wait(7)
    assert len({m["To"] for m in messages}) == 7 == len(messages)


# --- the pages: validation, unit managers inside their unit, retiring --------------------------


def test_admin_form_explains_mistakes_in_vietnamese(app, client, city):
    login_as(client, city["ids"]["admin"])
    r = _post_assignment(client, "/admin/assignments", target=f"programme:{city['lop4']}",
                         due_date=(today_vn() - timedelta(days=1)).isoformat(),
                         people="khong-co@hp.vn")
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Hạn hoàn thành không được ở trong quá khứ." in page
    assert "Dòng 1: không tìm thấy tài khoản «khong-co@hp.vn»." in page
    r = _post_assignment(client, "/admin/assignments", target="programme:99999",
                         due_date=(today_vn() + timedelta(days=3)).isoformat())
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Hãy chọn chương trình, chuyên đề hoặc học phần." in page
    r = _post_assignment(client, "/admin/assignments", target=f"programme:{city['lop4']}",
                         due_date="")
    assert "Hãy chọn hạn hoàn thành." in r.get_data(as_text=True)
    r = _post_assignment(client, "/admin/assignments", target=f"programme:{city['lop4']}",
                         due_date=(today_vn() + timedelta(days=3)).isoformat())
    assert "Hãy chọn ít nhất một đối tượng" in r.get_data(as_text=True)
    r = client.post("/admin/assignments", data={"target": f"programme:{city['lop4']}",
                                                "units": [str(city["units"]["a"])],
                                                "due_date": "2099-01-01"})
    assert r.status_code == 400  # no CSRF token
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_assign_by_job_title_and_by_people(app, client, city):
    login_as(client, city["ids"]["admin"])
    due = today_vn() + timedelta(days=9)
    with app.app_context():
        topic = db.session.scalar(select(Programme).where(Programme.id == city["lop4"])).topics[0]
        topic_id, topic_title = topic.id, topic.title
    r = _post_assignment(client, "/admin/assignments", target=f"topic:{topic_id}",
                         job_titles="  phó CHỦ tịch ", people="d1@hp.vn\n0912000002",
                         due_date=due.isoformat())
    assert r.status_code == 302
    with app.app_context():
        assert [i.title for i in _items(city["ids"]["a2"])] == [topic_title]  # the job title
        assert [i.title for i in _items(city["ids"]["d1"])] == [topic_title]  # named
        assert [i.title for i in _items(city["ids"]["c2"])] == [topic_title]  # by phone
        assert _items(city["ids"]["a1"]) == []
        later = add_person("Phó chủ tịch mới", db.session.get(Unit, city["units"]["c"]),
                           "pct@hp.vn", job_title="Phó Chủ tịch")
        assert [i.title for i in _items(later)] == [topic_title]


def test_unit_manager_assigns_only_inside_their_unit(app, client, city):
    login_as(client, city["ids"]["mgr_a"])
    due = today_vn() + timedelta(days=10)
    unit_a, unit_b = str(city["units"]["a"]), str(city["units"]["b"])
    with app.app_context():
        module_id = db.session.scalar(select(Module.id).order_by(Module.id))
    # another unit in the form: refused outright
    r = _post_assignment(client, "/manage/assignments", target=f"module:{module_id}",
                         units=[unit_b], due_date=due.isoformat())
    assert r.status_code == 403
    # a person of another unit: explained, nothing written
    r = _post_assignment(client, "/manage/assignments", target=f"module:{module_id}",
                         people="b1@hp.vn", due_date=due.isoformat())
    assert r.status_code == 422
    assert "«b1@hp.vn» không thuộc đơn vị" in r.get_data(as_text=True)
    # a job title: only within unit A, even though A2's title exists elsewhere too
    with app.app_context():
        add_person("Phó chủ tịch C", db.session.get(Unit, city["units"]["c"]), "pc@hp.vn",
                   job_title="Phó chủ tịch")
    r = _post_assignment(client, "/manage/assignments", target=f"module:{module_id}",
                         job_titles="Phó chủ tịch", due_date=due.isoformat())
    assert r.status_code == 302
    with app.app_context():
        a = db.session.scalar(select(Assignment))
        assert a.owner_unit_id == city["units"]["a"] and a.created_by_id == city["ids"]["mgr_a"]
        assert len(_items(city["ids"]["a2"])) == 1
        assert _items(city["ids"]["a1"]) == []
        pc = db.session.scalar(select(User).where(User.email == "pc@hp.vn"))
        assert _items(pc.id) == []
        assignment_id = a.id
    r = _post_assignment(client, "/manage/assignments", target=f"module:{module_id}",
                         units=[unit_a], due_date=due.isoformat())
    assert r.status_code == 302
    # manager B can neither see nor retire A's assignment
    login_as(client, city["ids"]["mgr_b"])
    page = client.get("/manage/assignments")
    assert page.status_code == 200 and f'data-assignment="{assignment_id}"' not in page.text
    token = csrf_token(page.get_data(as_text=True))
    r = client.post(f"/manage/assignments/{assignment_id}/retire", data={"csrf_token": token})
    assert r.status_code == 404
    # manager A retires it: gone for the learner, kept (retired) with an audit entry
    login_as(client, city["ids"]["mgr_a"])
    page = client.get("/manage/assignments").get_data(as_text=True)
    assert f'data-assignment="{assignment_id}"' in page
    r = client.post(f"/manage/assignments/{assignment_id}/retire",
                    data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Assignment, assignment_id).retired_at is not None
        assert db.session.scalar(select(AuditLog).where(
            AuditLog.action == "assignment.retire")).actor_id == city["ids"]["mgr_a"]


def test_admin_appoints_a_unit_manager(app, client, city):
    login_as(client, city["ids"]["admin"])
    unit_c = city["units"]["c"]
    page = client.get(f"/manage?unit={unit_c}").get_data(as_text=True)
    r = client.post(f"/manage/managers?unit={unit_c}",
                    data={"csrf_token": csrf_token(page), "contact": "c1@hp.vn"})
    assert r.status_code == 302
    with app.app_context():
        c1 = db.session.get(User, city["ids"]["c1"])
        assert (c1.role, c1.unit_id) == ("unit_manager", unit_c)
        assert db.session.scalar(select(AuditLog).where(
            AuditLog.action == "unit.manager_appoint")).after["role"] == "unit_manager"
    login_as(client, city["ids"]["c1"])
    overview = client.get("/manage")
    assert overview.status_code == 200 and city["unit_names"]["c"] in overview.text
    assert client.get(f"/manage?unit={city['units']['a']}").status_code == 404
