"""The city's units: seeded from lms/data/units.yaml, then managed by admins.

Units are never deleted. Renames keep the code; a merge retires the merged unit and points it
at the unit that absorbed it; every change goes to the audit log in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import select

from . import audit
from .extensions import db
from .models import Unit

DATA = Path(__file__).resolve().parent / "data" / "units.yaml"
COMMUNE_KINDS = ("xa", "phuong", "dac_khu")
KINDS = {"xa": "Xã", "phuong": "Phường", "dac_khu": "Đặc khu", "so_ban_nganh": "Sở, ban, ngành"}


class UnitError(ValueError):
    """A unit change that cannot be made; the message is shown to the admin."""


def snapshot(unit: Unit) -> dict:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind,
            "parent_id": unit.parent_id, "merged_into_id": unit.merged_into_id,
            "retired": unit.retired_at is not None}


def seed_units() -> int:
    """Create the units of the data file that do not exist yet; return how many were added."""
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    existing = set(db.session.scalars(select(Unit.code)))
    rows = [(c["code"], c["name"], c["type"]) for c in data["communes"]]
    rows += [(d["code"], d["name"], "so_ban_nganh") for d in data["departments"]]
    added = 0
    for code, name, kind in rows:
        if code in existing:
            continue
        db.session.add(Unit(code=code, name=name, kind=kind))
        added += 1
    if added:
        audit.record("units.seed", "unit", "*", after={"added": added})
    db.session.commit()
    return added


def add_unit(code: str, name: str, kind: str, parent_id: int | None = None) -> Unit:
    code, name = code.strip(), " ".join(name.split())
    if kind not in KINDS:
        raise UnitError("Loại đơn vị không hợp lệ.")
    if not code or not name:
        raise UnitError("Mã và tên đơn vị không được để trống.")
    if db.session.scalar(select(Unit).where(Unit.code == code)):
        raise UnitError(f"Mã đơn vị «{code}» đã tồn tại.")
    unit = Unit(code=code, name=name, kind=kind, parent_id=parent_id)
    db.session.add(unit)
    db.session.flush()
    audit.record("unit.add", "unit", unit.id, after=snapshot(unit))
    db.session.commit()
    return unit


def rename_unit(unit: Unit, name: str) -> None:
    name = " ".join(name.split())
    if not name:
        raise UnitError("Tên đơn vị không được để trống.")
    before = snapshot(unit)
    unit.name = name
    audit.record("unit.rename", "unit", unit.id, before=before, after=snapshot(unit))
    db.session.commit()


def retire_unit(unit: Unit) -> None:
    if unit.retired_at is not None:
        raise UnitError("Đơn vị này đã ngừng hoạt động.")
    before = snapshot(unit)
    unit.retired_at = datetime.now(UTC)
    audit.record("unit.retire", "unit", unit.id, before=before, after=snapshot(unit))
    db.session.commit()


def merge_unit(unit: Unit, into: Unit) -> None:
    """Retire `unit` and record that `into` absorbed it (members move with the accounts work)."""
    if unit.id == into.id:
        raise UnitError("Không thể sáp nhập một đơn vị vào chính nó.")
    if unit.retired_at is not None or into.retired_at is not None:
        raise UnitError("Chỉ sáp nhập được giữa các đơn vị đang hoạt động.")
    before = snapshot(unit)
    unit.merged_into_id = into.id
    unit.retired_at = datetime.now(UTC)
    audit.record("unit.merge", "unit", unit.id, before=before, after=snapshot(unit))
    db.session.commit()
