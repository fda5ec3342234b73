"""Where extracted package files live: a local folder (default) or an S3-compatible bucket.

Both stores key packages by the zip's SHA-256 and never change a published package, so the
same URL always means the same bytes. Readers must never see a half-written package:
LocalStore renames a complete folder into place, S3Store writes a `.complete` marker after
every file and treats a package without it as absent.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from flask import Flask, Response, abort, current_app, request, send_from_directory

CACHE_CONTROL = "private, max-age=31536000, immutable"
MARKER = ".complete"
STREAM_CHUNK = 64 * 1024
UPLOAD_THREADS = 8

for _ext, _mime in {
    ".vtt": "text/vtt", ".mp4": "video/mp4", ".webm": "video/webm", ".m4a": "audio/mp4",
    ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
    ".svg": "image/svg+xml", ".woff2": "font/woff2", ".woff": "font/woff", ".xml": "text/xml",
    ".xsd": "text/xml", ".swf": "application/x-shockwave-flash", ".wasm": "application/wasm",
}.items():
    mimetypes.add_type(_mime, _ext)


def _safe_path(path: str) -> bool:
    return not (path.startswith("/") or ".." in path.split("/") or "\\" in path)


class ContentStore(Protocol):
    def exists(self, sha: str) -> bool:
        """True once the package is completely published."""

    def publish(self, sha: str, folder: Path) -> None:
        """Make an extracted folder visible as package `sha`, all at once."""

    def remove(self, sha: str) -> None:
        """Delete package `sha` (the marker first, so it turns invisible before it shrinks)."""

    def serve(self, sha: str, path: str) -> Response:
        """The response for GET /content/<sha>/<path>, after the login check."""


class LocalStore:
    """Today's behaviour: one folder per package under CONTENT_ROOT."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, sha: str) -> Path:
        return self.root / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_dir()

    def publish(self, sha: str, folder: Path) -> None:
        # The importer extracts straight into place (zipcheck renames its temp folder into
        # CONTENT_ROOT/<sha>), so this is only for folders prepared elsewhere.
        dest = self.path(sha)
        if Path(folder) == dest:
            return
        try:
            os.rename(folder, dest)  # atomic; refuses to replace a non-empty folder
        except OSError:
            if not dest.is_dir():
                raise
            shutil.rmtree(folder, ignore_errors=True)  # already there: content-addressed

    def remove(self, sha: str) -> None:
        dest = self.path(sha)
        if not dest.exists():
            return
        old = dest.with_name(f".{sha}.{uuid.uuid4().hex}.old")
        os.rename(dest, old)  # gone for readers at once, deleted afterwards
        shutil.rmtree(old, ignore_errors=True)

    def serve(self, sha: str, path: str) -> Response:
        if current_app.config.get("X_ACCEL_CONTENT"):
            # nginx reads the shared volume and sends the file after the app checked the login.
            if not _safe_path(path):
                abort(404)
            # nginx keeps an upstream Content-Type on an internal redirect; without one it uses
            # its own types table and adds no charset that would override <meta charset>.
            response = current_app.response_class()
            del response.headers["Content-Type"]
            response.headers["X-Accel-Redirect"] = f"/_protected_content/{sha}/{quote(path)}"
            return response
        response = send_from_directory(self.path(sha), path, conditional=True, max_age=31536000)
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


