"""Who may open the unit-manager area, and for which unit.

- a unit manager: their own unit only (`?unit=` naming another unit is a 404, like any object
  of another unit: the answer never confirms what exists elsewhere);
- an admin: any unit, chosen with `?unit=<id>`;
- everyone else: 403 (anonymous visitors are sent to the login page first).
"""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from ..extensions import db
from ..models import Unit


def is_manager() -> bool:
    return current_user.is_authenticated and current_user.role == "unit_manager"


def require_area() -> None:
    if not (current_user.is_admin or (is_manager() and current_user.unit_id is not None)):
        abort(403)


def scope_unit() -> Unit | None:
    """The unit being managed; None for an admin who named none."""
    require_area()
    raw = request.args.get("unit")
    if current_user.is_admin:
        if not raw:
            return None
        if not raw.isdigit():
            abort(404)
        return db.session.get(Unit, int(raw)) or abort(404)
    if raw and raw != str(current_user.unit_id):
        abort(404)
    return db.session.get(Unit, current_user.unit_id) or abort(403)


def unit_args(unit: Unit | None) -> dict[str, int]:
    """Query arguments that keep an admin inside the unit they opened."""
    return {"unit": unit.id} if unit is not None and current_user.is_admin else {}
