"""Safe inspection and extraction of uploaded zip files.

Nothing in a zip header is trusted: names are normalised and checked before anything is
written, declared sizes are checked up front, and the real decompressed byte counts are
checked again while streaming during extraction.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import PackageError, PackageInvalid

MANIFEST = "imsmanifest.xml"
CHUNK = 64 * 1024
RATIO_MIN_BYTES = 1024 * 1024  # small entries may compress extremely well (e.g. blank files)
_SUPPORTED_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_DRIVE = re.compile(r"^[A-Za-z]:")
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError)


@dataclass(frozen=True)
class ZipLimits:
    max_files: int = 10_000
    max_total_bytes: int = 2 * 1024**3
    max_ratio: float = 200.0
    max_manifest_bytes: int = 5 * 1024**2


DEFAULT_LIMITS = ZipLimits()


@dataclass
class ZipScan:
    members: dict[str, zipfile.ZipInfo]  # normalised file name -> entry, files only, archive order
    errors: list[PackageError]


def human_size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def normalise_name(raw: str) -> tuple[str, str | None]:
    """Return the posix path a zip entry name denotes, plus a problem code if it is unsafe.

    Backslashes count as separators because Windows tools write them.
    """
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return name, "absolute_path"
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return name, "path_escape"
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts), None


def _entry_error(code: str, raw: str) -> PackageError:
    messages = {
        "absolute_path": f"Zip entry '{raw}' has an absolute path; every entry must be "
        "relative to the package root.",
        "path_escape": f"Zip entry '{raw}' uses '..' to point outside the package folder.",
        "symlink": f"Zip entry '{raw}' is a symbolic link; links are not allowed in packages.",
    }
    return PackageError(code, messages[code], raw)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def scan_zip(zf: zipfile.ZipFile, limits: ZipLimits) -> ZipScan:
    errors: list[PackageError] = []
    members: dict[str, zipfile.ZipInfo] = {}
    dirs: set[str] = set()
    total = 0
    for info in zf.infolist():
        name, problem = normalise_name(info.filename)
        if problem:
            errors.append(_entry_error(problem, info.filename))
            continue
        if _is_symlink(info):
            errors.append(_entry_error("symlink", info.filename))
            continue
        if not name:
            continue
        parents = name.split("/")[:-1]
        dirs.update("/".join(parents[: i + 1]) for i in range(len(parents)))
        if info.filename.endswith(("/", "\\")):
            dirs.add(name)
            continue
        if name in members:
            errors.append(
                PackageError("duplicate_entry", f"Zip entry '{name}' appears more than once.", name)
            )
            continue
        members[name] = info
        total += info.file_size
        if info.flag_bits & 0x1:
            errors.append(
                PackageError(
                    "encrypted",
                    f"Zip entry '{name}' is password-protected; upload an unencrypted zip.",
                    name,
                )
            )
        elif info.compress_type not in _SUPPORTED_METHODS:
            errors.append(
                PackageError(
                    "unsupported_compression",
                    f"Zip entry '{name}' uses compression method {info.compress_type}, which "
                    "cannot be read; re-create the zip with standard (Deflate) compression.",
                    name,
                )
            )
        if info.file_size > RATIO_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                errors.append(_ratio_error(name, ratio, limits))
    for name in sorted(dirs & members.keys()):
        errors.append(
            PackageError(
                "duplicate_entry", f"'{name}' is both a file and a folder in the zip.", name
            )
        )
    if len(members) > limits.max_files:
        errors.append(
            PackageError(
                "too_many_files",
                f"The package contains {len(members)} files; the limit is {limits.max_files}.",
            )
        )
    if total > limits.max_total_bytes:
        errors.append(_total_error(total, limits))
    errors.extend(_manifest_problems(members, limits))
    return ZipScan(members, errors)


def _ratio_error(name: str, ratio: float, limits: ZipLimits) -> PackageError:
    return PackageError(
        "compression_ratio",
        f"Zip entry '{name}' expands to {ratio:.0f} times its compressed size (the limit is "
        f"{limits.max_ratio:.0f}); this looks like a zip bomb.",
        name,
    )


def _total_error(total: int, limits: ZipLimits) -> PackageError:
    return PackageError(
        "too_large",
        f"The package unpacks to more than {human_size(total)}; the limit is "
        f"{human_size(limits.max_total_bytes)}.",
    )


def _manifest_problems(
    members: dict[str, zipfile.ZipInfo], limits: ZipLimits
) -> list[PackageError]:
    info = members.get(MANIFEST)
    if info is not None:
        if info.file_size > limits.max_manifest_bytes:
            return [
                PackageError(
                    "too_large",
                    f"imsmanifest.xml is {human_size(info.file_size)}; the limit is "
                    f"{human_size(limits.max_manifest_bytes)}.",
                    MANIFEST,
                )
            ]
        return []
    found = sorted(
        (n for n in members if n.rsplit("/", 1)[-1].lower() == MANIFEST and "__MACOSX" not in n),
        key=lambda n: (n.count("/"), n),
    )
    if found and "/" not in found[0]:
        message = (
            f"The manifest must be named exactly 'imsmanifest.xml' (lower case), but the "
            f"package has '{found[0]}'."
        )
    elif found:
        folder = found[0].rsplit("/", 1)[0]
        message = (
            f"imsmanifest.xml is not at the top level of the zip; it was found in the subfolder "
            f"'{folder}/'. Zip the contents of that folder rather than the folder itself."
        )
    else:
        message = "imsmanifest.xml is missing from the top level of the zip, so it is not a "
        message += "SCORM package."
        if {"cmi5.xml", "tincan.xml"} & members.keys():
            message += (
                " It looks like a cmi5/xAPI (Tin Can) package; export the course as "
                "SCORM 1.2 or SCORM 2004 instead."
            )
    return [PackageError("manifest_missing", message, found[0] if found else MANIFEST)]


@contextmanager
def open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise PackageInvalid(
            [PackageError("not_a_zip", f"The uploaded file is not a readable zip archive ({exc}).")]
        ) from exc
    with zf:
        yield zf


def inspect_zip(path: Path, limits: ZipLimits = DEFAULT_LIMITS) -> list[str]:
    with open_zip(path) as zf:
        scan = scan_zip(zf, limits)
    if scan.errors:
        raise PackageInvalid(scan.errors)
    return list(scan.members)


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """Read one entry, refusing to decompress more than max_bytes whatever the header says."""
    name = normalise_name(info.filename)[0]
    try:
        with zf.open(info) as src:
            data = src.read(max_bytes + 1)
    except _CORRUPT as exc:
        raise PackageInvalid([_corrupt_error(name, exc)]) from exc
    if len(data) > max_bytes:
        raise PackageInvalid(
            [
                PackageError(
                    "too_large",
                    f"'{name}' is larger than the {human_size(max_bytes)} limit.",
                    name,
                )
            ]
        )
    return data


def _corrupt_error(name: str, exc: BaseException) -> PackageError:
    return PackageError(
        "zip_corrupt", f"Zip entry '{name}' is damaged and cannot be unpacked ({exc}).", name
    )


class _Rejected(Exception):
    def __init__(self, error: PackageError):
        self.error = error


def extract_zip(path: Path, dest: Path, limits: ZipLimits = DEFAULT_LIMITS) -> None:
    dest = Path(dest)
    with open_zip(path) as zf:
        scan = scan_zip(zf, limits)
        if scan.errors:
            raise PackageInvalid(scan.errors)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
        try:
            digest = _extract_all(zf, scan.members, tmp, limits)
            os.chmod(tmp, 0o755)
            _publish(tmp, dest, digest)
        except _Rejected as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise PackageInvalid([exc.error]) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _extract_all(
    zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], root: Path, limits: ZipLimits
) -> str:
    """Write every member under root and return a digest of the resulting tree."""
    tree = hashlib.sha256()
    made: set[Path] = {root}
    total = 0
    for name in sorted(members):
        info = members[name]
        target = root.joinpath(*name.split("/"))
        _make_dirs(target.parent, made)
        file_hash = hashlib.sha256()
        written = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o644)
            try:
                with zf.open(info) as src:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        total += len(chunk)
                        _check_stream(name, info, written, total, limits)
                        file_hash.update(chunk)
                        out.write(chunk)
            except _CORRUPT as exc:
                raise _Rejected(_corrupt_error(name, exc)) from exc
        tree.update(name.encode() + b"\0" + file_hash.digest())
    return tree.hexdigest()


def _check_stream(
    name: str, info: zipfile.ZipInfo, written: int, total: int, limits: ZipLimits
) -> None:
    if written > info.file_size:
        raise _Rejected(
            PackageError(
                "too_large",
                f"Zip entry '{name}' unpacks to more than the {info.file_size} bytes its header "
                "declares.",
                name,
            )
        )
    if total > limits.max_total_bytes:
        raise _Rejected(_total_error(total, limits))
    if written > RATIO_MIN_BYTES and written / max(info.compress_size, 1) > limits.max_ratio:
        raise _Rejected(_ratio_error(name, written / max(info.compress_size, 1), limits))


def _make_dirs(path: Path, made: set[Path]) -> None:
    missing: list[Path] = []
    while path not in made:
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o755)
        os.chmod(directory, 0o755)
        made.add(directory)


def tree_digest(root: Path) -> str | None:
    """Digest of the regular files under root, comparable with what extraction produced."""
    files: list[tuple[str, Path]] = []
    for folder, _dirs, names in os.walk(root):
        for fname in names:
            full = Path(folder, fname)
            if full.is_symlink() or not full.is_file():
                return None
            files.append((full.relative_to(root).as_posix(), full))
    tree = hashlib.sha256()
    for name, full in sorted(files):
        file_hash = hashlib.sha256()
        with full.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                file_hash.update(chunk)
        tree.update(name.encode() + b"\0" + file_hash.digest())
    return tree.hexdigest()


def _publish(tmp: Path, dest: Path, digest: str) -> None:
    try:
        os.rename(tmp, dest)  # atomic; refuses to replace a non-empty directory
        return
    except OSError:
        if not dest.is_dir():
            raise
    if tree_digest(dest) == digest:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    # Different content already sits at dest: swap it out, then delete the old copy.
    old = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.old")
    os.rename(dest, old)
    os.rename(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)
