"""Module source → SCORM zip, byte for byte the same on every run, cached by what shapes it.

The cache key is the sha256 of the source file, of every file of this builder (code, lesson page,
scripts) and of the external tools' identity (ffmpeg, espeak-ng, Pillow, zlib). A rebuild of an
unchanged module copies the cached zip and starts no tool.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from . import tools
from .manifest import LAUNCH, build_manifest
from .media import CAPTIONS, POSTER, VIDEO, Timeline, build_media
from .source import FRAMEWORK_DIR, ModuleSource, Question, SourceError, load_framework, parse

BUILDER_DIR = Path(__file__).resolve().parent
LESSON_DIR = BUILDER_DIR / "lesson"
REPO_ROOT = BUILDER_DIR.parent.parent
MODULES_DIR = REPO_ROOT / "courses" / "modules"
DEFAULT_OUT = REPO_ROOT / "scorm_packages"
LESSON_STATIC = ("lesson.css", "lesson.js", "scorm.js")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
STORED = {".mp4", ".png"}  # already compressed


@dataclass(frozen=True)
class BuildResult:
    code: str
    path: Path
    size: int
    seconds: float
    cached: bool


def cache_root() -> Path:
    env = os.environ.get("LMS_BUILD_CACHE")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/haiphong-lms/build").expanduser()


def _builder_files() -> list[Path]:
    files = [p for p in BUILDER_DIR.rglob("*") if p.is_file()
             and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")]
    files += sorted(FRAMEWORK_DIR.glob("*.yaml"))  # validation (and so the output) depends on it
    return sorted(set(files))


def builder_digest() -> str:
    digest = hashlib.sha256()
    for path in _builder_files():
        data = path.read_bytes()
        digest.update(f"{path.relative_to(REPO_ROOT).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def cache_key(source_bytes: bytes) -> str:
    digest = hashlib.sha256()
    for part in (hashlib.sha256(source_bytes).hexdigest(), builder_digest(), tools.identity()):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


# ---------------------------------------------------------------- the lesson page

def _question(prefix: str, n: int, q: Question, **extra) -> dict:
    return {"id": f"{prefix}{n}", "prompt": q.prompt, "choices": list(q.choices),
            "answer": q.answer, "explain": q.explain, **extra}


def lesson_data(module: ModuleSource, timeline: Timeline) -> dict:
    slides = [{"start": span.start, "end": span.end, "title": s.title, "bullets": list(s.bullets)}
              for s, span in zip(module.slides, timeline.slides, strict=True)]
    checks = [_question("c", n, c.question, time=t)
              for n, (c, t) in enumerate(zip(module.checks, timeline.checks, strict=True), 1)]
    return {
        "v": 1,
        "code": module.code,
        "title": module.title,
        "scorm": module.scorm,
        "passing": module.passing_score,
        "duration": timeline.duration,
        "slides": slides,
        "checks": checks,
        "quiz": [_question("q", n, q) for n, q in enumerate(module.quiz, 1)],
    }


def script_json(data: dict) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', so no '</script>' or '<!--'."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace("\u2028", "\\u2028")
                  .replace("\u2029", "\\u2029"))


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def render_index(module: ModuleSource, timeline: Timeline) -> bytes:
    env = Environment(loader=FileSystemLoader(str(LESSON_DIR)), autoescape=select_autoescape(),
                      undefined=StrictUndefined, keep_trailing_newline=True)
    html = env.get_template("index.html").render(
        code=module.code,
        title=module.title,
        objectives=module.objectives,
        minutes=max(1, round(timeline.duration / 60)),
        checks=len(module.checks),
        questions=len(module.quiz),
        passing=module.passing_score,
        duration_ceil=int(-(-timeline.duration // 1)),
        duration_text=_clock(timeline.duration),
        data_json=script_json(lesson_data(module, timeline)),
    )
    return html.encode("utf-8")


# ---------------------------------------------------------------- the zip

def write_zip(files: dict[str, bytes], dest: Path) -> None:
    """Sorted entries, fixed time and mode, no extra fields: the same bytes for the same files."""
    with zipfile.ZipFile(dest, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3
            info.external_attr = FILE_MODE << 16
            info.extra = b""
            stored = Path(name).suffix in STORED
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name], compresslevel=None if stored else 9)


def package_files(module: ModuleSource, work: Path) -> dict[str, bytes]:
    media = work / "media"
    timeline = build_media(module, work / "intermediate", media)
    files = {name: (media / name).read_bytes() for name in (VIDEO, CAPTIONS, POSTER)}
    files[LAUNCH] = render_index(module, timeline)
    for name in LESSON_STATIC:
        files[name] = (LESSON_DIR / name).read_bytes()
    files["imsmanifest.xml"] = build_manifest(module, sorted(files))
    return files


def _copy_atomic(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_module(source_path: Path, out_dir: Path = DEFAULT_OUT,
                 cache_dir: Path | None = None) -> Path:
    """Build `source_path` into `out_dir/<code>.zip` and return that path.

    Raises SourceError (Vietnamese messages) for an invalid source, ToolsMissing/ToolFailed when
    a tool is absent or fails; in every failure no zip is written.
    """
    return build_module_result(source_path, out_dir, cache_dir).path


def build_module_result(source_path: Path, out_dir: Path = DEFAULT_OUT,
                        cache_dir: Path | None = None) -> BuildResult:
    started = time.monotonic()
    source_path = Path(source_path)
    module = parse(source_path, load_framework())
    cache = Path(cache_dir) if cache_dir is not None else cache_root()
    key = cache_key(module.raw)
    cached_zip = cache / "zips" / f"{module.code}-{key}.zip"
    dest = Path(out_dir) / f"{module.code}.zip"
    hit = cached_zip.is_file()
    if not hit:
        (cache / "zips").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{module.code}-", dir=cache) as tmp:
            work = Path(tmp)
            files = package_files(module, work)
            partial = work / "package.zip"
            write_zip(files, partial)
            os.replace(partial, cached_zip)  # same filesystem: the cache never holds half a zip
    _copy_atomic(cached_zip, dest)
    return BuildResult(module.code, dest, dest.stat().st_size, time.monotonic() - started, hit)


# ---------------------------------------------------------------- many modules

def module_sources(codes: Iterable[str] | None = None,
                   modules_dir: Path = MODULES_DIR) -> list[Path]:
    """The sources to build: all of `modules_dir`, or those named (missing ones are an error)."""
    if not codes:
        return sorted(modules_dir.glob("*.yaml"))
    paths = [modules_dir / f"{code}.yaml" for code in codes]
    missing = [p.stem for p in paths if not p.is_file()]
    if missing:
        raise SourceError([f"Không có tệp nguồn cho mô-đun: {', '.join(missing)} "
                           f"(tìm trong {modules_dir})"])
    return paths


@dataclass(frozen=True)
class BuildFailure:
    source: Path
    message: str


def build_all(sources: list[Path], out_dir: Path = DEFAULT_OUT, cache_dir: Path | None = None,
              jobs: int | None = None,
              report: Callable[[BuildResult | BuildFailure, int, int], None] | None = None,
              ) -> tuple[list[BuildResult], list[BuildFailure]]:
    """Build `sources` in a process pool (one process per CPU by default).

    `report(result_or_failure, done, total)` is called as each module finishes. A failing module
    does not stop the others.
    """
    tools.require_tools()
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(sources) or 1))
    results: list[BuildResult] = []
    failures: list[BuildFailure] = []
    done = 0

    def record(item: BuildResult | BuildFailure) -> None:
        nonlocal done
        done += 1
        (results if isinstance(item, BuildResult) else failures).append(item)
        if report:
            report(item, done, len(sources))

    if jobs == 1:
        for source in sources:
            try:
                record(build_module_result(source, out_dir, cache_dir))
            except (SourceError, tools.ToolsMissing, tools.ToolFailed, OSError) as exc:
                record(BuildFailure(source, str(exc)))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(build_module_result, s, out_dir, cache_dir): s for s in sources}
            for future in as_completed(futures):
                try:
                    record(future.result())
                except Exception as exc:  # noqa: BLE001 - reported per module, others go on
                    record(BuildFailure(futures[future], str(exc)))
    results.sort(key=lambda r: r.code)
    failures.sort(key=lambda f: f.source.name)
    return results, failures
