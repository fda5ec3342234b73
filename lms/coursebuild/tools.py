"""External tools of the builder (ffmpeg, espeak-ng, DejaVu fonts): presence and identity."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
APT_PACKAGES = "ffmpeg espeak-ng fonts-dejavu-core"
INSTALL_HINT = (
    f"Cài bằng: sudo apt-get install -y {APT_PACKAGES} "
    "(hoặc chạy bash scripts/ensure-build-tools.sh)."
)


class ToolsMissing(RuntimeError):
    """A tool the builder needs is not installed."""


class ToolFailed(RuntimeError):
    """A tool ran and failed; the message carries its error output."""


def missing_tools() -> list[str]:
    missing = [t for t in ("ffmpeg", "espeak-ng") if shutil.which(t) is None]
    missing += [f"font {f.name}" for f in (FONT_REGULAR, FONT_BOLD) if not f.exists()]
    return missing


def require_tools() -> None:
    missing = missing_tools()
    if missing:
        raise ToolsMissing(
            f"Thiếu công cụ để dựng bài học: {', '.join(missing)}. {INSTALL_HINT}"
        )


def run_tool(args: list[str], *, cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
    """Run a tool; raise ToolFailed with its stderr (the output is what callers need)."""
    try:
        done = subprocess.run(
            args, cwd=cwd, input=stdin, capture_output=True, check=False,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise ToolsMissing(f"Không tìm thấy {args[0]}. {INSTALL_HINT}") from exc
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise ToolFailed(f"{args[0]} lỗi (mã {done.returncode}): {err}")
    return done.stdout


@lru_cache(maxsize=1)
def identity() -> str:
    """Versions of everything outside our code that shapes the output bytes.

    Computed once per process, so a cache hit never starts ffmpeg or espeak-ng again.
    """
    import zlib

    import PIL

    require_tools()
    ffmpeg = run_tool(["ffmpeg", "-hide_banner", "-version"]).decode("utf-8", "replace")
    espeak = run_tool(["espeak-ng", "--version"]).decode("utf-8", "replace")
    lines = [
        ffmpeg.strip(),  # version, configuration and library versions (libavcodec, …)
        espeak.strip().split(" Data at:")[0],
        f"Pillow {PIL.__version__}",
        f"zlib {zlib.ZLIB_RUNTIME_VERSION}",
    ]
    return "\n".join(lines)
