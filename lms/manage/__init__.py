"""The unit-manager area (`/manage…`) and the assignment pages of admins (`/admin/assignments`).

Modules: `access` (who sees which unit), `service` (create/retire assignments, appoint
managers, with audit entries), `report` (a unit's people and counts), `views` and
`assign_views` (the pages).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("manage", __name__)

from . import assign_views, manager_views, views  # noqa: E402,F401  (register the routes)
