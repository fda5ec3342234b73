"""Serves extracted package files same-origin under /content/<sha256>/<path>.

Paths are content-addressed, so responses are cached for a year; range requests (video
seeking) and conditional requests are answered. The files come from the configured content
store (lms/content_store.py).
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app
from flask_login import login_required

from .content_store import get_store
from .scorm.manifest import is_external

bp = Blueprint("content", __name__)
_SHA = re.compile(r"^[0-9a-f]{64}$")


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
    # Local folder: send_from_directory or X-Accel-Redirect to nginx; S3: streamed by the app
    # (same origin, see S3Store). Both honour Range and If-None-Match and cache for a year.
    return get_store().serve(sha, path)
