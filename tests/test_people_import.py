"""Bulk import of civil servants: parsing, validation, all-or-nothing upsert, the admin page."""

from __future__ import annotations

import io
import shutil
import time
import tracemalloc
from pathlib import Path

from lms import jobs
from lms.extensions import db
from lms.models import AuditLog, Unit, User
from lms.people_import import UNUSABLE_PASSWORD, import_file
from lms.security import verify_password
from lms.units import seed_units

from .conftest import csrf_token, login_as, make_user

HEADER = "ho_ten,email,so_dien_thoai,ma_don_vi,chuc_vu\n"


def _run(path) -> dict:
    result = import_file(path)
    db.session.commit()
    return result


def _users() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(User))


def _write_xlsx(path, rows) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)


def test_good_csv_rows_are_created_and_reimport_changes_nothing(ctx, tmp_path):
    seed_units()
    path = tmp_path / "ds.csv"
    path.write_text(HEADER + "Nguyễn Thị Hằng,hang@hp.gov.vn,,11560,Chuyên viên\n"
                    "Trần Văn Đức,,+84 912 345 678,11557,\n"
                    "Lê Ánh Tuyết,tuyet@hp.gov.vn,0987654321,11560,Trưởng phòng\n",
                    encoding="utf-8")
    result = _run(path)
    assert result["ok"] and result["rows"] == 3
    assert (result["created"], result["updated"], result["unchanged"]) == (3, 0, 0)
    hang = db.session.scalar(db.select(User).where(User.email == "hang@hp.gov.vn"))
    assert hang.name == "Nguyễn Thị Hằng" and hang.job_title == "Chuyên viên"
    assert hang.role == "learner"
    assert hang.unit_id == db.session.scalar(db.select(Unit.id).where(Unit.code == "11560"))
    assert hang.password_hash == UNUSABLE_PASSWORD and not verify_password(hang.password_hash, "")
    duc = db.session.scalar(db.select(User).where(User.phone == "0912345678"))
    assert duc.name == "Trần Văn Đức" and duc.email is None
    again = _run(path)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    path.write_text(path.read_text(encoding="utf-8").replace("Trưởng phòng", "Phó phòng"),
                    encoding="utf-8")
    changed = _run(path)
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 2)
    tuyet = db.session.scalar(db.select(User).where(User.email == "tuyet@hp.gov.vn"))
    assert tuyet.job_title == "Phó phòng"


def test_bad_rows_are_reported_by_line_and_nothing_is_applied(ctx, tmp_path):
    seed_units()
    path = tmp_path / "ds.csv"
    path.write_text(HEADER
                    + "Người Tốt,tot@hp.gov.vn,,11560,\n"          # 2: fine
                    + ",khongten@hp.gov.vn,,11560,\n"              # 3: no name
                    + "Sai Email,sai@,,11560,\n"                    # 4: bad email
                    + "Sai Số,,12345,11560,\n"                      # 5: bad phone
                    + "Không Liên Hệ,,,11560,\n"                    # 6: no contact
                    + "Sai Đơn Vị,donvi@hp.gov.vn,,99999,\n"        # 7: unknown unit
                    + "Trùng,TOT@hp.gov.vn,,11560,\n",              # 8: duplicate of 2
                    encoding="utf-8")
    result = _run(path)
    assert not result["ok"] and result["created"] == 0 and _users() == 0
    by_line = {e["line"]: e for e in result["errors"]}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8] and result["error_count"] == 6
    assert by_line[3]["column"] == "ho_ten" and by_line[3]["message"] == "Thiếu họ và tên."
    assert by_line[7]["message"] == "Không có đơn vị mã «99999»."
    assert "trùng với dòng 2" in by_line[8]["message"]