class S3Store:
    """Objects `<prefix><sha>/<path>` in one bucket, plus `<prefix><sha>/.complete` last.

    Files are streamed through the app rather than redirected to presigned URLs: the SCO runs
    in a frame and calls window.parent.API, which only works while content is same-origin with
    the player; a bucket URL is another origin and would break every package.
    """

    def __init__(self, bucket: str, prefix: str, client: Any):
        self.bucket = bucket
        self.prefix = prefix
        self.client = client
        self._known: set[str] = set()  # complete packages seen by this process (immutable)
        self._lock = threading.Lock()

    def key(self, sha: str, path: str) -> str:
        return f"{self.prefix}{sha}/{path}"

    def exists(self, sha: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha, MARKER))
        except ClientError as exc:
            if _status(exc) == 404:
                return False
            raise
        return True

    def _visible(self, sha: str) -> bool:
        if sha in self._known:
            return True
        if not self.exists(sha):
            return False
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known.add(sha)
        return True

    def upload(self, file: Path, key: str) -> None:
        mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        self.client.upload_file(str(file), self.bucket, key, ExtraArgs={"ContentType": mime})

    def publish(self, sha: str, folder: Path) -> None:
        folder = Path(folder)
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
        jobs = [(f, self.key(sha, f.relative_to(folder).as_posix())) for f in files]
        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            for future in [pool.submit(self.upload, f, k) for f, k in jobs]:
                future.result()  # first failure raises; the marker is then never written
        self.client.put_object(Bucket=self.bucket, Key=self.key(sha, MARKER), Body=b"",
                               ContentType="text/plain")

    def remove(self, sha: str) -> None:
        with self._lock:
            self._known.discard(sha)
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha, MARKER))
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.key(sha, "")):
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket,
                                           Delete={"Objects": keys, "Quiet": True})

    def serve(self, sha: str, path: str) -> Response:
        from botocore.exceptions import ClientError

        if not _safe_path(path) or path == MARKER or not self._visible(sha):
            abort(404)
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key(sha, path)}
        ranges = request.range
        if ranges is not None and len(ranges.ranges) == 1 and ranges.units == "bytes":
            args["Range"] = request.headers["Range"]  # several ranges: answer the whole file
        if request.headers.get("If-None-Match"):
            args["IfNoneMatch"] = request.headers["If-None-Match"]
        try:
            obj = self.client.get_object(**args)
        except ClientError as exc:
            status = _status(exc)
            if status == 304:
                response = current_app.response_class(status=304)
                etag = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("etag")
                response.headers["ETag"] = etag or request.headers["If-None-Match"]
                response.headers["Cache-Control"] = CACHE_CONTROL
                return response
            if status == 416:
                abort(416)
            if status in (403, 404):
                abort(404)
            raise
        body = obj["Body"]
        partial = bool(obj.get("ContentRange"))
        response = current_app.response_class(
            body.iter_chunks(STREAM_CHUNK), status=206 if partial else 200,
            content_type=obj.get("ContentType") or "application/octet-stream",
            direct_passthrough=True,
        )
        response.call_on_close(body.close)
        response.headers["Content-Length"] = str(obj["ContentLength"])
        if partial:
            response.headers["Content-Range"] = obj["ContentRange"]
        if obj.get("ETag"):
            response.headers["ETag"] = obj["ETag"]
        if obj.get("LastModified"):
            response.last_modified = obj["LastModified"]
        response.headers["Accept-Ranges"] = "bytes"
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _status(exc: Exception) -> int | None:
    meta = getattr(exc, "response", {}).get("ResponseMetadata", {})
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    if code in ("404", "NoSuchKey", "NotFound"):
        return 404
    if code in ("304", "NotModified"):
        return 304
    if code == "InvalidRange":
        return 416
    return meta.get("HTTPStatusCode")


def make_s3_client(endpoint_url: str | None):
    """boto3 client with the standard credential chain (AWS_* env vars, profile, IAM role)."""
    import boto3
    from botocore.config import Config

    # S3-compatible stores (MinIO, Ceph) usually need path-style addressing.
    config = Config(s3={"addressing_style": "path"} if endpoint_url else {},
                    max_pool_connections=32, retries={"mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint_url or None, config=config)


def get_store(app: Flask | None = None) -> ContentStore:
    """The store configured by CONTENT_STORE (local | s3), made once per app."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.get("lms_content_store")
    if store is None:
        kind = (app.config.get("CONTENT_STORE") or "local").lower()
        if kind == "local":
            store = LocalStore(app.config["CONTENT_ROOT"])
        elif kind == "s3":
            if not app.config.get("S3_BUCKET"):
                raise RuntimeError("CONTENT_STORE=s3 needs S3_BUCKET")
            client = make_s3_client(app.config.get("S3_ENDPOINT_URL"))
            store = S3Store(app.config["S3_BUCKET"], app.config.get("S3_PREFIX") or "", client)
        else:
            raise RuntimeError(f"CONTENT_STORE must be 'local' or 's3', not {kind!r}")
        app.extensions["lms_content_store"] = store
    return store
