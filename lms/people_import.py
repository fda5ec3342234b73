"""Bulk import of civil servants from a CSV or XLSX file.

The file is read twice, streaming row by row, so it is never half-applied: pass 1 validates
every row (keeping only the contacts seen so far, the errors and the numbers of the bad
lines); pass 2 upserts users in batches inside one transaction. By default pass 2 runs only
when the whole file is valid. With skip_invalid (the admin saw the report and chose "import
the valid rows, skip the bad ones") pass 2 leaves out the lines pass 1 found bad and applies
every other row, still in one transaction: a conflict with existing accounts, or any failure,
applies nothing. A file-level problem (unreadable file, missing columns) is never skipped.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import insert, select, update

from .accounts import normalise_phone
from .extensions import db
from .models import Unit, User

BATCH_SIZE = 1000
PROGRESS_EVERY = 500
MAX_ERRORS = 1000
# skip_invalid keeps the numbers of the bad lines in memory (a set of ints: ~1 MB for 20,000);
# a file with more bad lines than this is refused rather than imported without them.
MAX_SKIPPED = 50_000
# Imported people have no password yet: they set one later through the password-reset flow.
# This marker is not an Argon2 hash, so verify_password rejects every password against it
# (InvalidHashError), and it costs nothing, unlike hashing 20,000 random passwords.
UNUSABLE_PASSWORD = "!import"

HEADER_ALIASES = {
    "ho_ten": "name", "ho_va_ten": "name", "name": "name", "full_name": "name",
    "email": "email", "e_mail": "email",
    "so_dien_thoai": "phone", "phone": "phone", "sdt": "phone",
    "ma_don_vi": "unit_code", "unit_code": "unit_code",
    "chuc_vu": "job_title", "job_title": "job_title",
}
LABELS = {"name": "ho_ten", "email": "email", "phone": "so_dien_thoai",
          "unit_code": "ma_don_vi", "job_title": "chuc_vu"}


class ImportFileError(ValueError):
    """The file cannot be read at all (wrong format, not UTF-8, damaged workbook)."""


@dataclass
class Row:
    line: int
    name: str
    email: str | None
    phone: str | None
    unit_code: str
    job_title: str | None


def header_key(value: object) -> str:
    """'Số điện thoại' -> 'so_dien_thoai': lower case, no diacritics, underscores."""
    text = str(value or "").strip().lower().replace("đ", "d")
    text = "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")
    return "_".join(text.replace("-", " ").replace("_", " ").split())


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


# --- reading -------------------------------------------------------------------------------


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        first = f.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        start = 1
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1  # a quoted cell may span several lines


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile/XML errors of a damaged workbook
        raise ImportFileError("Không đọc được tệp Excel (.xlsx).") from exc
    try:
        for number, cells in enumerate(wb.active.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        wb.close()


def iter_rows(path: Path) -> Iterator[tuple[int, list]]:
    """(file line number, cells) for every row, the header first; read lazily."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        yield from _xlsx_rows(path)
    elif suffix == ".csv":
        try:
            yield from _csv_rows(path)
        except UnicodeDecodeError as exc:
            raise ImportFileError("Tệp CSV phải được lưu với bảng mã UTF-8.") from exc
    else:
        raise ImportFileError("Chỉ nhận tệp .csv hoặc .xlsx.")


# --- validation ----------------------------------------------------------------------------


class _Report:
    def __init__(self) -> None:
        self.errors: list[dict] = []
        self.error_count = 0
        self.fatal = False  # a file-level error: no row of the file can be trusted
        self.bad_lines: set[int] = set()  # at most MAX_SKIPPED of them
        self.too_many_bad_lines = False

    def add(self, line: int, column: str, message: str, fatal: bool = False) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"line": line, "column": column, "message": message})
        if fatal:
            self.fatal = True
        elif line not in self.bad_lines:
            if len(self.bad_lines) < MAX_SKIPPED:
                self.bad_lines.add(line)
            else:
                self.too_many_bad_lines = True


def _columns(header: list, report: _Report) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for index, value in enumerate(header):
        field = HEADER_ALIASES.get(header_key(value))
        if field and field not in columns:
            columns[field] = index
    for field in ("name", "unit_code"):
        if field not in columns:
            report.add(1, LABELS[field], f"Thiếu cột «{LABELS[field]}» trong dòng tiêu đề.",
                       fatal=True)
    if "email" not in columns and "phone" not in columns:
        report.add(1, "email", "Cần có cột «email» hoặc cột «so_dien_thoai».", fatal=True)
    return None if report.error_count else columns


