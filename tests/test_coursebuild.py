"""The module builder (lms.coursebuild): real builds with ffmpeg and espeak-ng, byte-identical
zips, packages our own importer accepts, the video and captions, the cache and the errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from lms.coursebuild import build, media, source
from lms.coursebuild.build import MODULES_DIR, build_all, build_module, cache_key, write_zip
from lms.coursebuild.source import SourceError
from lms.importer import import_package
from lms.models import PackageVersion
from lms.scorm.package import validate_package

from .conftest import ROOT

CITIZEN = "nd-1-2"  # SCORM 2004 4th edition
CIVIL_SERVANT = "l1-1"  # SCORM 1.2
VIETNAMESE = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, built_module_zip) -> dict[str, Path]:
    """nd-1-2 built from scratch with an empty cache of its own (the shared build is another)."""
    built_module_zip(CITIZEN)  # fails here, with the install hint, when the tools are missing
    root = tmp_path_factory.mktemp("fresh")
    cache = root / "cache"
    started = time.monotonic()
    path = build_module(MODULES_DIR / f"{CITIZEN}.yaml", root / "out", cache)
    return {"zip": path, "cache": cache, "seconds": time.monotonic() - started}


def lesson_data(zip_path: Path) -> dict:
    html = zipfile.ZipFile(zip_path).read("index.html").decode("utf-8")
    m = re.search(r'<script type="application/json" id="lesson-data">(.*?)</script>', html, re.S)
    assert m, "no #lesson-data in index.html"
    return json.loads(m.group(1))


def test_two_builds_are_byte_identical(fresh, built_module_zip):
    shared = built_module_zip(CITIZEN)
    assert fresh["zip"].read_bytes() == shared.read_bytes()
    with zipfile.ZipFile(fresh["zip"]) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {"imsmanifest.xml", "index.html", "lesson.css", "lesson.js", "scorm.js",
            "lesson.mp4", "captions.vi.vtt", "poster.png"} == set(names)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.extra == b""
        expected = zipfile.ZIP_STORED if info.filename.endswith((".mp4", ".png")) \
            else zipfile.ZIP_DEFLATED
        assert info.compress_type == expected


def test_write_zip_ignores_input_order(tmp_path):
    files = {"b.txt": b"hai", "a.txt": b"mot", "c.mp4": b"\0" * 10}
    write_zip(files, tmp_path / "1.zip")
    write_zip(dict(reversed(list(files.items()))), tmp_path / "2.zip")
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()


@pytest.mark.parametrize(("code", "version", "schemaversion"), [
    (CITIZEN, "2004", "2004 4th Edition"),
    (CIVIL_SERVANT, "1.2", "1.2"),
])
def test_package_passes_our_import(app, ctx, built_module_zip, code, version, schemaversion):
    path = built_module_zip(code)
    manifest = etree.fromstring(zipfile.ZipFile(path).read("imsmanifest.xml"))
    found = manifest.xpath("//*[local-name()='schemaversion']/text()")
    assert found == [schemaversion]
    validated = validate_package(path)
    assert validated.manifest.version == version
    result = import_package(path)
    assert result.created
    pv = result.version
    assert isinstance(pv, PackageVersion)
    assert (pv.scorm_version, pv.edition) == (version, schemaversion)
    assert pv.title == source.parse(MODULES_DIR / f"{code}.yaml").title
    item = validated.manifest.organization.items[0]
    assert item.launch == "index.html"
    if version == "1.2":
        assert item.mastery_score == 80
    else:
        assert item.scaled_passing_score == 0.8


def _ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "stream=codec_name,codec_type,width,height,duration:format=duration", "-of", "json",
         str(path)], check=True, capture_output=True).stdout
    return json.loads(out)


def test_video_and_captions(fresh, tmp_path):
    with zipfile.ZipFile(fresh["zip"]) as zf:
        zf.extract("lesson.mp4", tmp_path)
        vtt = zf.read("captions.vi.vtt").decode("utf-8")
    data = lesson_data(fresh["zip"])
    probe = _ffprobe(tmp_path / "lesson.mp4")
    streams = {s["codec_type"]: s for s in probe["streams"]}
    assert streams["video"]["codec_name"] == "h264"
    assert (streams["video"]["width"], streams["video"]["height"]) == (960, 540)
    assert streams["audio"]["codec_name"] == "aac"
    duration = float(probe["format"]["duration"])
    assert duration == pytest.approx(data["duration"], abs=0.2)
    assert source.MIN_VIDEO_S <= duration <= source.MAX_VIDEO_S

    assert vtt.startswith("WEBVTT\n\n")
    blocks = vtt.strip().split("\n\n")[1:]
    assert len(blocks) > 30
    previous_end = 0.0
    stamp = r"(\d\d):(\d\d):(\d\d)\.(\d\d\d)"
    for n, block in enumerate(blocks, 1):
        number, timing, *text = block.split("\n")
        assert number == str(n)
        m = re.fullmatch(f"{stamp} --> {stamp}", timing)
        assert m, timing
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        assert previous_end - 0.001 <= start < end <= duration + 0.001
        assert text and all(line.strip() for line in text)
        previous_end = end
    assert blocks[0].split("\n")[2] == "Xin chào bạn."
    assert len(VIETNAMESE.findall(vtt)) > 500


def test_lesson_page(fresh):
    with zipfile.ZipFile(fresh["zip"]) as zf:
        html = zf.read("index.html").decode("utf-8")
    module = source.parse(MODULES_DIR / f"{CITIZEN}.yaml")
    assert '<html lang="vi">' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert re.search(r'<track kind="captions" src="captions.vi.vtt" srclang="vi" '
                     r'label="Tiếng Việt" default>', html)
    assert f"<h1 id=\"lesson-title\">{module.title}</h1>" in html
    data = lesson_data(fresh["zip"])
    assert data["scorm"] == "2004" and data["code"] == CITIZEN
    assert data["passing"] == module.passing_score
    assert [c["prompt"] for c in data["checks"]] == [c.question.prompt for c in module.checks]
    assert [q["answer"] for q in data["quiz"]] == [q.answer for q in module.quiz]
    assert len(data["slides"]) == len(module.slides)
    assert all(a < b for a, b in zip([c["time"] for c in data["checks"]],
                                     [c["time"] for c in data["checks"]][1:], strict=False))


def test_cache_hit_is_instant_and_starts_no_tool(fresh, tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a cache hit must not run ffmpeg, espeak-ng or draw slides")

    monkeypatch.setattr(build, "build_media", forbidden)
    monkeypatch.setattr(media, "run_tool", forbidden)
    monkeypatch.setattr(media, "speak", forbidden)
    monkeypatch.setattr(subprocess, "run", forbidden)
    started = time.monotonic()
    result = build.build_module_result(MODULES_DIR / f"{CITIZEN}.yaml", tmp_path, fresh["cache"])
    elapsed = time.monotonic() - started
    assert result.cached
    assert elapsed < 2, f"cache hit took {elapsed:.1f} s"
    assert elapsed < fresh["seconds"] / 10
    assert result.path.read_bytes() == fresh["zip"].read_bytes()


def test_cache_key_follows_source_and_builder(tmp_path, monkeypatch):
    raw = (MODULES_DIR / f"{CITIZEN}.yaml").read_bytes()
    key = cache_key(raw)
    assert cache_key(raw) == key
    assert cache_key(raw + "\n# một dòng chú thích\n".encode()) != key
    assert any(p.name == "lesson.css" for p in build._builder_files())
    monkeypatch.setattr(build, "builder_digest", lambda: "another builder")
    assert cache_key(raw) != key


def _broken(tmp_path: Path) -> Path:
    text = (MODULES_DIR / f"{CITIZEN}.yaml").read_text(encoding="utf-8")
    text = text.replace('title: "Làm quen với điện thoại thông minh"', 'title: ""', 1)
    text = text.replace("      answer: 1\n", "      answer: 7\n", 1)
    path = tmp_path / f"{CITIZEN}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_broken_source_is_refused_in_vietnamese_and_writes_nothing(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    with pytest.raises(SourceError) as err:
        build_module(_broken(tmp_path), out, cache)
    problems = err.value.problems
    assert f"{CITIZEN}.yaml: title: thiếu nội dung" in problems
    assert any("answer: phải là chỉ số của một lựa chọn" in p for p in problems)
    assert not out.exists() or not list(out.iterdir())
    assert not cache.exists() or not list(cache.rglob("*.zip"))


def test_build_all_reports_each_module_and_goes_on_after_a_failure(fresh, tmp_path):
    broken_dir = tmp_path / "src"
    broken_dir.mkdir()
    broken = _broken(broken_dir)
    broken = broken.rename(broken_dir / "nd-9-9.yaml")
    seen: list[tuple[str, int, int]] = []
    results, failures = build_all(
        [MODULES_DIR / f"{CITIZEN}.yaml", broken], tmp_path / "out", fresh["cache"], jobs=2,
        report=lambda item, done, total: seen.append((type(item).__name__, done, total)),
    )
    assert [r.code for r in results] == [CITIZEN] and results[0].cached
    assert (tmp_path / "out" / f"{CITIZEN}.zip").read_bytes() == fresh["zip"].read_bytes()
    assert [f.source.name for f in failures] == ["nd-9-9.yaml"]
    assert "thiếu nội dung" in failures[0].message
    assert {s[0] for s in seen} == {"BuildResult", "BuildFailure"}
    assert [s[1] for s in seen] == [1, 2] and {s[2] for s in seen} == {2}
    assert not (tmp_path / "out" / "nd-9-9.zip").exists()


def test_cli_build_prints_a_line_per_module(fresh, tmp_path):
    env = {"LMS_BUILD_CACHE": str(fresh["cache"]), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "lms.coursebuild", "build", "--out", str(tmp_path),
         "--only", CITIZEN, "--jobs", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert re.fullmatch(r"\[1/1\] xong  nd-1-2: \d+,\d MB, \d+,\d giây \(lấy từ bộ nhớ đệm\)",
                        lines[1]), lines
    assert lines[-1].startswith("Xong 1/1 mô-đun trong ")
    assert (tmp_path / f"{CITIZEN}.zip").read_bytes() == fresh["zip"].read_bytes()

    missing = subprocess.run(
        [sys.executable, "-m", "lms.coursebuild", "build", "--out", str(tmp_path),
         "--only", "khong-co"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert missing.returncode == 2
    assert "Không có tệp nguồn cho mô-đun: khong-co" in missing.stderr


def test_scorm_packages_zips_stay_out_of_git():
    ignored = subprocess.run(["git", "check-ignore", "-q", "scorm_packages/nd-1-2.zip"], cwd=ROOT)
    assert ignored.returncode == 0
    kept = subprocess.run(["git", "check-ignore", "-q", "scorm_packages/README.md"], cwd=ROOT)
    assert kept.returncode == 1
