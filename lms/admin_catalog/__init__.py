"""Catalog admin: programmes/classes, their topics and modules are data an admin edits.

Register with `app.register_blueprint(bp)`; every page is for admins only (anonymous visitors
go to the login page, everyone else gets 403).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_catalog", __name__, url_prefix="/admin/catalog")

from . import views  # noqa: E402,F401  (routes)
