"""Test fixtures: one app per session on the configured database (PostgreSQL in CI), tables
emptied after each test, a live server for browser tests and headless Chromium."""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from lms import create_app
from lms.extensions import db

logging.getLogger("werkzeug").setLevel(logging.WARNING)
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "scorm-samples"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"SCORM sample {path} is missing in CI")
        pytest.skip(f"SCORM samples not available at {SAMPLES} (a checkout without shared/)")
    return path


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if os.environ.get("LMS_REQUIRE_SERVICES") and not (url or "").startswith("postgresql"):
        raise RuntimeError("CI must run against PostgreSQL: DATABASE_URL is not a PostgreSQL URL")
    return url or f"sqlite:///{tmp_root / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp_root = tmp_path_factory.mktemp("lms")
    url = _database_url(tmp_root)
    application = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "CONTENT_ROOT": str(tmp_root / "content"),
        "SECRET_KEY": "test-secret",
        "SERVER_NAME": None,
    })
    with application.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        from flask_migrate import upgrade

        upgrade()
    yield application


@pytest.fixture(autouse=True)
def _clean_tables(request):
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    live = _LIVE.get("server")
    if live is not None:
        live.drain()
    try:
        _truncate(application)
        # Ids restart after the truncate; a new key makes any late request of the previous test
        # (a beacon of a closed page) carry an invalid token instead of reaching a new attempt.
        application.config["SECRET_KEY"] = secrets.token_hex(16)
    finally:
        if live is not None:
            live.paused = False


def _truncate(application) -> None:
    with application.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
        from lms.extensions import limiter
        from lms.tracking import _version_info_cached

        _version_info_cached.cache_clear()
        limiter.reset()  # rate-limit counters of one test never leak into the next


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


def make_user(email: str, role: str = "learner", password: str = "mat-khau-123") -> int:
    from lms.cli import create_user

    return create_user(email, password, "Nguyễn Văn An", role).id


def login_as(client, user_id: int) -> None:
    """Log a test client in as a user (the session cookie Flask-Login reads)."""
    with client.session_transaction() as s:
        s["_user_id"] = str(user_id)
        s["_fresh"] = True


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on an HTML page."""
    match = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def make_token(email: str) -> str:
    from lms.models import ApiToken, User
    from lms.security import new_api_token

    user = db.session.scalar(db.select(User).where(User.email == email))
    token, digest = new_api_token()
    db.session.add(ApiToken(user_id=user.id, token_hash=digest))
    db.session.commit()
    return token


@pytest.fixture
def admin_token(app) -> str:
    with app.app_context():
        make_user("admin@example.vn", "admin")
        return make_token("admin@example.vn")


@pytest.fixture
def learner_token(app) -> str:
    with app.app_context():
        make_user("hocvien@example.vn")
        return make_token("hocvien@example.vn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.fail_commits = False
        self.paused = False
        self._inflight = 0
        self._lock = threading.Lock()
        self._server = None

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _wsgi(self, environ, start_response):
        # Lets a test cut the commit endpoint off and bring it back; paused between tests.
        down = self.paused or (
            self.fail_commits and environ.get("PATH_INFO", "").endswith("/commit")
        )
        if down:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down"]
        with self._lock:
            self._inflight += 1
        try:
            return list(self.app.wsgi_app(environ, start_response))
        finally:
            with self._lock:
                self._inflight -= 1

    def drain(self, timeout: float = 10.0) -> None:
        """Refuse new requests and wait for those in flight (late beacons of a closed page)."""
        self.paused = True
        deadline = time.time() + timeout
        while self._inflight and time.time() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()


_LIVE: dict[str, LiveServer] = {}


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.start()
    _LIVE["server"] = server
    yield server
    _LIVE.pop("server", None)
    server.stop()


@pytest.fixture(scope="session")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def worker_env(app) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config.get("REDIS_URL") or "",
        "CONTENT_ROOT": app.config["CONTENT_ROOT"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PYTHONPATH": str(ROOT),
    })
    # Outgoing mail: the worker sends where the test's app would (SMTP sink or .eml folder).
    for key in ("MAIL_SERVER", "MAIL_PORT", "MAIL_LOG_DIR", "MAIL_USERNAME", "MAIL_PASSWORD",
                "PUBLIC_URL"):
        value = app.config.get(key)
        env[key] = "" if value is None else str(value)
    for key in ("MAIL_USE_TLS", "MAIL_USE_SSL"):
        env[key] = "1" if app.config.get(key) else ""
    return env


def start_worker(app):
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "lms", "worker"],
        env=worker_env(app), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stop_worker(proc, grace: float = 20.0) -> None:
    """Warm shutdown (SIGTERM: RQ finishes the job in hand), then SIGKILL the group (the worker
    and any work-horse it forked). A job killed mid-statement would keep its database locks
    until the server notices, and the next test's TRUNCATE could deadlock on them."""
    import signal
    import subprocess

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


