"""Hai Phong digital-skills learning platform (SCORM 1.2 / 2004 LMS)."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import load_config
from .extensions import csrf, db, limiter, login_manager, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("LMS_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    app.config.from_mapping(load_config(app.instance_path, overrides))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    Path(app.config["CONTENT_ROOT"]).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Vui lòng đăng nhập để tiếp tục."

    from . import models  # noqa: F401  (register models)
    from .admin_catalog import bp as admin_catalog_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .auth import load_user_from_request
    from .certificates import bp as certificates_bp
    from .cli import register_cli
    from .content import bp as content_bp
    from .errors import register_error_pages
    from .guest import init_guest
    from .i18n import init_i18n
    from .learn import bp as learn_bp
    from .manage import bp as manage_bp
    from .ops import init_ops
    from .people import bp as people_bp
    from .player import bp as player_bp
    from .reports.dashboard_views import bp as dashboards_bp
    from .static_versions import register_static_versions
    from .web import bp as web_bp

    login_manager.request_loader(load_user_from_request)
    app.register_blueprint(auth_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(player_bp)
    app.register_blueprint(content_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(learn_bp)
    app.register_blueprint(admin_catalog_bp)
    app.register_blueprint(manage_bp)
    app.register_blueprint(dashboards_bp)  # dashboards and SCORM reports (lms/reports)
    init_i18n(app)
    from .reports import init_reports

    init_reports(app)  # completion rosters and exports (lms/reports)
    init_guest(app)
    csrf.exempt(api_bp)
    register_cli(app)
    register_error_pages(app)
    init_ops(app)
    register_static_versions(app)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind nginx: trust one hop of X-Forwarded-* so the Origin check and URLs are right.
        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    return app
