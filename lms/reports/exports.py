"""Roster files: CSV (UTF-8 with BOM, for Excel) and XLSX (XlsxWriter, constant memory).

Rows are streamed from a server-side cursor in batches, so memory stays flat whatever the row
count. A file is written under a temporary name and renamed only when complete: a failed export
leaves no file behind. Export jobs live in `export_jobs`; `run_export` is what the RQ job runs.
"""

from __future__ import annotations

import csv
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Select, delete, select, update

from ..extensions import db
from ..models import ExportJob, Module, Programme, Topic
from .roster import Roster, RosterFilters, build_roster, localtime

BATCH = 5000
XLSX_MAX_ROWS = 1_048_576  # Excel's limit per worksheet, header included
PROGRESS_EVERY_S = 1.0
FORMATS = ("csv", "xlsx")
Progress = Callable[[int], None]


def export_dir() -> Path:
    path = Path(current_app.config.get("EXPORT_DIR")
                or Path(current_app.config["CONTENT_ROOT"]) / "_exports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def ttl() -> timedelta:
    return timedelta(hours=float(current_app.config.get("EXPORT_TTL_HOURS", 24)))


PG_SETTINGS = {"jit": "off", "work_mem": "64MB"}  # JIT would compile these wide queries for
# seconds before the first row; a larger sort memory keeps the ordering off disk longer.


def tune(conn: Any) -> None:
    """Session settings for roster queries (PostgreSQL; this transaction only)."""
    if conn.dialect.name == "postgresql":
        for key, value in PG_SETTINGS.items():
            conn.exec_driver_sql(f"SET LOCAL {key} = '{value}'")


def stream(stmts: Sequence[Select], batch: int = BATCH) -> Iterator[Sequence[Any]]:
    """Batches of rows of each statement in turn, from a server-side cursor."""
    with db.engine.connect() as conn:
        tune(conn)
        streaming = conn.execution_options(stream_results=True, yield_per=batch)
        for stmt in stmts:
            yield from streaming.execute(stmt).partitions(batch)


def write_csv(roster: Roster, path: Path, progress: Progress | None = None) -> int:
    """Write the roster as CSV; every value is formatted by the database. Returns the rows."""
    done = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(roster.headers)
        for part in stream(roster.statements("text")):
            writer.writerows(part)
            done += len(part)
            if progress:
                progress(done)
    return done


def write_xlsx(roster: Roster, path: Path, progress: Progress | None = None) -> int:
    """Write the roster as XLSX: header row, filters, frozen panes; numbers and dates typed."""
    import xlsxwriter

    columns = roster.columns
    kinds = [c.kind for c in columns]
    time_cols = [i for i, k in enumerate(kinds) if k in ("date", "datetime")]
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        head = wb.add_format({"bold": True, "text_wrap": True, "valign": "top",
                              "bg_color": "#DDEBF7", "border": 1})
        formats = {"date": wb.add_format({"num_format": "dd/mm/yyyy"}),
                   "datetime": wb.add_format({"num_format": "dd/mm/yyyy hh:mm"})}
        widths = {"text": 18, "int": 9, "date": 11, "datetime": 16}
        sheet, row_no, sheets, done = None, 0, 0, 0

        def new_sheet():
            nonlocal sheets
            sheets += 1
            ws = wb.add_worksheet("Danh sách" if sheets == 1 else f"Danh sách ({sheets})")
            for i, kind in enumerate(kinds):
                ws.set_column(i, i, 28 if columns[i].key in ("name", "unit_name", "programme")
                              else widths[kind])
            ws.set_row(0, 45)
            ws.write_row(0, 0, roster.headers, head)
            ws.freeze_panes(1, 2)
            return ws

        def close_sheet(ws, last: int) -> None:
            ws.autofilter(0, 0, max(last, 1), len(columns) - 1)

        for part in stream(roster.statements("xlsx")):
            for values in part:
                if sheet is None or row_no >= XLSX_MAX_ROWS - 1:
                    if sheet is not None:
                        close_sheet(sheet, row_no)
                    sheet, row_no = new_sheet(), 0
                row_no += 1
                values = list(values)
                for i in time_cols:
                    if values[i] is not None:
                        sheet.write_datetime(row_no, i, localtime(values[i]), formats[kinds[i]])
                        values[i] = None
                for i, value in enumerate(values):
                    if value is not None and i not in time_cols:
                        sheet.write(row_no, i, value)
            done += len(part)
            if progress:
                progress(done)
        if sheet is None:
            sheet = new_sheet()
        close_sheet(sheet, row_no)
    finally:
        wb.close()
    return done


WRITERS: dict[str, Callable[[Roster, Path, Progress | None], int]] = {
    "csv": write_csv, "xlsx": write_xlsx}


# --- export jobs ------------------------------------------------------------------------------


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = plain.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40] or "tat-ca"


