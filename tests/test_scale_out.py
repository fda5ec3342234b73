"""Two app nodes behind a real nginx: a learner's session survives losing a node."""

from __future__ import annotations

import pytest
import requests

from bench.cluster import Cluster, nginx_binary

from .browser_helpers import content_frame, login, pending_commits, wait_until
from .conftest import make_token, make_user, sample

pytestmark = pytest.mark.browser


@pytest.fixture
def cluster(app, tmp_path):
    if nginx_binary() is None:
        import os

        if os.environ.get("CI"):
            pytest.fail("nginx is required in CI (scripts/ensure-test-tools.sh installs it)")
        pytest.skip("nginx is not installed")
    env = {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CONTENT_ROOT": app.config["CONTENT_ROOT"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "COMMIT_INTERVAL_SECONDS": "30",
    }
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
    c = Cluster(env=env, nodes=2, workers=1).start()
    yield c
    c.stop()


def test_session_survives_a_node_killed_mid_session(app, cluster, browser):
    with app.app_context():
        make_user("admin@example.vn", "admin")
        admin = {"Authorization": f"Bearer {make_token('admin@example.vn')}"}
        make_user("hv@example.vn")
    with open(sample("RuntimeBasicCalls_SCORM20043rdEdition.zip"), "rb") as fh:
        pkg = requests.post(f"{cluster.url}/api/v1/packages", headers=admin,
                            files={"file": fh}).json()
    reg = requests.post(f"{cluster.url}/api/v1/registrations", headers=admin,
                        json={"package_id": pkg["id"], "user_email": "hv@example.vn"}).json()
    assert reg["launch_url"].startswith(cluster.url)  # X-Forwarded-* trusted behind nginx

    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    answered_by: list[str] = []
    page.on("response", lambda r: "/commit" in r.url
            and answered_by.append(r.headers.get("x-lms-node", "?")))
    login(page, cluster.url, "hv@example.vn")
    page.goto(reg["launch_url"])
    frame = content_frame(page)
    step = """(i) => {
      const api = window.parent.API_1484_11;
      api.SetValue('cmi.location', 'page-' + i);
      api.SetValue('cmi.suspend_data', 'step=' + i);
      api.SetValue('cmi.progress_measure', String(i / 20));
      return api.Commit('');
    }"""
    for i in range(1, 7):
        assert frame.evaluate(step, i) == "true"
        wait_until(lambda: pending_commits(page) == 0, message=f"commit {i} delivered")
    assert {"node1", "node2"} <= set(answered_by), answered_by  # nginx alternates

    cluster.kill("node1")
    for i in range(7, 13):
        assert frame.evaluate(step, i) == "true"
        wait_until(lambda: pending_commits(page) == 0, message=f"commit {i} delivered")
    frame.evaluate("""() => {
      const api = window.parent.API_1484_11;
      api.SetValue('cmi.completion_status', 'completed');
      api.SetValue('cmi.exit', 'suspend');
      api.Terminate('');
    }""")
    wait_until(lambda: pending_commits(page) == 0, message="terminate delivered")
    assert answered_by[-1] == "node2"

    final = requests.get(f"{cluster.url}/api/v1/registrations/{reg['id']}", headers=admin).json()
    cmi = final["scos"][0]["cmi"]
    assert cmi["cmi.location"] == "page-12"
    assert cmi["cmi.suspend_data"] == "step=12"
    assert float(cmi["cmi.progress_measure"]) == pytest.approx(0.6)
    assert final["completion_status"] == "completed"
    context.close()
