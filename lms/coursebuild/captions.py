"""Narration → WebVTT captions: sentences split into cue-sized pieces, timed in proportion to
their length within the span their slide's narration takes in the audio."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CUE = 84  # two lines of about 42 characters on a phone
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_CLAUSE_BREAK = re.compile(r"(?<=[,;:])\s+")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _halve(text: str) -> list[str]:
    """Split a long piece near its middle, at a clause break when there is one."""
    middle = len(text) / 2
    breaks = [m.end() for m in _CLAUSE_BREAK.finditer(text)]
    good = [b for b in breaks if len(text) / 4 <= b <= 3 * len(text) / 4]
    if good:
        cut = min(good, key=lambda b: abs(b - middle))
    else:
        spaces = [m.start() for m in re.finditer(r"\s", text)]
        if not spaces:
            return [text]
        cut = min(spaces, key=lambda b: abs(b - middle))
    return [text[:cut].strip(), text[cut:].strip()]


def pieces(narration: str) -> list[str]:
    out: list[str] = []
    pending = [s.strip() for s in _SENTENCE_END.split(" ".join(narration.split())) if s.strip()]
    while pending:
        piece = pending.pop(0)
        if len(piece) <= MAX_CUE:
            out.append(piece)
            continue
        halves = _halve(piece)
        if len(halves) == 1:
            out.append(piece)
        else:
            pending[:0] = halves
    return out


def slide_cues(narration: str, start: float, speech: float) -> list[Cue]:
    parts = pieces(narration)
    weights = [len(p) for p in parts]
    total = sum(weights) or 1
    cues: list[Cue] = []
    done = 0
    for part, weight in zip(parts, weights, strict=True):
        begin = start + speech * done / total
        done += weight
        cues.append(Cue(round(begin, 3), round(start + speech * done / total, 3), part))
    return cues


def timestamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def to_vtt(cues: list[Cue]) -> str:
    blocks = ["WEBVTT"]
    for n, cue in enumerate(cues, 1):
        text = cue.text.replace("-->", "→").replace("&", "&amp;").replace("<", "&lt;")
        blocks.append(f"{n}\n{timestamp(cue.start)} --> {timestamp(cue.end)}\n{text}")
    return "\n\n".join(blocks) + "\n"
