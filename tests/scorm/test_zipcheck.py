from __future__ import annotations

import os
import stat
import struct
import time
import zipfile
from pathlib import Path

import pytest

from lms.scorm import zipcheck
from lms.scorm.errors import PackageInvalid
from lms.scorm.zipcheck import ZipLimits, extract_zip, inspect_zip, normalise_name

from .zipfactory import sample, symlink_entry, write_zip, zeros_entry_file

MANIFEST = ("imsmanifest.xml", "<manifest/>")


def codes(exc: pytest.ExceptionInfo[PackageInvalid]) -> list[str]:
    return [e.code for e in exc.value.errors]


def leftovers(parent: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name not in keep)


# --- inspection --------------------------------------------------------------------------


def test_inspect_returns_normalised_file_names(tmp_path: Path) -> None:
    zpath = write_zip(
        tmp_path / "ok.zip",
        [
            MANIFEST,
            ("./a/b.html", "b"),
            ("win\\", ""),
            ("win\\page.html", "p"),
            ("dir/", ""),
            ("x/../c.js", "c"),
        ],
    )
    assert inspect_zip(zpath) == ["imsmanifest.xml", "a/b.html", "win/page.html", "c.js"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a/./b//c.html", ("a/b/c.html", None)),
        ("../evil.html", ("../evil.html", "path_escape")),
        ("a/../../evil.html", ("a/../../evil.html", "path_escape")),
        ("/etc/passwd", ("/etc/passwd", "absolute_path")),
        ("C:/Windows/x.dll", ("C:/Windows/x.dll", "absolute_path")),
        ("\\\\server\\share\\x", ("//server/share/x", "absolute_path")),
        ("..\\evil.html", ("../evil.html", "path_escape")),
    ],
)
def test_normalise_name(raw: str, expected: tuple[str, str | None]) -> None:
    assert normalise_name(raw) == expected


def test_not_a_zip(tmp_path: Path) -> None:
    bogus = tmp_path / "course.zip"
    bogus.write_text("this is not a zip")
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(bogus)
    assert codes(exc) == ["not_a_zip"]


def test_path_escape_rejected(tmp_path: Path) -> None:
    zpath = write_zip(tmp_path / "p.zip", [MANIFEST, ("../evil.html", "x")])
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath)
    assert codes(exc) == ["path_escape"]
    assert exc.value.errors[0].path == "../evil.html"
    assert "../evil.html" in exc.value.errors[0].message


def test_absolute_paths_rejected(tmp_path: Path) -> None:
    zpath = write_zip(tmp_path / "p.zip", [MANIFEST, ("/etc/cron.d/x", "x"), ("D:\\boot.ini", "y")])
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath)
    assert codes(exc) == ["absolute_path", "absolute_path"]


def test_symlink_entry_rejected(tmp_path: Path) -> None:
    zpath = write_zip(tmp_path / "p.zip", [MANIFEST, symlink_entry("link.html", "/etc/passwd")])
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath)
    assert codes(exc) == ["symlink"]
    assert exc.value.errors[0].path == "link.html"


def test_every_problem_is_listed(tmp_path: Path) -> None:
    zpath = write_zip(
        tmp_path / "p.zip",
        [
            ("../up.html", "x"),
            ("/abs.html", "x"),
            symlink_entry("s", "/"),
            ("a.html", "1"),
            ("./a.html", "2"),
            ("dir", "file"),
            ("dir/inner.html", "x"),
        ],
    )
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath)
    assert sorted(codes(exc)) == sorted(
        [
            "path_escape",
            "absolute_path",
            "symlink",
            "duplicate_entry",
            "duplicate_entry",
            "manifest_missing",
        ]
    )


def test_zip_bomb_rejected_from_declared_sizes(tmp_path: Path) -> None:
    zpath = zeros_entry_file(tmp_path / "bomb.zip", "zeros.bin", 50 * 1024 * 1024, [MANIFEST])
    assert zpath.stat().st_size < 1024 * 1024
    started = time.monotonic()
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath, ZipLimits(max_total_bytes=10 * 1024 * 1024))
    assert time.monotonic() - started < 1
    assert sorted(codes(exc)) == ["compression_ratio", "too_large"]
    ratio_error = next(e for e in exc.value.errors if e.code == "compression_ratio")
    assert ratio_error.path == "zeros.bin"


