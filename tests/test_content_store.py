"""Content stores: the local folder and an S3-compatible bucket (moto's server, in-process)."""

from __future__ import annotations

import tempfile
import threading
import uuid
import zipfile
from pathlib import Path

import pytest

from lms import create_app
from lms.content_store import LocalStore, get_store
from lms.extensions import db

from .conftest import _free_port, login_as, make_user, sample

SAMPLE = "RuntimeBasicCalls_SCORM12.zip"
FILE = "shared/background.jpg"


@pytest.fixture(scope="module")
def moto_port():
    server_mod = pytest.importorskip("moto.server")
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield port
    server.stop()


@pytest.fixture
def s3_app(app, moto_port, monkeypatch, tmp_path):
    """A second app on the session database, with packages in a fresh bucket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"lms-{uuid.uuid4().hex[:12]}"
    application = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "CONTENT_ROOT": str(tmp_path / "content"),
        "SECRET_KEY": "x",
        "SERVER_NAME": None,
        "CONTENT_STORE": "s3",
        "S3_BUCKET": bucket,
        "S3_PREFIX": "pkgs/",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
    })
    get_store(application).client.create_bucket(Bucket=bucket)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()  # no idle connection left for the session app's truncate


def _keys(store) -> list[str]:
    out = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)
    return sorted(o["Key"] for o in out.get("Contents", []))


def _leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("lms-import-*")}


def _versions() -> int:
    from lms.models import PackageVersion

    return db.session.scalar(db.select(db.func.count()).select_from(PackageVersion))


def test_s3_import_and_serving(s3_app):
    from lms.importer import import_package

    zip_path = sample(SAMPLE)
    with zipfile.ZipFile(zip_path) as zf:
        names = {n for n in zf.namelist() if not n.endswith("/")}
        original = zf.read(FILE)
    before = _leftovers()
    store = get_store(s3_app)
    with s3_app.app_context():
        result = import_package(zip_path)
        sha = result.version.sha256
        assert result.created and store.exists(sha)
        assert import_package(zip_path).created is False  # re-import: a no-op
        uid = make_user("hv@example.vn")
    keys = _keys(store)
    assert f"pkgs/{sha}/.complete" in keys
    assert set(keys) == {f"pkgs/{sha}/{n}" for n in names} | {f"pkgs/{sha}/.complete"}
    assert list(Path(s3_app.config["CONTENT_ROOT"]).iterdir()) == []
    assert _leftovers() == before

    client = s3_app.test_client()
    url = f"/content/{sha}/{FILE}"
    assert client.get(url).status_code == 302  # login first
    login_as(client, uid)
    r = client.get(url)
    assert r.status_code == 200 and r.data == original and r.mimetype == "image/jpeg"
    assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    part = client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == original[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(original)}"
    etag = r.headers["ETag"]
    cached = client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.data == b""
    assert client.get(f"/content/{sha}/imsmanifest.xml").mimetype == "text/xml"
    assert client.get(f"/content/{sha}/nope.html").status_code == 404
    assert client.get(f"/content/{sha}/.complete").status_code == 404
    assert client.get(f"/content/{'0' * 64}/{FILE}").status_code == 404

    store.remove(sha)
    assert _keys(store) == [] and not store.exists(sha)


def test_s3_db_failure_after_publish_removes_upload(s3_app, monkeypatch):
    import lms.importer

    def boom(_manifest):
        raise RuntimeError("database away")

    monkeypatch.setattr(lms.importer, "build_sequencing_settings", boom)
    store = get_store(s3_app)
    before = _leftovers()
    with s3_app.app_context():
        with pytest.raises(RuntimeError, match="database away"):
            lms.importer.import_package(sample(SAMPLE))
        assert _versions() == 0
    assert _keys(store) == []
    assert _leftovers() == before


def test_s3_interrupted_publish_stays_invisible(s3_app, monkeypatch):
    from lms.importer import import_package

    store = get_store(s3_app)
    real_upload = store.client.upload_file
    calls = {"n": 0}
    lock = threading.Lock()

    def flaky(*args, **kwargs):
        with lock:
            calls["n"] += 1
            n = calls["n"]
        if n > 3:
            raise OSError("connection reset")
        return real_upload(*args, **kwargs)

    monkeypatch.setattr(store.client, "upload_file", flaky)
    seen: list[bool] = []
    real_remove = store.remove

    def remove(sha):  # what a reader would see the moment the import gives up
        seen.append(store.exists(sha))
        real_remove(sha)

    monkeypatch.setattr(store, "remove", remove)
    with s3_app.app_context():
        with pytest.raises(OSError, match="connection reset"):
            import_package(sample(SAMPLE))
        assert _versions() == 0
    assert seen == [False]
    assert _keys(store) == []


def test_local_store_exists_publish_remove(tmp_path):
    store = LocalStore(tmp_path / "content")
    (tmp_path / "content").mkdir()
    sha = "a" * 64
    assert not store.exists(sha)
    folder = tmp_path / "work" / sha
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<p>hi</p>")
    store.publish(sha, folder)
    assert store.exists(sha) and (store.path(sha) / "index.html").read_text() == "<p>hi</p>"
    again = tmp_path / "again"
    again.mkdir()
    (again / "index.html").write_text("<p>hi</p>")
    store.publish(sha, again)  # already there: content-addressed, the copy is dropped
    assert not again.exists()
    store.remove(sha)
    assert not store.exists(sha) and list((tmp_path / "content").iterdir()) == []
    store.remove(sha)  # removing twice is fine
