"""Helpers that build SCORM test packages in a tmp_path, and locate the shared sample zips."""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

Entry = tuple[str | zipfile.ZipInfo, bytes | str]


def samples_dir() -> Path:
    """The shared third-party sample packages; skipped locally when absent, fatal in CI."""
    path = Path(__file__).resolve().parents[2].parent / "shared" / "scorm-samples"
    if not path.is_dir():
        reason = f"SCORM sample packages not found at {path} (expected ../shared/scorm-samples)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; they are required in CI")
        pytest.skip(reason)
    return path


def sample(name: str) -> Path:
    path = samples_dir() / f"{name}.zip"
    if not path.is_file():
        pytest.fail(f"sample package {path} is missing from {path.parent}")
    return path


def write_zip(
    path: Path, entries: Iterable[Entry], compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def symlink_entry(name: str, target: str) -> Entry:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def zeros_entry_file(path: Path, name: str, size: int, extra: Iterable[Entry] = ()) -> Path:
    """A zip holding `size` bytes of zeros (streamed, so memory stays small) plus extra entries."""
    block = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry_name, data in extra:
            zf.writestr(entry_name, data)
        with zf.open(name, "w", force_zip64=True) as out:
            left = size
            while left > 0:
                out.write(block[: min(left, len(block))])
                left -= len(block)
    return path


ADLCP_12 = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
IMSCP_12 = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
IMSCP_2004 = "http://www.imsglobal.org/xsd/imscp_v1p1"
NS_2004 = (
    f'xmlns="{IMSCP_2004}" '
    'xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3" '
    'xmlns:adlseq="http://www.adlnet.org/xsd/adlseq_v1p3" '
    'xmlns:adlnav="http://www.adlnet.org/xsd/adlnav_v1p3" '
    'xmlns:imsss="http://www.imsglobal.org/xsd/imsss"'
)


def manifest12(items: str, resources: str, manifest_attrs: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="test.pkg" version="1" xmlns="{IMSCP_12}" xmlns:adlcp="{ADLCP_12}"
    {manifest_attrs}>
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org">
    <organization identifier="org">
      <title>Test course</title>
      {items}
    </organization>
  </organizations>
  <resources>
    {resources}
  </resources>
</manifest>
"""


def manifest2004(
    items: str,
    resources: str,
    *,
    edition: str | None = "2004 4th Edition",
    org_attrs: str = "",
    org_extra: str = "",
    after_resources: str = "",
) -> str:
    schemaversion = f"<schemaversion>{edition}</schemaversion>" if edition else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="test.pkg.2004" version="1" {NS_2004}>
  <metadata><schema>ADL SCORM</schema>{schemaversion}</metadata>
  <organizations default="org">
    <organization identifier="org" {org_attrs}>
      <title>Test course 2004</title>
      {items}
      {org_extra}
    </organization>
  </organizations>
  <resources>
    {resources}
  </resources>
  {after_resources}
</manifest>
"""


def sco12(identifier: str = "r1", href: str = "index.html", files: Iterable[str] = ()) -> str:
    file_xml = "".join(f'<file href="{f}"/>' for f in files or [href])
    return (
        f'<resource identifier="{identifier}" type="webcontent" adlcp:scormtype="sco" '
        f'href="{href}">{file_xml}</resource>'
    )


def item(identifier: str = "i1", ref: str = "r1", title: str = "Lesson", extra: str = "") -> str:
    return (
        f'<item identifier="{identifier}" identifierref="{ref}">'
        f"<title>{title}</title>{extra}</item>"
    )


def package(
    tmp_path: Path,
    manifest: str | bytes,
    files: Iterable[str] = ("index.html",),
    name: str = "pkg.zip",
) -> Path:
    entries: list[Entry] = [("imsmanifest.xml", manifest)]
    entries += [(f, f"<html><body>{f}</body></html>") for f in files]
    return write_zip(tmp_path / name, entries)