def _units() -> tuple[dict[str, int], set[str]]:
    """(active code -> id, retired codes)."""
    active, retired = {}, set()
    for unit_id, code, retired_at in db.session.execute(
            select(Unit.id, Unit.code, Unit.retired_at)):
        if retired_at is None:
            active[code.upper()] = unit_id
        else:
            retired.add(code.upper())
    return active, retired


def _rows(path: Path, report: _Report, units: tuple[dict[str, int], set[str]],
          seen: dict[str, int] | None, skip: set[int] | None = None) -> Iterator[Row]:
    """The valid rows; invalid ones go to the report. With seen, duplicates are reported;
    lines in skip (found bad by pass 1) are left out unread."""
    active, retired = units
    columns = None
    for line, cells in iter_rows(path):
        if columns is None:
            columns = _columns(cells, report)
            if columns is None:
                return
            continue
        if skip and line in skip:
            continue
        values = {f: _cell(cells[i]) if i < len(cells) else "" for f, i in columns.items()}
        if not any(values.values()):
            continue  # blank lines are skipped
        before = report.error_count
        name = " ".join(values.get("name", "").split())
        if not name:
            report.add(line, LABELS["name"], "Thiếu họ và tên.")
        elif len(name) > 200:
            report.add(line, LABELS["name"], "Họ và tên dài quá 200 ký tự.")
        email = values.get("email", "").lower() or None
        if email and seen is not None:  # pass 2 reads the rows pass 1 already checked
            try:
                validate_email(email, check_deliverability=False)
            except EmailNotValidError:
                report.add(line, LABELS["email"], f"Email «{email}» không hợp lệ.")
        raw_phone = values.get("phone", "")
        phone = None
        if raw_phone:
            if raw_phone.isdigit() and len(raw_phone) == 9:
                raw_phone = "0" + raw_phone  # Excel drops the leading 0 of numeric cells
            phone = normalise_phone(raw_phone)
            if phone is None:
                report.add(line, LABELS["phone"],
                           f"Số điện thoại «{values['phone']}» không hợp lệ "
                           "(cần 10 chữ số, bắt đầu bằng 0).")
        if not email and not raw_phone:
            report.add(line, LABELS["email"], "Cần có email hoặc số điện thoại.")
        code = values.get("unit_code", "").upper()
        if not code:
            report.add(line, LABELS["unit_code"], "Thiếu mã đơn vị.")
        elif code in retired and code not in active:
            report.add(line, LABELS["unit_code"], f"Đơn vị mã «{code}» đã ngừng hoạt động.")
        elif code not in active:
            report.add(line, LABELS["unit_code"], f"Không có đơn vị mã «{code}».")
        job_title = " ".join(values.get("job_title", "").split()) or None
        if job_title and len(job_title) > 200:
            report.add(line, LABELS["job_title"], "Chức vụ dài quá 200 ký tự.")
        if seen is not None:
            for field, key in (("email", email), ("phone", phone)):
                if key:
                    first = seen.setdefault(f"{field}:{key}", line)
                    if first != line:
                        report.add(line, LABELS[field], f"«{key}» trùng với dòng {first}.")
        if report.error_count == before:
            yield Row(line, name, email, phone, code, job_title)


# --- the import ----------------------------------------------------------------------------