@contextmanager
def running_worker(app) -> Iterator[object | None]:
    """A real RQ worker process while inside, when Redis is configured (it reads the app's
    settings from its environment at start); None in the embedded default (jobs in-process)."""
    proc = start_worker(app) if app.config.get("REDIS_URL") else None
    try:
        yield proc
    finally:
        if proc is not None:
            stop_worker(proc)


@pytest.fixture
def worker(app):
    """A real RQ worker process when Redis is configured; None in the embedded default."""
    with running_worker(app) as proc:
        yield proc


@pytest.fixture
def live_server_fresh(live_server):
    live_server.fail_commits = False
    yield live_server
    live_server.fail_commits = False


# --- outgoing mail --------------------------------------------------------------------------


class SmtpSink:
    """aiosmtpd handler keeping every message it receives (a real SMTP conversation)."""

    def __init__(self):
        self.port = _free_port()
        self.envelopes: list = []
        self.logins: list[str] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        with self._lock:
            self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"mat-khau-smtp"
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    @property
    def messages(self):
        """Received messages, parsed (headers decoded: msg["Subject"] is the Vietnamese text)."""
        from email import message_from_bytes
        from email.policy import default

        with self._lock:
            raws = [e.original_content or e.content for e in self.envelopes]
        return [message_from_bytes(raw, policy=default) for raw in raws]

    def wait(self, count: int = 1, timeout: float = 20.0) -> list:
        """The messages once at least `count` arrived (a worker may deliver them later)."""
        deadline = time.time() + timeout
        while len(self.envelopes) < count and time.time() < deadline:
            time.sleep(0.05)
        assert len(self.envelopes) >= count, f"{len(self.envelopes)} of {count} messages arrived"
        return self.messages


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A real SMTP server on a free localhost port (aiosmtpd), collecting messages."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port,
                            authenticator=sink.authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def outbox(app, smtp_server, monkeypatch) -> Iterator[SmtpSink]:
    """The app's mail goes to `smtp_server`; with Redis configured a real worker sends it."""
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port,
                       "MAIL_USE_TLS": False, "MAIL_USE_SSL": False, "MAIL_USERNAME": None,
                       "MAIL_PASSWORD": None}.items():
        monkeypatch.setitem(app.config, key, value)
    with running_worker(app):  # started after the mail settings above
        yield smtp_server


@pytest.fixture
def mail_log(app, tmp_path, monkeypatch) -> Iterator[Path]:
    """No MAIL_SERVER (the development default): messages land as .eml files in this folder."""
    folder = tmp_path / "mail"
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    monkeypatch.setitem(app.config, "MAIL_LOG_DIR", str(folder))
    with running_worker(app):
        yield folder


# --- catalog modules built by lms.coursebuild -----------------------------------------------


@pytest.fixture(scope="session")
def built_module_zip(tmp_path_factory):
    """`built_module_zip(code)` → the module's SCORM zip, built once per session.

    Builds go through the builder's cache ($LMS_BUILD_CACHE, default ~/.cache/haiphong-lms/build),
    so a second test run with unchanged sources and builder copies the cached zips.
    """
    from lms.coursebuild.build import MODULES_DIR, build_module
    from lms.coursebuild.tools import missing_tools

    out = tmp_path_factory.mktemp("modules")
    built: dict[str, Path] = {}

    def build(code: str) -> Path:
        if code not in built:
            missing = missing_tools()
            if missing:
                pytest.fail(f"module build tools missing ({missing}): "
                            "run bash scripts/ensure-build-tools.sh (make test does)")
            built[code] = build_module(MODULES_DIR / f"{code}.yaml", out)
        return built[code]

    return build
