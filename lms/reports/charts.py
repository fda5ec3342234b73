"""Server-side SVG charts: horizontal bars and lines, built as XML (always well-formed).

Each chart is an inline `<svg role="img">` with a `<title>` and `<desc>` (read by screen
readers), drawn in a 360-unit-wide view box so it is readable on a 360 px phone and scales up on
wider screens. Labels sit above their bars, so long unit names never squeeze the bars. Pages also
show every number in a table; the charts are a picture of that table, not its only copy.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

WIDTH = 360
COLORS = ("#1f5fa8", "#2e7d32", "#8e44ad", "#b35900")
TARGET_COLOR = "#c62828"
TEXT_COLOR = "#222"
GRID_COLOR = "#ccc"
FONT = "font-family:system-ui,sans-serif;font-size:14px"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def fmt_number(value: float, percent: bool = False) -> str:
    """Vietnamese style: 12.345 for thousands, 85,5% for percentages."""
    if percent:
        text = f"{value:.1f}".replace(".", ",")
        return (text[:-2] if text.endswith(",0") else text) + "%"
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def _svg(chart_id: str, title: str, desc: str, height: float) -> ET.Element:
    svg = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {WIDTH} {height:.0f}",
        "role": "img", "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
        "class": "chart", "id": chart_id, "style": FONT,
    })
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = desc
    return svg


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", "fill": TEXT_COLOR,
                                        **attrs})
    el.text = text
    return el


def _legend(svg: ET.Element, series: Sequence[Series], y: float, extra: str | None = None
            ) -> None:
    x = 4.0
    for i, s in enumerate(series):
        ET.SubElement(svg, "rect", {"x": f"{x:.1f}", "y": f"{y - 10:.1f}", "width": "12",
                                    "height": "12", "fill": COLORS[i % len(COLORS)]})
        _text(svg, x + 16, y, s.name)
        x += 26 + 8 * len(s.name)
    if extra:
        ET.SubElement(svg, "line", {"x1": f"{x:.1f}", "x2": f"{x + 12:.1f}", "y1": f"{y - 4:.1f}",
                                    "y2": f"{y - 4:.1f}", "stroke": TARGET_COLOR,
                                    "stroke-width": "2", "stroke-dasharray": "4 2"})
        _text(svg, x + 16, y, extra)


def _done(svg: ET.Element) -> Markup:
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704 - built by ElementTree


def bar_chart(chart_id: str, title: str, desc: str, labels: Sequence[str],
              series: Sequence[Series], *, percent: bool = False, target: float | None = None,
              max_value: float | None = None) -> Markup:
    """Horizontal bars, one group per label (one bar per series), value written after each bar;
    `target` draws a dashed vertical line (percent charts: the programme's target rate)."""
    bar_h, gap = 14, 4
    group_h = 20 + len(series) * (bar_h + gap) + 6
    top = 28
    height = top + max(1, len(labels)) * group_h + 4
    svg = _svg(chart_id, title, desc, height)
    _legend(svg, series, 14, f"Mục tiêu {fmt_number(target, True)}" if target is not None
            else None)
    left, right = 4.0, 64.0  # room for the value after the bar
    span = WIDTH - left - right
    biggest = max([v for s in series for v in s.values] + [target or 0, 0])
    scale_max = max_value if max_value is not None else (biggest or 1)
    if not labels:
        _text(svg, left, top + 14, "Chưa có số liệu.")
    for i, label in enumerate(labels):
        y = top + i * group_h
        group = ET.SubElement(svg, "g", {"class": "bar-group"})
        _text(group, left, y + 15, label)
        for j, s in enumerate(series):
            value = float(s.values[i])
            by = y + 20 + j * (bar_h + gap)
            w = max(0.0, min(1.0, value / scale_max)) * span
            rect = ET.SubElement(group, "rect", {
                "x": f"{left:.1f}", "y": f"{by:.1f}", "width": f"{max(w, 1):.1f}",
                "height": str(bar_h), "fill": COLORS[j % len(COLORS)]})
            ET.SubElement(rect, "title").text = f"{label} – {s.name}: {fmt_number(value, percent)}"
            _text(group, left + w + 4, by + bar_h - 2, fmt_number(value, percent),
                  **{"class": "value"})
    if target is not None and labels:
        x = left + min(1.0, target / scale_max) * span
        ET.SubElement(svg, "line", {"x1": f"{x:.1f}", "x2": f"{x:.1f}", "y1": str(top),
                                    "y2": f"{height - 2:.1f}", "stroke": TARGET_COLOR,
                                    "stroke-width": "2", "stroke-dasharray": "4 2",
                                    "class": "target"})
    return _done(svg)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def line_chart(chart_id: str, title: str, desc: str, x_labels: Sequence[str],
               series: Sequence[Series], *, percent: bool = False) -> Markup:
    """Lines over x_labels (months), y from 0; every point has a tooltip with its value."""
    height = 240
    left, right, top, bottom = 52.0, 8.0, 30.0, 34.0
    svg = _svg(chart_id, title, desc, height)
    _legend(svg, series, 14)
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    y_max = _nice_max(max([v for s in series for v in s.values] + [0]))
    for k in range(5):  # grid and y ticks
        value = y_max * k / 4
        y = top + plot_h - plot_h * k / 4
        ET.SubElement(svg, "line", {"x1": f"{left:.1f}", "x2": f"{WIDTH - right:.1f}",
                                    "y1": f"{y:.1f}", "y2": f"{y:.1f}", "stroke": GRID_COLOR})
        _text(svg, left - 4, y + 4, fmt_number(value, percent), **{"text-anchor": "end"})
    n = len(x_labels)
    if n == 0:
        _text(svg, left + 8, top + plot_h / 2, "Chưa có số liệu.")
        return _done(svg)

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    every = max(1, math.ceil(n / 4))  # at most ~4 labels: readable at 360 px
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == n - 1:
            if i != n - 1 and n - 1 - i < every:
                continue  # too close to the last label, which is always shown
            anchor = "end" if i == n - 1 and n > 1 else "start" if i == 0 and n > 1 else "middle"
            _text(svg, x_at(i), height - bottom + 18, label, **{"text-anchor": anchor})
    for j, s in enumerate(series):
        color = COLORS[j % len(COLORS)]
        pts = [(x_at(i), top + plot_h - plot_h * float(v) / y_max) for i, v in enumerate(s.values)]
        if len(pts) > 1:
            ET.SubElement(svg, "polyline", {
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in pts), "fill": "none",
                "stroke": color, "stroke-width": "2"})
        for i, (x, y) in enumerate(pts):
            dot = ET.SubElement(svg, "circle", {"cx": f"{x:.1f}", "cy": f"{y:.1f}", "r": "3",
                                                "fill": color})
            ET.SubElement(dot, "title").text = (
                f"{s.name} {x_labels[i]}: {fmt_number(float(s.values[i]), percent)}")
        last_x, last_y = pts[-1]
        _text(svg, min(last_x, WIDTH - right) - 2, last_y - 6,
              fmt_number(float(s.values[-1]), percent), **{"text-anchor": "end", "class": "value"})
    return _done(svg)
