"""Reports: completion rosters and their exports (CSV/XLSX as background jobs).

`roster.py` is the set-based roster query (reused by the dashboards and SCORM reports),
`exports.py` writes files from it, `views.py` holds the pages.
"""

from __future__ import annotations

from flask import Flask


def init_reports(app: Flask) -> None:
    """Defaults for the export settings (EXPORT_DIR, EXPORT_TTL_HOURS: lms/config.py), blueprint."""
    app.config.setdefault("EXPORT_DIR", None)
    app.config.setdefault("EXPORT_TTL_HOURS", 24.0)
    app.config.setdefault("ROSTER_PAGE_ROWS", 50)
    from .views import bp

    app.register_blueprint(bp)
