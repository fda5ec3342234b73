"""Health, readiness, metrics, proxy headers and X-Accel content delivery."""

from __future__ import annotations

import io

from lms import create_app
from lms.extensions import db

from .conftest import login_as, make_user, sample


def test_health_and_readiness(app, client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["checks"]["database"] == "ok"
    if app.config.get("REDIS_URL"):
        assert body["checks"]["redis"] == "ok"


def test_readiness_fails_when_database_is_unreachable(tmp_path):
    broken = create_app({
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "CONTENT_ROOT": str(tmp_path), "SECRET_KEY": "x", "REDIS_URL": None,
    })
    r = broken.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["checks"]["database"].startswith("error")


def test_metrics_count_requests_and_commits(app, client):
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'lms_request_seconds_count{endpoint="ops.healthz",method="GET",status="200"}' in text
    assert "lms_commits_total" in text


def test_x_accel_redirect_after_login_check(app, client, admin_token):
    with open(sample("RuntimeBasicCalls_SCORM12.zip"), "rb") as fh:
        pkg = client.post("/api/v1/packages", headers={"Authorization": f"Bearer {admin_token}"},
                          data={"file": (io.BytesIO(fh.read()), "p.zip")}).get_json()
    with app.app_context():
        uid = make_user("hv@example.vn")
    app.config["X_ACCEL_CONTENT"] = True
    try:
        url = f"/content/{pkg['sha256']}/shared/launch page.html"
        assert client.get(url).status_code == 302  # anonymous: login first, no file
        login_as(client, uid)
        r = client.get(url)
        assert r.status_code == 200 and r.data == b""
        assert "Content-Type" not in r.headers  # nginx picks the type of the real file
        assert r.headers["X-Accel-Redirect"] == (
            f"/_protected_content/{pkg['sha256']}/shared/launch%20page.html")
    finally:
        app.config["X_ACCEL_CONTENT"] = False
    with app.app_context():
        db.session.remove()


def test_proxy_headers_trusted_only_when_configured(tmp_path):
    for trusted, expected in ((0, "http://localhost/"), (1, "https://lms.haiphong.gov.vn/")):
        a = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p{trusted}.db",
                        "CONTENT_ROOT": str(tmp_path), "SECRET_KEY": "x",
                        "TRUSTED_PROXIES": trusted})

        @a.get("/_whoami")
        def whoami():
            from flask import request

            return request.host_url

        r = a.test_client().get("/_whoami", headers={
            "X-Forwarded-Proto": "https", "X-Forwarded-Host": "lms.haiphong.gov.vn"})
        assert r.get_data(as_text=True) == expected
