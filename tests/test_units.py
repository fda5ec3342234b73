"""The city's units: seed, add, rename, merge, retire — with history in the audit log."""

from __future__ import annotations

from lms.extensions import db
from lms.models import AuditLog, Unit
from lms.units import UnitError, merge_unit, rename_unit, retire_unit, seed_units

from .conftest import csrf_token, login_as, make_user


def _count(model, *where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def test_seed_creates_the_114_communes_and_named_departments(ctx):
    assert seed_units() == 118
    assert _count(Unit, Unit.kind == "phuong") == 45
    assert _count(Unit, Unit.kind == "xa") == 67
    assert _count(Unit, Unit.kind == "dac_khu") == 2
    assert _count(Unit, Unit.kind == "so_ban_nganh") == 4
    thuy_nguyen = db.session.scalar(db.select(Unit).where(Unit.code == "11560"))
    assert thuy_nguyen.name == "Phường Thủy Nguyên"
    assert seed_units() == 0  # idempotent


def test_rename_merge_retire_keep_history(ctx):
    seed_units()
    a = db.session.scalar(db.select(Unit).where(Unit.code == "11560"))
    b = db.session.scalar(db.select(Unit).where(Unit.code == "11557"))
    rename_unit(a, "Phường  Thủy   Nguyên Mới")
    assert a.name == "Phường Thủy Nguyên Mới" and a.code == "11560"
    merge_unit(b, a)
    assert b.retired_at is not None and b.merged_into_id == a.id
    assert db.session.get(Unit, b.id) is not None  # never deleted
    try:
        retire_unit(b)
    except UnitError as exc:
        assert "đã ngừng" in str(exc)
    else:
        raise AssertionError("retiring a retired unit must be refused")
    actions = [e.action for e in db.session.scalars(
        db.select(AuditLog).where(AuditLog.target_type == "unit").order_by(AuditLog.id))]
    assert actions == ["units.seed", "unit.rename", "unit.merge"]
    rename = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "unit.rename"))
    assert rename.before["name"] == "Phường Thủy Nguyên"
    assert rename.after["name"] == "Phường Thủy Nguyên Mới"



def test_admin_unit_pages(app, client):
    with app.app_context():
        seed_units()
        admin = make_user("qt@example.vn", "admin")
        learner = make_user("hv@example.vn")
    login_as(client, learner)
    assert client.get("/admin/units").status_code == 403
    login_as(client, admin)
    page = client.get("/admin/units").get_data(as_text=True)
    assert "Đơn vị (118)" in page and "Phường Thủy Nguyên" in page
    token = csrf_token(page)
    r = client.post("/admin/units", data={"code": "SYT", "name": "Sở Y tế", "kind": "so_ban_nganh",
                                          "csrf_token": token})
    assert r.status_code == 302
    dup = client.post("/admin/units", data={"code": "SYT", "name": "Trùng", "kind": "xa",
                                            "csrf_token": token}).get_data(as_text=True)
    assert "Mã đơn vị «SYT» đã tồn tại." in dup
    with app.app_context():
        unit_id = db.session.scalar(db.select(Unit.id).where(Unit.code == "SYT"))
        into_id = db.session.scalar(db.select(Unit.id).where(Unit.code == "11560"))
    url = f"/admin/units/{unit_id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    client.post(url, data={"action": "rename", "name": "Sở Y tế Hải Phòng", "csrf_token": token})
    client.post(url, data={"action": "merge", "into_code": "khong-co", "csrf_token": token})
    page = client.get(url).get_data(as_text=True)
    assert "Sở Y tế Hải Phòng" in page and "Đang hoạt động" in page
    assert "Không tìm thấy đơn vị tiếp nhận" in page
    client.post(url, data={"action": "merge", "into_code": "11560", "csrf_token": token})
    page = client.get(url).get_data(as_text=True)
    assert "đã sáp nhập vào Phường Thủy Nguyên" in page
    assert "unit.rename" in page and "unit.merge" in page
    with app.app_context():
        entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "unit.merge"))
        assert entry.actor_id == admin and entry.after["merged_into_id"] == into_id
    # CSRF is required for every change.
    assert client.post(url, data={"action": "retire"}).status_code == 400