def import_file(path: Path | str, progress: Callable[[int], None] | None = None,
                skip_invalid: bool = False) -> dict:
    """Validate, then upsert: only if the whole file is valid, or, with skip_invalid, every
    row except the bad lines (reported with their reasons and listed in `skipped_lines`).
    Adds to the session without committing, so the caller commits (with its audit entry);
    when the result is not ok nothing is applied.

    The result: ok (applied), created/updated/unchanged, rows (valid rows), errors (the first
    MAX_ERRORS) and error_count, invalid_lines (how many lines are bad), skipped_lines (the
    bad lines left out, with skip_invalid) and can_skip (not ok only because of bad rows, so
    running again with skip_invalid would import the `rows` valid ones)."""
    path = Path(path)
    report = _Report()
    conflicts = _Report()  # pass 2: rows that clash with existing accounts
    units = _units()
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    skipped: list[int] = []

    def result(rows: int) -> dict:
        can_skip = (not skip_invalid and not report.fatal and not report.too_many_bad_lines
                    and bool(report.bad_lines) and rows > 0 and not conflicts.error_count)
        ok = not report.fatal and not conflicts.error_count and (
            not report.error_count or (skip_invalid and not report.too_many_bad_lines))
        errors = sorted((conflicts.errors + report.errors)[:MAX_ERRORS],
                        key=lambda e: e["line"])
        return {"ok": ok, **counts, "errors": errors,
                "error_count": report.error_count + conflicts.error_count, "rows": rows,
                "invalid_lines": len(report.bad_lines), "skip_invalid": skip_invalid,
                "skipped_lines": skipped, "can_skip": can_skip}

    # Pass 1: validate every row.
    rows = 0
    try:
        for _ in _rows(path, report, units, seen={}):
            rows += 1
            if progress and rows % PROGRESS_EVERY == 0:
                progress(rows)
    except ImportFileError as exc:
        report.add(1, "", str(exc), fatal=True)
    except csv.Error as exc:
        report.add(1, "", f"Tệp CSV sai định dạng: {exc}", fatal=True)
    if skip_invalid and report.too_many_bad_lines:
        limit = f"{MAX_SKIPPED:,}".replace(",", ".")  # Vietnamese thousands separator
        report.add(1, "", f"Tệp có hơn {limit} dòng lỗi, quá nhiều để bỏ qua: hãy sửa tệp "
                   "rồi tải lên lại.", fatal=True)
    if report.fatal or (report.error_count and not skip_invalid):
        return result(rows)

    # Pass 2: upsert in batches, all in the caller's one transaction.
    matched: dict[int, int] = {}  # user id -> line: one account is never matched twice
    done = 0
    batch: list[Row] = []
    for row in _rows(path, conflicts, units, seen=None, skip=report.bad_lines):
        batch.append(row)
        if len(batch) == BATCH_SIZE:
            _apply(batch, units[0], matched, counts, conflicts)
            done, batch = done + len(batch), []
            if progress and done % PROGRESS_EVERY == 0:
                progress(done)
    if batch:
        _apply(batch, units[0], matched, counts, conflicts)
        done += len(batch)
    if conflicts.error_count:  # conflicts with existing accounts: apply nothing
        db.session.rollback()
        counts.update(created=0, updated=0, unchanged=0)
        return result(rows)
    skipped.extend(sorted(report.bad_lines))
    if progress:
        progress(done)
    return result(rows)


_COLUMNS = (User.id, User.email, User.phone, User.name, User.unit_id, User.job_title)


def _apply(batch: list[Row], unit_ids: dict[str, int], matched: dict[int, int], counts: dict,
           report: _Report) -> None:
    emails = [r.email for r in batch if r.email]
    phones = [r.phone for r in batch if r.phone]
    by_email = {u.email: u for u in db.session.execute(
        select(*_COLUMNS).where(User.email.in_(emails)))} if emails else {}
    by_phone = {u.phone: u for u in db.session.execute(
        select(*_COLUMNS).where(User.phone.in_(phones)))} if phones else {}
    inserts, updates = [], []
    for row in batch:
        a, b = by_email.get(row.email), by_phone.get(row.phone)
        if a and b and a.id != b.id:
            report.add(row.line, LABELS["phone"], "Email và số điện thoại thuộc hai tài khoản "
                       "khác nhau đã có trong hệ thống.")
            continue
        user = a or b
        unit_id = unit_ids[row.unit_code]
        if user is None:
            inserts.append({"email": row.email, "phone": row.phone, "name": row.name,
                            "role": "learner", "password_hash": UNUSABLE_PASSWORD,
                            "unit_id": unit_id, "job_title": row.job_title})
            continue
        if user.id in matched:
            report.add(row.line, LABELS["email"],
                       f"Tài khoản này đã được dòng {matched[user.id]} cập nhật.")
            continue
        matched[user.id] = row.line
        # A blank optional cell never erases what the account already has.
        wanted = {"name": row.name, "unit_id": unit_id,
                  "job_title": row.job_title or user.job_title,
                  "email": row.email or user.email, "phone": row.phone or user.phone}
        if all(getattr(user, k) == v for k, v in wanted.items()):
            counts["unchanged"] += 1
        else:
            updates.append({"id": user.id, **wanted})
    if report.error_count:
        return
    if inserts:
        # render_nulls keeps one executemany: otherwise rows are grouped by which keys are None.
        db.session.execute(insert(User).execution_options(render_nulls=True), inserts)
        counts["created"] += len(inserts)
    if updates:
        db.session.execute(update(User), updates)
        counts["updated"] += len(updates)


def line_ranges(lines: list[int]) -> str:
    """[2, 3, 4, 9] -> '2–4, 9': the skipped lines, short enough to show."""
    parts: list[str] = []
    start = prev = None
    for line in sorted(lines):
        if prev is not None and line == prev + 1:
            prev = line
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}–{prev}")
        start = prev = line
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}–{prev}")
    return ", ".join(parts)
