"""`python -m lms.coursebuild check FILE...` validates module sources."""

from __future__ import annotations

import sys
from pathlib import Path

from .source import check_files


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "check":
        print("usage: python -m lms.coursebuild check courses/modules/*.yaml", file=sys.stderr)
        return 2
    return 1 if check_files([Path(p) for p in argv[1:]]) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