def scope_label(filters: RosterFilters) -> str:
    for model, key in ((Module, filters.module_id), (Topic, filters.topic_id),
                       (Programme, filters.programme_id)):
        if key is not None:
            obj = db.session.get(model, key)
            if obj is not None:
                return obj.code
    return "tat-ca"


def file_name(filters: RosterFilters, fmt: str, when: datetime) -> str:
    stamp = localtime(when).strftime("%Y%m%d-%H%M")  # type: ignore[union-attr]
    return f"danh-sach-hoan-thanh-{_slug(scope_label(filters))}-{stamp}.{fmt}"


def create_job(user_id: int, fmt: str, filters: RosterFilters,
               scope_unit_id: int | None) -> ExportJob:
    import uuid

    if fmt not in FORMATS:
        raise ValueError(fmt)
    job = ExportJob(id=uuid.uuid4().hex, user_id=user_id, kind="roster", fmt=fmt,
                    params=filters.to_params(), scope_unit_id=scope_unit_id, status="queued")
    db.session.add(job)
    db.session.commit()
    return job


def job_filters(job: ExportJob) -> RosterFilters:
    filters = RosterFilters.from_params(job.params or {})
    if job.scope_unit_id is not None:  # a unit manager's export: their unit, whatever was asked
        filters = filters.with_unit(job.scope_unit_id)
    return filters


def _set(job_id: str, **values: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(ExportJob).where(ExportJob.id == job_id).values(**values))


def run_export(job_id: str) -> dict[str, Any]:
    """Build the job's file. On any error the partial file is removed, the job is marked failed
    and the error re-raised (RQ records it)."""
    purge_expired()
    job = db.session.get(ExportJob, job_id)
    if job is None:
        raise LookupError(f"export job {job_id} not found")
    fmt, final = job.fmt, export_dir() / f"{job.id}.{job.fmt}"
    tmp = final.with_name(final.name + ".part")
    started = datetime.now(UTC)
    _set(job_id, status="running", rows_done=0, error=None)
    try:
        filters = job_filters(job)
        roster = build_roster(filters)
        tune(db.session.connection())
        total = roster.count()
        _set(job_id, rows_total=total)
        db.session.rollback()  # end the read transaction before the long stream
        live = db.engine.dialect.name != "sqlite"  # SQLite: one writer, progress at the end
        last = [time.monotonic()]

        def progress(done: int) -> None:
            if live and time.monotonic() - last[0] >= PROGRESS_EVERY_S:
                last[0] = time.monotonic()
                _set(job_id, rows_done=done)

        rows = WRITERS[fmt](roster, tmp, progress)
        os.replace(tmp, final)
        finished = datetime.now(UTC)
        _set(job_id, status="finished", rows_done=rows, rows_total=rows, path=str(final),
             filename=file_name(filters, fmt, started), size_bytes=final.stat().st_size,
             finished_at=finished, expires_at=finished + ttl())
        return {"rows": rows, "path": str(final)}
    except BaseException as exc:
        db.session.rollback()
        tmp.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        _set(job_id, status="failed", path=None, finished_at=datetime.now(UTC),
             expires_at=datetime.now(UTC) + ttl(),
             error=f"{exc.__class__.__name__}: {exc}"[:2000])
        raise


def purge_expired(now: datetime | None = None) -> int:
    """Remove expired export files and their rows; returns how many jobs were removed."""
    now = now or datetime.now(UTC)
    expired = db.session.execute(
        select(ExportJob.id, ExportJob.path).where(ExportJob.expires_at < now)).all()
    for _, path in expired:
        if path:
            Path(path).unlink(missing_ok=True)
            Path(path + ".part").unlink(missing_ok=True)
    if expired:
        db.session.execute(delete(ExportJob).where(ExportJob.id.in_([i for i, _ in expired])))
    db.session.commit()
    return len(expired)
