"""The one import pipeline for SCORM zips: admin uploads, the API, the CLI and the seed use it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import func

from .extensions import db
from .models import Package, PackageVersion
from .scorm.errors import PackageError, PackageInvalid
from .scorm.package import validate_package
from .scorm.sequencing import build_sequencing_settings
from .scorm.zipcheck import extract_zip


@dataclass
class ImportResult:
    version: PackageVersion
    created: bool


def content_dir(sha256: str) -> Path:
    return Path(current_app.config["CONTENT_ROOT"]) / sha256


def import_package(zip_path: Path, package_id: int | None = None) -> ImportResult:
    """Validate, extract and record a package; raise PackageInvalid and leave nothing behind.

    With package_id the zip becomes a new version of that package; existing attempts stay
    on the version they started with.
    """
    validated = validate_package(zip_path)
    query = db.select(PackageVersion).where(PackageVersion.sha256 == validated.sha256)
    if package_id is not None:
        query = query.where(PackageVersion.package_id == package_id)
    existing = db.session.scalars(query.order_by(PackageVersion.id)).first()
    if existing is not None:
        return ImportResult(existing, created=False)

    package = None
    if package_id is not None:
        package = db.session.get(Package, package_id)
        if package is None:
            raise PackageInvalid(
                [PackageError("package_not_found", f"Package {package_id} does not exist.")]
            )

    dest = content_dir(validated.sha256)
    created_dir = not dest.exists()
    extract_zip(zip_path, dest)
    manifest = validated.manifest
    try:
        if package is None:
            package = Package(title=manifest.title)
            db.session.add(package)
            db.session.flush()
        number = (
            db.session.scalar(
                db.select(func.max(PackageVersion.number)).where(
                    PackageVersion.package_id == package.id
                )
            )
            or 0
        ) + 1
        version = PackageVersion(
            package_id=package.id,
            number=number,
            sha256=validated.sha256,
            scorm_version=manifest.version,
            edition=manifest.edition,
            title=manifest.title,
            manifest=manifest.to_json(),
            sequencing=build_sequencing_settings(manifest),
            size_bytes=validated.size_bytes,
            file_count=len(validated.files),
        )
        db.session.add(version)
        db.session.flush()
        package.current_version_id = version.id
        package.title = manifest.title
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if created_dir:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    return ImportResult(version, created=True)
