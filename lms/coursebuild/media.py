"""The narrated video of a module: slide images, espeak-ng narration, one H.264/AAC MP4 and
WebVTT captions, all reproducible byte for byte from the same source and tools."""

from __future__ import annotations

import math
import shutil
import wave
from dataclasses import dataclass
from pathlib import Path

from . import captions
from .slides import write_slide
from .source import SLIDE_PAUSE_S, Check, ModuleSource, Slide, speak
from .tools import run_tool

FPS = 2  # still slides: two frames a second keeps the file small and seeking exact enough
CHECK_OFFSET_S = 0.5  # a check stops the video this far into the pause after its slide
VIDEO = "lesson.mp4"
CAPTIONS = "captions.vi.vtt"
POSTER = "poster.png"


@dataclass(frozen=True)
class SlideSpan:
    start: float
    speech: float  # narration length; the rest of the span is silence
    end: float


@dataclass(frozen=True)
class Timeline:
    slides: list[SlideSpan]
    checks: list[float]  # when each check (in source order) stops the video
    duration: float


def span_seconds(speech: float) -> float:
    """Narration plus the pause, rounded up to whole frames so slide changes fall on frames."""
    return math.ceil((speech + SLIDE_PAUSE_S) * FPS - 1e-6) / FPS


def make_timeline(steps: tuple[Slide | Check, ...], speech: list[float]) -> Timeline:
    spans: list[SlideSpan] = []
    checks: list[float] = []
    t = 0.0
    for step in steps:
        if isinstance(step, Slide):
            d = speech[len(spans)]
            end = t + span_seconds(d)
            spans.append(SlideSpan(round(t, 3), round(d, 3), round(end, 3)))
            t = end
        else:
            last = spans[-1]
            checks.append(round(last.start + last.speech + CHECK_OFFSET_S, 3))
    return Timeline(spans, checks, round(t, 3))


def _join_audio(parts: list[Path], spans: list[SlideSpan], out: Path) -> None:
    """One WAV: each slide's narration followed by silence up to the end of its span."""
    with wave.open(str(parts[0])) as first:
        params = first.getparams()
    with wave.open(str(out), "wb") as dst:
        dst.setnchannels(params.nchannels)
        dst.setsampwidth(params.sampwidth)
        dst.setframerate(params.framerate)
        for part, span in zip(parts, spans, strict=True):
            with wave.open(str(part)) as src:
                if src.getparams()[:3] != params[:3]:
                    raise ValueError(f"{part.name}: unexpected audio format")
                frames = src.readframes(src.getnframes())
            want = round((span.end - span.start) * params.framerate)
            have = len(frames) // (params.sampwidth * params.nchannels)
            pad = max(0, want - have) * params.sampwidth * params.nchannels
            dst.writeframes(frames[: want * params.sampwidth * params.nchannels] + b"\0" * pad)


def _concat_list(images: list[str], spans: list[SlideSpan]) -> str:
    lines = ["ffconcat version 1.0"]
    for name, span in zip(images, spans, strict=True):
        lines += [f"file '{name}'", f"duration {span.end - span.start:.3f}"]
    lines.append(f"file '{images[-1]}'")  # the demuxer needs the last image once more
    return "\n".join(lines) + "\n"


def encode_video(work: Path, images: list[str], spans: list[SlideSpan], audio: Path,
                 out: Path, duration: float) -> None:
    (work / "slides.ffconcat").write_text(_concat_list(images, spans), encoding="utf-8")
    keyframes = ",".join(f"{s.start:.3f}" for s in spans)
    run_tool([
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-threads", "1", "-f", "concat", "-safe", "0", "-i", "slides.ffconcat",
        "-threads", "1", "-i", audio.name,
        "-map", "0:v:0", "-map", "1:a:0", "-t", f"{duration:.3f}",
        "-sws_flags", "bicubic+accurate_rnd+full_chroma_int+bitexact",
        "-vf", f"fps={FPS},format=yuv420p", "-r", str(FPS),
        "-c:v", "libx264", "-preset", "medium", "-tune", "stillimage", "-crf", "30",
        "-g", str(FPS * 60), "-force_key_frames", keyframes,
        "-c:a", "aac", "-b:a", "32k", "-ac", "1",
        "-threads", "1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
        "-flags:a", "+bitexact", "-map_metadata", "-1", "-movflags", "+faststart",
        out.name,
    ], cwd=work)


def build_media(module: ModuleSource, work: Path, out: Path) -> Timeline:
    """Write VIDEO, CAPTIONS and POSTER for `module` into `out`; `work` holds the rest."""
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    slides = module.slides
    images: list[str] = []
    wavs: list[Path] = []
    speech: list[float] = []
    for n, slide in enumerate(slides, 1):
        image = f"slide-{n:03d}.png"
        write_slide(slide, module.title, n, len(slides), work / image)
        images.append(image)
        wav = work / f"narration-{n:03d}.wav"
        speech.append(speak(slide.narration, wav))
        wavs.append(wav)
    timeline = make_timeline(module.steps, speech)
    audio = work / "narration.wav"
    _join_audio(wavs, timeline.slides, audio)
    encode_video(work, images, timeline.slides, audio, work / VIDEO, timeline.duration)
    cues = [
        cue
        for slide, span in zip(slides, timeline.slides, strict=True)
        for cue in captions.slide_cues(slide.narration, span.start, span.speech)
    ]
    shutil.copyfile(work / VIDEO, out / VIDEO)
    shutil.copyfile(work / images[0], out / POSTER)
    (out / CAPTIONS).write_text(captions.to_vtt(cues), encoding="utf-8", newline="\n")
    return timeline