def test_retired_unit_and_missing_columns(ctx, tmp_path):
    from lms.units import retire_unit

    seed_units()
    retire_unit(db.session.scalar(db.select(Unit).where(Unit.code == "11557")))
    db.session.commit()
    path = tmp_path / "ds.csv"
    path.write_text(HEADER + "Ai Đó,ai@hp.gov.vn,,11557,\n", encoding="utf-8")
    assert _run(path)["errors"][0]["message"] == "Đơn vị mã «11557» đã ngừng hoạt động."
    path.write_text("ho_ten,chuc_vu\nAi Đó,X\n", encoding="utf-8")
    errors = _run(path)["errors"]
    assert {e["line"] for e in errors} == {1} and len(errors) == 2


def test_bom_semicolon_csv_with_vietnamese_headers(ctx, tmp_path):
    seed_units()
    path = tmp_path / "ds.csv"
    text = ("Họ và tên;Email;Số điện thoại;Mã đơn vị;Chức vụ\n"
            "Phạm Thị Ngọc Ánh;anh@hp.gov.vn;0901 234 567;11560;Văn thư, lưu trữ\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = _run(path)
    assert result["ok"] and result["created"] == 1
    anh = db.session.scalar(db.select(User).where(User.phone == "0901234567"))
    assert anh.name == "Phạm Thị Ngọc Ánh" and anh.job_title == "Văn thư, lưu trữ"


def test_xlsx_rows_and_line_numbers(ctx, tmp_path):
    seed_units()
    path = tmp_path / "ds.xlsx"
    _write_xlsx(path, [
        ["Họ và tên", "Email", "Số điện thoại", "Mã đơn vị", "Chức vụ"],
        ["Đỗ Quỳnh Hương", "huong@hp.gov.vn", None, "11560", "Chuyên viên chính"],
        ["Vũ Đình Khải", None, 912000111, 11557, None],  # numeric cells, Excel style
        ["Lỗi Email", "khong-hop-le", None, "11560", None],
    ])
    bad = _run(path)
    assert not bad["ok"] and [e["line"] for e in bad["errors"]] == [4] and _users() == 0
    _write_xlsx(path, [
        ["ho_ten", "email", "so_dien_thoai", "ma_don_vi", "chuc_vu"],
        ["Đỗ Quỳnh Hương", "huong@hp.gov.vn", None, "11560", "Chuyên viên chính"],
        ["Vũ Đình Khải", None, 912000111, 11557, None],
    ])
    result = _run(path)
    assert result["ok"] and result["created"] == 2
    huong = db.session.scalar(db.select(User).where(User.email == "huong@hp.gov.vn"))
    assert huong.name == "Đỗ Quỳnh Hương" and huong.job_title == "Chuyên viên chính"
    assert db.session.scalar(db.select(User.name).where(User.phone == "0912000111")) \
        == "Vũ Đình Khải"
    again = _run(path)
    assert (again["created"], again["updated"]) == (0, 0)


def test_existing_user_matched_by_phone_is_updated(ctx, tmp_path):
    seed_units()
    make_user("cu@hp.gov.vn")
    path = tmp_path / "ds.csv"
    path.write_text(HEADER + "Nguyễn Văn An,cu@hp.gov.vn,0911222333,11560,Chuyên viên\n",
                    encoding="utf-8")
    result = _run(path)
    assert (result["created"], result["updated"]) == (0, 1)
    user = db.session.scalar(db.select(User).where(User.email == "cu@hp.gov.vn"))
    assert user.phone == "0911222333" and user.job_title == "Chuyên viên"
    assert verify_password(user.password_hash, "mat-khau-123")  # password untouched



def test_admin_page_imports_through_the_job(app, client, worker):
    with app.app_context():
        seed_units()
        admin = make_user("qt@example.vn", "admin")
        learner = make_user("hv@example.vn")
    login_as(client, learner)
    assert client.get("/admin/people/import").status_code == 403
    login_as(client, admin)
    page = client.get("/admin/people/import").get_data(as_text=True)
    assert "Nhập danh sách cán bộ" in page and "Nhập cán bộ" in page
    body = (HEADER + "Hoàng Minh Châu,chau@hp.gov.vn,,11560,Chuyên viên\n"
            "Bùi Thị Lan,,0933444555,11557,\n").encode()
    r = client.post("/admin/people/import", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(body), "can-bo.csv")},
        content_type="multipart/form-data")
    if worker is not None:
        assert r.status_code == 302
        url = r.headers["Location"]
        deadline = time.time() + 60
        while time.time() < deadline:
            state = client.get(url + "?format=json").get_json()
            if state["status"] in ("finished", "failed"):
                break
            time.sleep(0.3)
        assert state["status"] == "finished", state
        page = client.get(url).get_data(as_text=True)
    else:
        assert r.status_code == 200
        page = r.get_data(as_text=True)
    assert 'data-count="created">2<' in page
    with app.app_context():
        assert db.session.scalar(db.select(User.name).where(User.phone == "0933444555")) \
            == "Bùi Thị Lan"
        entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "people.import"))
        assert entry.actor_id == admin and entry.after["created"] == 2
    uploads = list((Path(app.config["CONTENT_ROOT"]) / "_uploads").glob("*.csv"))
    assert uploads == []
    # A rejected file: the error table, nothing saved.
    bad = (HEADER + "Không Đơn Vị,x@hp.gov.vn,,,\n").encode()
    r = client.post("/admin/people/import", data={
        "csrf_token": csrf_token(page if worker is None else client.get(
            "/admin/people/import").get_data(as_text=True)),
        "file": (io.BytesIO(bad), "loi.csv")}, content_type="multipart/form-data")
    if worker is not None:
        url = r.headers["Location"]
        deadline = time.time() + 60
        while client.get(url + "?format=json").get_json()["status"] not in ("finished",
                                                                          "failed"):
            assert time.time() < deadline
            time.sleep(0.3)
        r = client.get(url)
    page = r.get_data(as_text=True)
    assert 'data-line="2"' in page and "Thiếu mã đơn vị." in page
    # Only .csv/.xlsx, and CSRF is required.
    r = client.post("/admin/people/import", data={
        "csrf_token": csrf_token(client.get("/admin/people/import").get_data(as_text=True)),
        "file": (io.BytesIO(b"x"), "ds.txt")}, content_type="multipart/form-data")
    assert r.status_code == 422 and "Chỉ nhận tệp .csv hoặc .xlsx." in r.get_data(as_text=True)
    r = client.post("/admin/people/import", data={"file": (io.BytesIO(body), "a.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 400


def _big_csv(path, bad_lines: set[int]) -> None:
    units = ["11560", "11557"]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i in range(20_000):
            line = i + 2
            email = f"cb{i:05d}@hp.gov.vn" if line not in bad_lines else f"cb{i:05d}@"
            phone = f"09{i:08d}" if i % 2 else ""
            f.write(f"Nguyễn Văn Số {i},{email},{phone},{units[i % 2]},Chuyên viên\n")


def test_twenty_thousand_rows(ctx, tmp_path):
    seed_units()
    db.session.commit()
    path = tmp_path / "lon.csv"
    bad = {7, 1234, 9999, 15000, 20001}
    _big_csv(path, bad)
    t0 = time.perf_counter()
    result = _run(path)
    assert not result["ok"] and result["error_count"] == 5
    assert sorted(e["line"] for e in result["errors"]) == sorted(bad)
    assert _users() == 0
    _big_csv(path, set())
    upload = tmp_path / "upload.csv"
    shutil.copy(path, upload)
    tracemalloc.start()
    t1 = time.perf_counter()
    result = jobs.import_people(str(upload), None)  # the job: one commit and one audit entry
    elapsed = time.perf_counter() - t1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\n20k import: {elapsed:.1f} s, peak traced memory {peak / 2**20:.1f} MB")
    assert result["ok"] and result["created"] == 20_000 and _users() == 20_000
    assert not upload.exists()
    assert peak < 30 * 2**20
    again = _run(path)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 20_000)
    print(f"20k total (failing pass, import, re-import): {time.perf_counter() - t0:.1f} s")
