"""Imports on a real RQ worker: a worker killed mid-import never leaves a half-imported package."""

from __future__ import annotations

import os
import signal
import time
import zipfile
from pathlib import Path

import pytest

from lms import jobs
from lms.extensions import db
from lms.models import Package, PackageVersion

from .conftest import login_as, start_worker

MANIFEST = """<?xml version="1.0"?>
<manifest identifier="big" version="1" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <organizations default="o"><organization identifier="o"><title>Gói lớn</title>
    <item identifier="i" identifierref="r"><title>Bài</title></item></organization>
  </organizations>
  <resources><resource identifier="r" type="webcontent" adlcp:scormtype="sco"
    href="index.html"><file href="index.html"/></resource></resources>
</manifest>"""


def _big_package(path: Path, files: int = 120, size: int = 1024 * 1024) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("imsmanifest.xml", MANIFEST)
        zf.writestr("index.html", "<html></html>")
        for n in range(files):  # incompressible media, like real video lessons
            zf.writestr(f"media/clip{n:03d}.bin", os.urandom(size))
    return path


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(db.select(db.func.count()).select_from(Package)),
                db.session.scalar(db.select(db.func.count()).select_from(PackageVersion)))


def test_worker_killed_mid_import(app, tmp_path):
    if not app.config.get("REDIS_URL"):
        pytest.skip("the embedded default has no worker: imports run in the request")
    content = Path(app.config["CONTENT_ROOT"])
    upload = content / "_uploads"
    upload.mkdir(parents=True, exist_ok=True)
    zpath = _big_package(upload / "big.zip")
    packages_before = {p.name for p in content.iterdir() if len(p.name) == 64}
    with app.app_context():
        job = jobs.enqueue(jobs.import_upload, str(zpath), queue_name="imports", retries=1)
    proc = start_worker(app)
    try:
        # Kill the worker while the package is being extracted (a temp folder exists).
        deadline = time.time() + 60
        while time.time() < deadline and not list(content.glob(".*.tmp")):
            time.sleep(0.02)
        assert list(content.glob(".*.tmp")), "the import never started extracting"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # Mid-import: nothing is visible.
    assert _counts(app) == (0, 0)
    assert {p.name for p in content.iterdir() if len(p.name) == 64} == packages_before

    # A new worker cleans up what the dead one left and the job is retried to completion
    # (or, with no retries left, marked failed with a reason) — never half-done.
    with app.app_context():
        from rq.registry import StartedJobRegistry

        q = jobs.queue("imports")
        registry = StartedJobRegistry(queue=q)
        # The dead worker's heartbeat would expire on its own; expire it now.
        members = q.connection.zrange(registry.key, 0, -1)
        assert members, "the killed job should still be registered as started"
        q.connection.zadd(registry.key, {m: 1 for m in members})
        registry.cleanup()
        job.refresh()
        status = job.get_status()
        assert str(getattr(status, "value", status)) in {"queued", "failed", "scheduled"}
    os.utime(content, None)
    for stale in content.glob(".*.tmp"):
        os.utime(stale, (time.time() - 7200, time.time() - 7200))
    proc = start_worker(app)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            job.refresh()
            value = str(getattr(job.get_status(), "value", job.get_status()))
            if value in {"finished", "failed"}:
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert not list(content.glob(".*.tmp")), "stale extraction folder left behind"
    print(f"killed import ended as: {value}")
    if value == "finished":
        assert job.return_value()["ok"] is True
        assert _counts(app) == (1, 1)
    else:
        assert _counts(app) == (0, 0)
        assert job.latest_result().exc_string


def _explode() -> None:
    raise RuntimeError("hỏng ổ đĩa (giả lập)")


def test_admin_sees_and_requeues_failed_jobs(app, client):
    from .conftest import make_user

    with app.app_context():
        admin = make_user("qt@example.vn", "admin")
        learner = make_user("hv@example.vn")
    login_as(client, learner)
    assert client.get("/admin/jobs").status_code == 403
    login_as(client, admin)
    if not app.config.get("REDIS_URL"):
        assert "không có Redis" in client.get("/admin/jobs").get_data(as_text=True)
        return
    from rq import SimpleWorker

    with app.app_context():
        job = jobs.enqueue(_explode, queue_name="exports", retries=0)
        q = jobs.queue("exports")
        SimpleWorker([q], connection=q.connection).work(burst=True)
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert f'data-failed-job="{job.id}"' in page and "hỏng ổ đĩa" in page
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    r = client.post("/admin/jobs", data={"job_id": job.id, "csrf_token": token})
    assert r.status_code == 302
    job.refresh()
    assert str(getattr(job.get_status(), "value", job.get_status())) == "queued"
    with app.app_context():
        q.empty()
