"""Static URLs carry a hash of the file (`?v=…`), so nginx may cache them for days and an
upgrade still reaches every browser at once."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask


@lru_cache(maxsize=256)
def _file_hash(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def register_static_versions(app: Flask) -> None:
    folder = Path(app.static_folder or "")

    @app.url_defaults
    def _static_version(endpoint: str, values: dict) -> None:
        if endpoint != "static" or "filename" not in values or "v" in values:
            return
        path = folder / values["filename"]
        try:
            values["v"] = _file_hash(str(path), path.stat().st_mtime_ns)
        except OSError:
            return