def test_too_many_files(tmp_path: Path) -> None:
    entries = [MANIFEST] + [(f"f{i}.txt", "x") for i in range(30)]
    zpath = write_zip(tmp_path / "many.zip", entries)
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath, ZipLimits(max_files=10))
    assert codes(exc) == ["too_many_files"]
    assert "31" in exc.value.errors[0].message


def test_manifest_in_subfolder_is_explained(tmp_path: Path) -> None:
    zpath = write_zip(
        tmp_path / "nested.zip",
        [
            ("course/imsmanifest.xml", "<manifest/>"),
            ("course/index.html", "x"),
            ("__MACOSX/._imsmanifest.xml", "junk"),
        ],
    )
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath)
    (error,) = exc.value.errors
    assert error.code == "manifest_missing"
    assert "subfolder 'course/'" in error.message
    assert error.path == "course/imsmanifest.xml"


def test_manifest_with_wrong_case_is_explained(tmp_path: Path) -> None:
    zpath = write_zip(tmp_path / "case.zip", [("IMSManifest.xml", "<manifest/>")])
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath)
    assert codes(exc) == ["manifest_missing"]
    assert "'IMSManifest.xml'" in exc.value.errors[0].message


def test_xapi_package_is_recognised(tmp_path: Path) -> None:
    zpath = write_zip(tmp_path / "tincan.zip", [("tincan.xml", "<tincan/>")])
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath)
    assert codes(exc) == ["manifest_missing"]
    assert "xAPI" in exc.value.errors[0].message


def test_oversized_manifest(tmp_path: Path) -> None:
    zpath = write_zip(
        tmp_path / "big.zip", [("imsmanifest.xml", "<manifest>" + " " * 500 + "</manifest>")]
    )
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath, ZipLimits(max_manifest_bytes=100))
    assert codes(exc) == ["too_large"]
    assert exc.value.errors[0].path == "imsmanifest.xml"


