"""Pages: login, the admin upload page (in Chromium), content serving, jobs."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from lms import jobs
from lms.extensions import db
from lms.models import Package

from .browser_helpers import login
from .conftest import login_as, make_user, sample


def test_login_form_has_csrf_and_rejects_bad_password(app, client):
    with app.app_context():
        make_user("hv@example.vn")
    page = client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    # Without the CSRF token the form is refused.
    r = client.post("/login", data={"email": "hv@example.vn", "password": "mat-khau-123"})
    assert r.status_code == 400
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    r = client.post("/login", data={"email": "hv@example.vn", "password": "sai",
                                    "csrf_token": token})
    assert "Email/số điện thoại hoặc mật khẩu không đúng." in r.get_data(as_text=True)
    r = client.post("/login", data={"email": "hv@example.vn", "password": "mat-khau-123",
                                    "csrf_token": token})
    assert r.status_code == 302
    assert client.get("/").status_code == 200


def test_pages_need_login(client):
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/admin/packages").status_code == 302


@pytest.mark.browser
def test_admin_upload_page_shows_errors_then_imports(app, live_server_fresh, browser, worker):
    live = live_server_fresh
    with app.app_context():
        make_user("qt@example.vn", "admin")
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    login(page, live.url, "qt@example.vn")
    page.goto(f"{live.url}/admin/packages")
    page.set_input_files("#file", str(sample("InvalidFileReferences_SCORM12.zip")))
    page.click("#upload-form button[type=submit]")
    errors = page.locator("[data-import-errors]")
    errors.wait_for(timeout=90_000)  # with Redis: a worker process starts and takes the job
    text = errors.inner_text()
    assert "Gói bị từ chối" in text
    assert "imsmanifest.xml khai báo một tệp không có trong gói." in text
    assert page.locator('[data-error-code="file_missing"]').count() >= 1
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Package)) == 0

    page.goto(f"{live.url}/admin/packages")
    page.set_input_files("#file", str(sample("RuntimeBasicCalls_SCORM12.zip")))
    page.click("#upload-form button[type=submit]")
    page.locator(".flash-success").wait_for(timeout=90_000)
    assert "Đã nhập gói" in page.locator(".flash-success").inner_text()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Package)) == 1
    # A learner cannot reach the admin page.
    with app.app_context():
        make_user("hv2@example.vn")
    other = browser.new_context().new_page()
    login(other, live.url, "hv2@example.vn")
    assert other.goto(f"{live.url}/admin/packages").status == 403
    context.close()


def test_content_served_with_ranges_and_cache(app, client, admin_token):
    with open(sample("RuntimeBasicCalls_SCORM12.zip"), "rb") as fh:
        pkg = client.post("/api/v1/packages", headers={"Authorization": f"Bearer {admin_token}"},
                          data={"file": (io.BytesIO(fh.read()), "p.zip")}).get_json()
    base = f"/content/{pkg['sha256']}"
    assert client.get(f"{base}/imsmanifest.xml").status_code == 302  # login first
    with app.app_context():
        uid = make_user("hv@example.vn")
    login_as(client, uid)
    r = client.get(f"{base}/shared/background.jpg")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert "immutable" in r.headers["Cache-Control"]
    size = len(r.data)
    part = client.get(f"{base}/shared/background.jpg", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == r.data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{size}"
    assert client.get(f"{base}/../../etc/passwd").status_code == 404
    assert client.get("/content/not-a-hash/x.html").status_code == 404
    assert client.get(f"{base}/Playing/Playing.html").mimetype == "text/html"


def _square(n: int) -> int:
    return n * n


def test_jobs_use_redis_when_configured(app):
    with app.app_context():
        if not app.config.get("REDIS_URL"):
            job = jobs.enqueue(_square, 7)  # embedded default: ran in-process already
            assert (job.status, job.result) == ("finished", 49)
            failed = jobs.enqueue(_square, "x")
            assert failed.status == "failed" and "TypeError" in failed.error
            return
        from rq import SimpleWorker

        assert jobs.ping()
        job = jobs.enqueue(_square, 7, queue_name="test")
        q = jobs.queue("test")
        SimpleWorker([q], connection=q.connection).work(burst=True)
        job.refresh()
        assert job.get_status() == "finished" and job.return_value() == 49


def test_suite_runs_on_the_configured_services(app):
    """In CI (LMS_REQUIRE_SERVICES) the suite must run on PostgreSQL and Redis, never silently on
    the embedded defaults; elsewhere it runs on whatever DATABASE_URL names (SQLite if unset)."""
    url = os.environ.get("DATABASE_URL", "sqlite")
    with app.app_context():
        assert db.engine.dialect.name == ("postgresql" if url.startswith("postgres") else "sqlite")
        if os.environ.get("LMS_REQUIRE_SERVICES"):
            assert db.engine.dialect.name == "postgresql"
            assert app.config["REDIS_URL"] and jobs.ping()


def test_error_pages_are_vietnamese_and_api_errors_json(app, client, admin_token):
    r = client.get("/khong-co-trang-nay")
    assert r.status_code == 404 and "Không tìm thấy" in r.get_data(as_text=True)
    r = client.get("/api/v1/packages/999999", headers={"Authorization": f"Bearer {admin_token}"})
    assert r.status_code == 404 and r.get_json()["error"]
    app.config["MAX_CONTENT_LENGTH"], saved = 1000, app.config["MAX_CONTENT_LENGTH"]
    try:
        r = client.post("/api/v1/packages", headers={"Authorization": f"Bearer {admin_token}"},
                        data={"file": (io.BytesIO(b"x" * 5000), "big.zip")})
        assert r.status_code == 413 and r.get_json()["error"] == "Tệp quá lớn"
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved


def test_static_urls_carry_a_content_hash(app, client):
    import hashlib
    import re

    page = client.get("/login").get_data(as_text=True)
    m = re.search(r'/static/site\.css\?v=([0-9a-f]{12})', page)
    assert m, "static URL without version"
    css = (Path(app.static_folder) / "site.css").read_bytes()
    assert m.group(1) == hashlib.sha256(css).hexdigest()[:12]
