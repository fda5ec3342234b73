"""Slides drawn to 960×540 PNG images: a title band, bullets, and a footer with the module title
and the slide number. Big DejaVu Sans text, dark on white, for cheap phones and older eyes."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .source import Slide
from .tools import FONT_BOLD, FONT_REGULAR

WIDTH, HEIGHT = 960, 540
MARGIN = 48
FOOTER_H = 44
INK = (17, 17, 17)
PAPER = (255, 255, 255)
BAND = (11, 61, 145)  # dark blue: white on it is > 10:1
BAND_INK = (255, 255, 255)
ACCENT = (200, 16, 46)
FOOTER_BG = (232, 238, 245)
FOOTER_INK = (33, 37, 41)


@lru_cache(maxsize=64)
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: the same glyph placement whether or not libraqm is installed.
    path = FONT_BOLD if bold else FONT_REGULAR
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and font.getlength(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines or [""]


def _ellipsize(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _fit_title(title: str, width: float, sizes: range, max_lines: int):
    for size in sizes:
        font = _font(True, size)
        lines = wrap(title, font, width)
        if len(lines) <= max_lines:
            return font, lines
    font = _font(True, sizes[-1])
    return font, wrap(title, font, width)[:max_lines]


def _fit_bullets(bullets: tuple[str, ...], width: float, height: float):
    for size in range(36, 21, -2):
        font = _font(False, size)
        wrapped = [wrap(b, font, width) for b in bullets]
        line_h = round(size * 1.3)
        gap = round(size * 0.55)
        total = sum(len(w) for w in wrapped) * line_h + gap * (len(bullets) - 1)
        if total <= height:
            return font, wrapped, line_h, gap
    return font, wrapped, line_h, gap


def render_slide(slide: Slide, module_title: str, number: int, total: int) -> Image.Image:
    img = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(img)
    body_bottom = HEIGHT - FOOTER_H
    title = _nfc(slide.title)
    bullets = tuple(_nfc(b) for b in slide.bullets)
    text_w = WIDTH - 2 * MARGIN

    if not bullets:
        # A title-only slide: the title large in the middle of the page.
        font, lines = _fit_title(title, text_w, range(56, 31, -4), 3)
        line_h = round(font.size * 1.25)
        y = (body_bottom - line_h * len(lines)) // 2
        for line in lines:
            x = (WIDTH - font.getlength(line)) / 2
            draw.text((x, y), line, font=font, fill=BAND)
            y += line_h
        draw.rectangle((WIDTH // 2 - 60, y + 12, WIDTH // 2 + 60, y + 18), fill=ACCENT)
    else:
        font, lines = _fit_title(title, text_w, range(40, 27, -2), 2)
        line_h = round(font.size * 1.2)
        band_h = line_h * len(lines) + 40
        draw.rectangle((0, 0, WIDTH, band_h), fill=BAND)
        y = 20
        for line in lines:
            draw.text((MARGIN, y), line, font=font, fill=BAND_INK)
            y += line_h
        indent = 34
        top = band_h + 28
        bfont, wrapped, bl_h, gap = _fit_bullets(bullets, text_w - indent, body_bottom - top - 20)
        y = top
        for lines_of_bullet in wrapped:
            dot = round(bfont.size * 0.32)
            cy = y + bl_h // 2
            draw.rectangle((MARGIN, cy - dot // 2, MARGIN + dot, cy + dot - dot // 2), fill=ACCENT)
            for line in lines_of_bullet:
                draw.text((MARGIN + indent, y), line, font=bfont, fill=INK)
                y += bl_h
            y += gap

    draw.rectangle((0, body_bottom, WIDTH, HEIGHT), fill=FOOTER_BG)
    ffont = _font(False, 20)
    counter = f"{number}/{total}"
    cw = ffont.getlength(counter)
    fy = body_bottom + (FOOTER_H - 24) // 2
    draw.text((WIDTH - MARGIN - cw, fy), counter, font=ffont, fill=FOOTER_INK)
    name = _ellipsize(_nfc(module_title), ffont, WIDTH - 3 * MARGIN - cw)
    draw.text((MARGIN, fy), name, font=ffont, fill=FOOTER_INK)
    return img


def write_slide(slide: Slide, module_title: str, number: int, total: int, path: Path) -> None:
    render_slide(slide, module_title, number, total).save(path, format="PNG", optimize=False)
