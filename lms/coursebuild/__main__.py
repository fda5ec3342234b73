"""Command line of the module builder.

    python -m lms.coursebuild check courses/modules/*.yaml      validate sources
    python -m lms.coursebuild build [--out DIR] [--only CODE ...] [--jobs N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .source import SourceError, check_files


def _size(n: int) -> str:
    return f"{n / 1_048_576:.1f}".replace(".", ",") + " MB"


def _secs(s: float) -> str:
    return f"{s:.1f}".replace(".", ",") + " giây"


def build_command(out: Path, only: list[str] | None, jobs: int | None) -> int:
    from .build import BuildResult, build_all, cache_root, module_sources
    from .tools import ToolsMissing

    try:
        sources = module_sources(only)
    except SourceError as exc:
        print(f"LỖI: {exc}", file=sys.stderr)
        return 2
    if not sources:
        print("Không có mô-đun nào để dựng.")
        return 0
    print(f"Dựng {len(sources)} mô-đun vào {out} (bộ nhớ đệm: {cache_root()})…", flush=True)
    started = time.monotonic()

    def report(item, done: int, total: int) -> None:
        width = len(str(total))
        if isinstance(item, BuildResult):
            how = "lấy từ bộ nhớ đệm" if item.cached else "dựng mới"
            print(f"[{done:>{width}}/{total}] xong  {item.code}: {_size(item.size)}, "
                  f"{_secs(item.seconds)} ({how})", flush=True)
        else:
            first, *rest = item.message.splitlines() or [""]
            print(f"[{done:>{width}}/{total}] LỖI  {item.source.stem}: {first}", flush=True)
            for line in rest:
                print(f"        {line}", flush=True)

    try:
        results, failures = build_all(sources, out, jobs=jobs, report=report)
    except ToolsMissing as exc:
        print(f"LỖI: {exc}", file=sys.stderr)
        return 2
    total = sum(r.size for r in results)
    print(f"Xong {len(results)}/{len(sources)} mô-đun trong {_secs(time.monotonic() - started)}, "
          f"tổng {_size(total)}" + (f"; {len(failures)} mô-đun lỗi." if failures else "."))
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lms.coursebuild",
                                     description="Dựng các mô-đun SCORM từ courses/modules.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="kiểm tra tệp nguồn của mô-đun")
    check.add_argument("files", nargs="+", type=Path)
    build = sub.add_parser("build", help="dựng gói SCORM (.zip) của các mô-đun")
    build.add_argument("--out", type=Path, default=Path("scorm_packages"),
                       help="thư mục ghi các tệp .zip (mặc định: scorm_packages)")
    build.add_argument("--only", nargs="+", metavar="CODE",
                       help="chỉ dựng các mô-đun có mã này (ví dụ nd-1-2)")
    build.add_argument("--jobs", type=int, default=None,
                       help="số mô-đun dựng song song (mặc định: số CPU)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return 1 if check_files(args.files) else 0
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs phải ≥ 1")
    return build_command(args.out, args.only, args.jobs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
