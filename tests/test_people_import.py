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


# --- "import the valid rows, skip the bad ones" ---------------------------------------------

MIXED = (HEADER
         + "Người Một,mot@hp.gov.vn,,11560,Chuyên viên\n"          # 2: fine
         + "Sai Email,sai@,,11560,\n"                               # 3: bad email
         + "Người Hai,,0911000222,11557,\n"                         # 4: fine
         + "Sai Đơn Vị,donvi@hp.gov.vn,,99999,\n"                   # 5: unknown unit
         + "Trùng Một,MOT@hp.gov.vn,0911999999,11560,\n"            # 6: duplicate of 2
         + "Người Ba,ba@hp.gov.vn,0911000333,11560,Kế toán\n")      # 7: fine
MIXED_GOOD = {"mot@hp.gov.vn", "0911000222", "ba@hp.gov.vn"}


def _run_skip(path) -> dict:
    result = import_file(path, skip_invalid=True)
    db.session.commit()
    return result


def _contacts() -> set[str]:
    return {c for row in db.session.execute(db.select(User.email, User.phone)) for c in row if c}


def test_without_skip_nothing_is_written_and_skipping_is_offered(ctx, tmp_path):
    seed_units()
    path = tmp_path / "ds.csv"
    path.write_text(MIXED, encoding="utf-8")
    result = _run(path)
    assert not result["ok"] and _users() == 0
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, 0)
    assert result["can_skip"] and result["rows"] == 3 and result["invalid_lines"] == 3
    assert result["skipped_lines"] == [] and not result["skip_invalid"]
    assert sorted(e["line"] for e in result["errors"]) == [3, 5, 6]


def test_skip_invalid_creates_the_good_rows_and_lists_the_bad_lines(ctx, tmp_path):
    seed_units()
    path = tmp_path / "ds.csv"
    path.write_text(MIXED, encoding="utf-8")
    result = _run_skip(path)
    assert result["ok"] and result["skip_invalid"] and not result["can_skip"]
    assert (result["created"], result["updated"], result["unchanged"]) == (3, 0, 0)
    assert result["skipped_lines"] == [3, 5, 6] and result["invalid_lines"] == 3
    by_line = {e["line"]: e["message"] for e in result["errors"]}
    assert by_line == {3: "Email «sai@» không hợp lệ.", 5: "Không có đơn vị mã «99999».",
                       6: "«mot@hp.gov.vn» trùng với dòng 2."}
    # The good rows and nothing else: not the duplicate's phone, not the bad rows' contacts.
    assert _users() == 3 and _contacts() == MIXED_GOOD | {"0911000333"}
    mot = db.session.scalar(db.select(User).where(User.email == "mot@hp.gov.vn"))
    assert mot.name == "Người Một" and mot.job_title == "Chuyên viên"
    # The same file again, in either mode: nothing changes.
    again = _run_skip(path)
    assert again["ok"] and (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert again["skipped_lines"] == [3, 5, 6]
    strict = _run(path)
    assert not strict["ok"] and (strict["created"], strict["updated"]) == (0, 0)
    assert _users() == 3 and _contacts() == MIXED_GOOD | {"0911000333"}


def test_skip_invalid_with_a_conflict_in_pass_two_writes_nothing(ctx, tmp_path):
    seed_units()
    make_user("a@hp.gov.vn")
    other = make_user("b@hp.gov.vn")
    db.session.get(User, other).phone = "0911777777"
    db.session.commit()
    path = tmp_path / "ds.csv"
    path.write_text(HEADER
                    + "Người Mới,moi@hp.gov.vn,,11560,\n"                  # 2: fine, new
                    + "Sai Số,,12345,11560,\n"                              # 3: bad phone
                    + "Nhập Nhằng,a@hp.gov.vn,0911777777,11560,\n",         # 4: two accounts
                    encoding="utf-8")
    result = _run_skip(path)
    assert not result["ok"] and not result["can_skip"] and result["skipped_lines"] == []
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, 0)
    assert {e["line"] for e in result["errors"]} == {3, 4} and result["error_count"] == 2
    assert "hai tài khoản" in next(e["message"] for e in result["errors"] if e["line"] == 4)
    assert _users() == 2 and "moi@hp.gov.vn" not in _contacts()


def test_skip_invalid_crash_in_pass_two_rolls_everything_back(ctx, tmp_path, monkeypatch):
    import lms.people_import as people_import

    seed_units()
    db.session.commit()
    path = tmp_path / "ds.csv"
    path.write_text(MIXED, encoding="utf-8")
    real_apply, calls = people_import._apply, []

    def crash_on_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("mất kết nối cơ sở dữ liệu")
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(people_import, "BATCH_SIZE", 1)  # the first row is written, then...
    monkeypatch.setattr(people_import, "_apply", crash_on_second_batch)
    try:
        jobs.import_people(str(path), None, True)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the job should fail")
    assert len(calls) == 2 and _users() == 0 and path.exists()  # kept for RQ's retry
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog).where(
        AuditLog.action == "people.import")) == 0


