"""Everything checked about an uploaded package before anything is written to disk."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import PackageError, PackageInvalid
from .manifest import MANIFEST, Manifest, parse_manifest
from .zipcheck import CHUNK, DEFAULT_LIMITS, ZipLimits, open_zip, read_member, scan_zip


@dataclass
class ValidatedPackage:
    sha256: str  # of the zip file as uploaded
    manifest: Manifest
    files: list[str]  # normalised member paths, archive order
    size_bytes: int  # total uncompressed size of the files


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def validate_package(zip_path: Path, limits: ZipLimits = DEFAULT_LIMITS) -> ValidatedPackage:
    """Check the zip, the manifest and every file it references; raise PackageInvalid with all
    problems found, or return what the importer needs."""
    errors: list[PackageError] = []
    manifest: Manifest | None = None
    with open_zip(zip_path) as zf:
        scan = scan_zip(zf, limits)
        errors.extend(scan.errors)
        info = scan.members.get(MANIFEST)
        manifest_too_big = any(e.code == "too_large" and e.path == MANIFEST for e in scan.errors)
        if info is not None and not manifest_too_big:
            try:
                xml = read_member(zf, info, limits.max_manifest_bytes)
                manifest = parse_manifest(xml, set(scan.members))
            except PackageInvalid as exc:
                errors.extend(exc.errors)
    if errors or manifest is None:
        raise PackageInvalid(errors)
    return ValidatedPackage(
        sha256=file_sha256(zip_path),
        manifest=manifest,
        files=list(scan.members),
        size_bytes=sum(i.file_size for i in scan.members.values()),
    )
