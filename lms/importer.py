"""The one import pipeline for SCORM zips: admin uploads, the API, the CLI and the seed use it."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func

from .content_store import LocalStore, get_store
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

    store = get_store()
    sha = validated.sha256
    created = not store.exists(sha)
    tmp_parent = None
    if isinstance(store, LocalStore):
        # Straight into place: zipcheck extracts beside the destination and renames atomically.
        extract_zip(zip_path, store.path(sha))
    elif created:
        tmp_parent = Path(tempfile.mkdtemp(prefix="lms-import-"))
    manifest = validated.manifest
    try:
        if tmp_parent is not None:
            # Object store: extract locally, then publish (its completion marker goes last).
            extract_zip(zip_path, tmp_parent / sha)
            store.publish(sha, tmp_parent / sha)
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
            sha256=sha,
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
        if created:
            store.remove(sha)
        raise
    finally:
        if tmp_parent is not None:
            shutil.rmtree(tmp_parent, ignore_errors=True)
    return ImportResult(version, created=True)