def test_file_errors_and_too_many_bad_lines_are_never_skipped(ctx, tmp_path, monkeypatch):
    import lms.people_import as people_import

    seed_units()
    path = tmp_path / "ds.csv"
    path.write_text("ho_ten,chuc_vu\nAi Đó,X\n", encoding="utf-8")
    result = _run_skip(path)
    assert not result["ok"] and not result["can_skip"] and _users() == 0
    assert {e["line"] for e in result["errors"]} == {1}
    path.write_text(MIXED, encoding="utf-8")
    monkeypatch.setattr(people_import, "MAX_SKIPPED", 2)
    strict = _run(path)
    assert not strict["ok"] and not strict["can_skip"]
    result = _run_skip(path)
    assert not result["ok"] and _users() == 0 and result["created"] == 0
    assert any(e["line"] == 1 and "quá nhiều để bỏ qua" in e["message"]
               for e in result["errors"])


def test_line_ranges():
    from lms.people_import import line_ranges

    assert line_ranges([9, 2, 3, 4, 7, 11, 12]) == "2–4, 7, 9, 11–12"
    assert line_ranges([5]) == "5" and line_ranges([]) == ""


def _finished_page(client, r, worker) -> tuple[int, str]:
    """The page of an import: as answered (embedded) or once the worker's job is done."""
    if worker is None:
        return r.status_code, r.get_data(as_text=True)
    assert r.status_code == 302, r.status_code
    url = r.headers["Location"]
    deadline = time.time() + 60
    while client.get(url + "?format=json").get_json()["status"] not in ("finished", "failed"):
        assert time.time() < deadline
        time.sleep(0.3)
    page = client.get(url)
    return page.status_code, page.get_data(as_text=True)


def _skip_token(page: str) -> str:
    import re

    match = re.search(r'name="token"[^>]*?value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*?name="token"', page)
    assert match, "no skip-invalid form on the page"
    return match.group(1)


def test_admin_confirms_importing_the_valid_rows(app, client, worker):
    with app.app_context():
        seed_units()
        admin = make_user("qt@example.vn", "admin")
        other_admin = make_user("qt2@example.vn", "admin")
        learner = make_user("hv@example.vn")
    uploads = Path(app.config["CONTENT_ROOT"]) / "_uploads"
    login_as(client, admin)
    form = client.get("/admin/people/import").get_data(as_text=True)
    assert "Bỏ qua các dòng lỗi" in form
    r = client.post("/admin/people/import", data={
        "csrf_token": csrf_token(form), "file": (io.BytesIO(MIXED.encode()), "ds.csv")},
        content_type="multipart/form-data")
    status, page = _finished_page(client, r, worker)
    assert "Không có gì được lưu." in page and 'data-line="5"' in page
    assert "Nhập 3 dòng hợp lệ, bỏ qua\n      3 dòng lỗi" in page
    token = _skip_token(page)
    kept = list(uploads.glob("*.csv"))
    assert len(kept) == 1  # the refused upload waits for the confirmation
    with app.app_context():
        assert _users() == 3
    # Another admin, a learner, no CSRF token: refused, nothing imported.
    login_as(client, other_admin)
    r = client.post("/admin/people/import/skip-invalid",
                    data={"csrf_token": csrf_token(form), "token": token})
    assert r.status_code == 422 and "đã quá hạn" in r.get_data(as_text=True)
    login_as(client, learner)
    assert client.post("/admin/people/import/skip-invalid", data={
        "csrf_token": csrf_token(form), "token": token}).status_code == 403
    login_as(client, admin)
    assert client.post("/admin/people/import/skip-invalid",
                       data={"token": token}).status_code == 400
    assert kept[0].exists()
    with app.app_context():
        assert _users() == 3
    # The admin confirms: the good rows are created, the skipped lines listed.
    r = client.post("/admin/people/import/skip-invalid",
                    data={"csrf_token": csrf_token(form), "token": token})
    status, page = _finished_page(client, r, worker)
    assert 'data-ok="true"' in page and 'data-count="created">3<' in page
    assert 'data-count="skipped">3<' in page and "Dòng 3, 5–6." in page
    assert "Không có đơn vị mã «99999»." in page
    assert list(uploads.glob("*.csv")) == []
    with app.app_context():
        assert _users() == 6 and _contacts() >= MIXED_GOOD
        entry = db.session.scalars(db.select(AuditLog).where(
            AuditLog.action == "people.import").order_by(AuditLog.id.desc())).first()
        assert entry.actor_id == admin and entry.after["skipped"] == 3
        assert entry.after["skip_invalid"] is True and entry.after["created"] == 3
    # A second click on the same confirmation: nothing left to import.
    r = client.post("/admin/people/import/skip-invalid",
                    data={"csrf_token": csrf_token(form), "token": token})
    assert r.status_code == 422 and "đã được nhập hoặc đã quá hạn" in r.get_data(as_text=True)
    # The checkbox on the upload form: the same file again in one step changes nothing.
    r = client.post("/admin/people/import", data={
        "csrf_token": csrf_token(form), "skip_invalid": "y",
        "file": (io.BytesIO(MIXED.encode()), "ds.csv")}, content_type="multipart/form-data")
    status, page = _finished_page(client, r, worker)
    assert status == 200 and 'data-count="created">0<' in page
    assert 'data-count="updated">0<' in page and 'data-count="unchanged">3<' in page
    assert list(uploads.glob("*.csv")) == []
    with app.app_context():
        assert _users() == 6