def test_encrypted_entry_rejected(tmp_path: Path) -> None:
    zpath = write_zip(tmp_path / "enc.zip", [MANIFEST, ("secret.html", "x")])
    data = bytearray(zpath.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the last central entry is secret.html
    data[central + 8] |= 0x1  # "encrypted" general-purpose flag
    zpath.write_bytes(bytes(data))
    with pytest.raises(PackageInvalid) as exc:
        inspect_zip(zpath)
    assert codes(exc) == ["encrypted"]


# --- extraction --------------------------------------------------------------------------


def test_extract_writes_files_with_safe_modes(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("run.sh")
    info.external_attr = (stat.S_IFREG | 0o4777) << 16  # setuid + world-writable in the zip
    zpath = write_zip(tmp_path / "ok.zip", [MANIFEST, ("a/b/c.html", "deep"), (info, "#!/bin/sh")])
    dest = tmp_path / "content" / "abc"
    extract_zip(zpath, dest)
    assert (dest / "a" / "b" / "c.html").read_text() == "deep"
    assert stat.S_IMODE((dest / "run.sh").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "a" / "b" / "c.html").stat().st_mode) == 0o644
    for folder in (dest, dest / "a", dest / "a" / "b"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert leftovers(dest.parent, {"abc"}) == []


def test_second_extraction_of_same_content_is_a_no_op(tmp_path: Path) -> None:
    zpath = write_zip(tmp_path / "ok.zip", [MANIFEST, ("index.html", "hello")])
    dest = tmp_path / "content" / "pkg"
    extract_zip(zpath, dest)
    before = (dest.stat().st_ino, (dest / "index.html").stat().st_ino)
    extract_zip(zpath, dest)
    assert (dest.stat().st_ino, (dest / "index.html").stat().st_ino) == before
    assert leftovers(dest.parent, {"pkg"}) == []


def test_extraction_over_different_content_replaces_it(tmp_path: Path) -> None:
    dest = tmp_path / "content" / "pkg"
    extract_zip(write_zip(tmp_path / "v1.zip", [MANIFEST, ("old.html", "1")]), dest)
    extract_zip(write_zip(tmp_path / "v2.zip", [MANIFEST, ("new.html", "2")]), dest)
    assert sorted(p.name for p in dest.iterdir()) == ["imsmanifest.xml", "new.html"]
    assert leftovers(dest.parent, {"pkg"}) == []


def _corrupt_second_member(path: Path) -> None:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.infolist()[1]
    name_len, extra_len = struct.unpack(
        "<HH", data[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_len + extra_len
    data[start] ^= 0xFF  # stored data, so this only breaks the CRC
    path.write_bytes(bytes(data))


def test_failure_midway_leaves_nothing_behind(tmp_path: Path) -> None:
    zpath = write_zip(
        tmp_path / "broken.zip",
        [MANIFEST, ("b.html", "second member " * 100), ("c.html", "third")],
        compression=zipfile.ZIP_STORED,
    )
    _corrupt_second_member(zpath)
    parent = tmp_path / "content"
    with pytest.raises(PackageInvalid) as exc:
        extract_zip(zpath, parent / "pkg")
    assert codes(exc) == ["zip_corrupt"]
    assert exc.value.errors[0].path == "b.html"
    assert not (parent / "pkg").exists()
    assert leftovers(parent, set()) == []


def test_io_error_midway_is_cleaned_up_and_reraised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zpath = write_zip(tmp_path / "ok.zip", [MANIFEST, ("a.html", "a"), ("b.html", "b")])
    calls = {"n": 0}
    real_check = zipcheck._check_stream

    def failing_check(*args: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real_check(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(zipcheck, "_check_stream", failing_check)
    parent = tmp_path / "content"
    with pytest.raises(OSError, match="No space"):
        extract_zip(zpath, parent / "pkg")
    assert leftovers(parent, set()) == []


def test_lying_size_header_is_caught_while_streaming(tmp_path: Path) -> None:
    zpath = zeros_entry_file(tmp_path / "liar.zip", "zeros.bin", 3 * 1024 * 1024, [MANIFEST])
    data = bytearray(zpath.read_bytes())
    with zipfile.ZipFile(zpath) as zf:
        info = zf.getinfo("zeros.bin")
    # Claim 1000 bytes in both the local header and the central directory (zip64 extra too).
    data[info.header_offset + 22 : info.header_offset + 26] = struct.pack("<I", 1000)
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 1000)
    zpath.write_bytes(bytes(data))
    with zipfile.ZipFile(zpath) as zf:
        assert zf.getinfo("zeros.bin").file_size == 1000  # the header now lies
    parent = tmp_path / "content"
    with pytest.raises(PackageInvalid) as exc:
        extract_zip(zpath, parent / "pkg")
    assert codes(exc)[0] in {"zip_corrupt", "too_large"}
    assert not parent.exists() or leftovers(parent, set()) == []


def test_streaming_total_limit_is_enforced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zpath = write_zip(tmp_path / "ok.zip", [MANIFEST, ("a.bin", os.urandom(200_000))])
    # Pretend the declared-size scan found nothing so only the streaming check can stop it.
    real_scan = zipcheck.scan_zip
    monkeypatch.setattr(zipcheck, "scan_zip", lambda zf, limits: real_scan(zf, ZipLimits()))
    parent = tmp_path / "content"
    with pytest.raises(PackageInvalid) as exc:
        extract_zip(zpath, parent / "pkg", ZipLimits(max_total_bytes=100_000))
    assert codes(exc) == ["too_large"]
    assert leftovers(parent, set()) == []


def test_rejected_zip_creates_nothing(tmp_path: Path) -> None:
    zpath = write_zip(tmp_path / "bad.zip", [MANIFEST, ("../x.html", "x")])
    parent = tmp_path / "content"
    parent.mkdir()
    with pytest.raises(PackageInvalid):
        extract_zip(zpath, parent / "pkg")
    assert leftovers(parent, set()) == []


def test_extract_real_sample(tmp_path: Path) -> None:
    dest = tmp_path / "rt12"
    extract_zip(sample("RuntimeBasicCalls_SCORM12"), dest)
    assert (dest / "shared" / "launchpage.html").is_file()
    assert (dest / "imsmanifest.xml").is_file()
