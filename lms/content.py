"""Serves extracted package files same-origin under /content/<sha256>/<path>.

Paths are content-addressed, so responses are cached for a year; werkzeug answers HTTP
range requests (video seeking) and conditional requests.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, abort, current_app, send_from_directory
from flask_login import login_required

from .scorm.manifest import is_external

bp = Blueprint("content", __name__)
_SHA = re.compile(r"^[0-9a-f]{64}$")

for ext, mime in {
    ".vtt": "text/vtt", ".mp4": "video/mp4", ".webm": "video/webm", ".m4a": "audio/mp4",
    ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
    ".svg": "image/svg+xml", ".woff2": "font/woff2", ".woff": "font/woff", ".xml": "text/xml",
    ".xsd": "text/xml", ".swf": "application/x-shockwave-flash", ".wasm": "application/wasm",
}.items():
    mimetypes.add_type(mime, ext)


def content_url(sha256: str, path: str) -> str:
    """Where the browser loads a package file; a launch that is already a URL stays as it is."""
    if is_external(path):
        return path
    base = current_app.config.get("CONTENT_BASE_URL") or ""
    return f"{base}/content/{sha256}/{path}"


@bp.get("/content/<sha>/<path:path>")
@login_required
def serve(sha: str, path: str):
    if not _SHA.match(sha):
        abort(404)
    if current_app.config.get("X_ACCEL_CONTENT"):
        if ".." in path.split("/") or path.startswith("/"):
            abort(404)
        # nginx keeps an upstream Content-Type on an internal redirect; without one it uses its
        # own types table and adds no charset that would override the package's <meta charset>.
        response = current_app.response_class()
        del response.headers["Content-Type"]
        response.headers["X-Accel-Redirect"] = f"/_protected_content/{sha}/{quote(path)}"
        return response
    root = Path(current_app.config["CONTENT_ROOT"]) / sha
    response = send_from_directory(root, path, conditional=True, max_age=31536000)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
