"""Charts drawn on the server as SVG: no script, no outside font, style sheet or image, so
they show under the console's strict content security policy and print as they look.

Every text (office codes, matter names, API key names come from the database) is escaped
and stripped of characters XML cannot hold; each chart is an ``role="img"`` with a
``<title>`` and a ``<desc>`` that reads its figures out for screen readers (the page adds
the same figures as a table). The output depends only on the arguments: the same data
gives the same bytes. Values that are negative, NaN or infinite are drawn as zero (their
text says what they were); any size of value is scaled to the plot and written compactly
(12.3k, 4.5M)."""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from collections.abc import Sequence

# Fixed palette (Okabe–Ito hues, darkened): each at least 4.5:1 against white, and told
# apart by colour-blind readers; stacked segments are also separated by a white line.
PALETTE = ("#0072B2", "#AD5A00", "#00785A", "#A23B72", "#7B5EA7", "#5D4037")
TEXT = "#1F2328"
MUTED = "#57606A"  # axis labels: 6.4:1
GRID = "#D0D7DE"
FONT = "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif"
NO_DATA = "无数据 No data"

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TITLE_SIZE = 15
_LABEL_SIZE = 12
_DESC_ITEMS = 60  # items read out in <desc>; the rest are counted


def _text(value: object) -> str:
    """Escaped for XML text and attribute values, without characters XML 1.0 forbids."""
    return html.escape(_NOT_XML.sub("", str(value)), quote=True)


def _n(x: float) -> str:
    """A coordinate: at most one decimal, no trailing zeros."""
    s = _trim(f"{x:.1f}")
    return "0" if s == "-0" else s


def _finite(v: float) -> float:
    """What is drawn: a finite value, not below zero."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return f if math.isfinite(f) and f > 0 else 0.0


def compact(v: float) -> str:
    """A short figure for a bar or an axis: 950, 12.5, 12.3k, 4.56M, 1.2e+21."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "?"
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "∞" if f > 0 else "-∞"
    sign, f = ("-", -f) if f < 0 else ("", f)
    if f < 1000:
        return sign + (str(int(f)) if f == int(f) else _trim(f"{f:.1f}"))
    rounded = float(f"{f:.3g}")  # three significant digits, then the unit that fits
    for power, suffix in ((18, "E"), (15, "P"), (12, "T"), (9, "G"), (6, "M"), (3, "k")):
        if rounded >= 10 ** power:
            scaled = rounded / 10 ** power
            if scaled >= 1000:  # beyond exa
                return f"{sign}{rounded:.2e}"
            digits = 0 if scaled >= 100 else 1 if scaled >= 10 else 2
            return sign + _trim(f"{scaled:.{digits}f}") + suffix
    return sign + str(rounded)  # not reached: rounded >= 1000


def _trim(s: str) -> str:
    """A decimal without trailing zeros after its point."""
    return s.rstrip("0").rstrip(".") if "." in s else s


def exact(v: float) -> str:
    """The figure in full, for the description: 12,345 or 12,345.7 (compact when enormous)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "?"
    if not math.isfinite(f) or abs(f) >= 1e15:
        return compact(f)
    return f"{f:,.0f}" if f == int(f) else f"{f:,.1f}"


def _width(s: str, size: float) -> float:
    """Estimated width in pixels of ``s`` at font ``size``: a wide (CJK) character one em, a
    capital or digit about two thirds (office codes are capitals), another about half."""
    return sum(size if unicodedata.east_asian_width(c) in ("W", "F") else size * (0.68 if c.isupper() or c.isdigit()
                                                                                  else 0.56) for c in s)


def _fit(s: str, size: float, room: float) -> str:
    """``s``, shortened with an ellipsis to fit ``room`` pixels."""
    if _width(s, size) <= room:
        return s
    while s and _width(s + "…", size) > room:
        s = s[:-1]
    return s + "…"


def _nice_max(top: float) -> tuple[float, float]:
    """An axis maximum at or above ``top`` and its tick step (1, 2, 2.5 or 5 × 10^k): at
    most five steps."""
    if top <= 0:
        return 1.0, 0.25
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return step * math.ceil(top / step - 1e-9), step


def _chart_id(kind: str, *parts: object) -> str:
    digest = hashlib.sha256(repr((kind, *parts)).encode("utf-8", "surrogatepass")).hexdigest()
    return f"chart-{digest[:12]}"


def _open(chart_id: str, title: str, desc: str, width: float, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="{_text(FONT)}" font-size="{_LABEL_SIZE}" fill="{TEXT}">',
        f'<title id="{chart_id}-title">{_text(title)}</title>',
        f'<desc id="{chart_id}-desc">{_text(desc)}</desc>',
        f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#FFFFFF"/>',
        f'<text x="8" y="22" font-size="{_TITLE_SIZE}" font-weight="bold">'
        f'{_text(_fit(title, _TITLE_SIZE, width - 16))}</text>',
    ]


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:_DESC_ITEMS])
    more = len(items) - _DESC_ITEMS
    return shown + (f"; … {more} more" if more > 0 else "")


def _no_data(parts: list[str], width: float, y: float) -> None:
    parts.append(f'<text x="{_n(width / 2)}" y="{_n(y)}" text-anchor="middle" fill="{MUTED}">{_text(NO_DATA)}</text>')


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, unit: str = "", width: int = 640,
              height: int | None = None) -> str:
    """Horizontal bars, one per (label, value), in the order given, each with its value at
    its end. ``height``: by default as tall as the bars need (28 px each)."""
    width = max(int(width), 200)
    top, bottom, n = 40, 12, len(bars)
    height = int(height) if height is not None else top + bottom + max(n, 1) * 28
    height = max(height, top + bottom + 20)
    row = (height - top - bottom) / max(n, 1)
    suffix = f" {unit}" if unit else ""
    desc = f"{title}. " + (_listed([f"{label}: {exact(v)}{suffix}" for label, v in bars]) if n else NO_DATA)
    chart_id = _chart_id("bar", title, list(bars), unit, width, height)
    parts = _open(chart_id, title, desc, width, height)
    if not n:
        _no_data(parts, width, top + (height - top - bottom) / 2)
        parts.append("</svg>")
        return "\n".join(parts)

    values = [_finite(v) for _, v in bars]
    texts = [compact(v) + suffix for _, v in bars]
    label_room = min(max(_width(str(label), _LABEL_SIZE) for label, _ in bars) + 4, width * 0.35)
    value_room = max(_width(t, _LABEL_SIZE) for t in texts) + 8
    x0 = 8 + label_room + 6
    plot = max(width - x0 - value_room - 8, 20)
    biggest = max(values)
    bar_h = max(min(row * 0.64, 22), 1)
    parts.append(f'<line x1="{_n(x0)}" y1="{top - 4}" x2="{_n(x0)}" y2="{_n(height - bottom + 2)}" '
                 f'stroke="{MUTED}" stroke-width="1"/>')
    for i, ((label, raw), value, text) in enumerate(zip(bars, values, texts)):
        y = top + i * row + (row - bar_h) / 2
        mid = y + bar_h / 2 + _LABEL_SIZE * 0.35
        length = plot * value / biggest if biggest > 0 else 0.0
        parts.append(f'<g><title>{_text(label)}: {_text(exact(raw))}{_text(suffix)}</title>')
        parts.append(f'<text x="{_n(x0 - 6)}" y="{_n(mid)}" text-anchor="end">'
                     f'{_text(_fit(str(label), _LABEL_SIZE, label_room))}</text>')
        parts.append(f'<rect x="{_n(x0)}" y="{_n(y)}" width="{_n(length)}" height="{_n(bar_h)}" fill="{PALETTE[0]}"/>')
        parts.append(f'<text x="{_n(x0 + length + 4)}" y="{_n(mid)}">{_text(text)}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)


def stacked_bar_chart(title: str, categories: Sequence[str], series: dict[str, Sequence[float]], *,
                      unit: str = "", width: int = 640, height: int = 320) -> str:
    """Vertical columns, one per category (e.g. months, in the order given), each stacked
    from its series (e.g. new, corrected, revoked) in the order of ``series``, with a legend
    and a scale. Every series has one value per category."""
    for name, values in series.items():
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")
    width, height = max(int(width), 240), max(int(height), 160)
    suffix = f" {unit}" if unit else ""
    names = list(series)
    items = [f"{c}: " + ", ".join(f"{name} {exact(series[name][i])}{suffix}" for name in names)
             for i, c in enumerate(categories)]
    desc = f"{title}. " + (_listed(items) if categories and names else NO_DATA)
    chart_id = _chart_id("stacked", title, list(categories), {k: list(v) for k, v in series.items()}, unit, width,
                         height)
    parts = _open(chart_id, title, desc, width, height)

    # Legend, under the title, wrapping.
    lx, ly = 8.0, 44.0
    for k, name in enumerate(names):
        shown = _fit(str(name), _LABEL_SIZE, width / 3)
        w = 14 + 4 + _width(shown, _LABEL_SIZE) + 16
        if lx + w > width - 8 and lx > 8:
            lx, ly = 8.0, ly + 18
        parts.append(f'<rect x="{_n(lx)}" y="{_n(ly - 10)}" width="12" height="12" fill="{PALETTE[k % len(PALETTE)]}"/>')
        parts.append(f'<text x="{_n(lx + 16)}" y="{_n(ly)}">{_text(shown)}</text>')
        lx += w
    top = ly + 16 if names else 40
    bottom = 28
    if not categories or not names:
        _no_data(parts, width, top + (height - top - bottom) / 2)
        parts.append("</svg>")
        return "\n".join(parts)

    sums = [sum(_finite(series[name][i]) for name in names) for i in range(len(categories))]
    axis_max, step = _nice_max(max(sums))
    ticks = [step * t for t in range(int(round(axis_max / step)) + 1)]
    axis_room = max(_width(compact(t), _LABEL_SIZE) for t in ticks) + 10
    x0, x1 = 8 + axis_room, width - 8
    y0, y1 = height - bottom, top + 6  # y0: the baseline
    plot_h = max(y0 - y1, 10)
    for t in ticks:
        y = y0 - plot_h * t / axis_max
        parts.append(f'<line x1="{_n(x0)}" y1="{_n(y)}" x2="{_n(x1)}" y2="{_n(y)}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{_n(x0 - 4)}" y="{_n(y + 4)}" text-anchor="end" fill="{MUTED}">'
                     f'{_text(compact(t))}</text>')
    slot = (x1 - x0) / len(categories)
    col_w = max(min(slot * 0.7, 48), 1)
    widest = max(_width(str(c), _LABEL_SIZE) for c in categories)
    every = max(1, math.ceil((min(widest, slot * 6) + 6) / slot))  # label every n-th column
    for i, category in enumerate(categories):
        cx = x0 + slot * i + slot / 2
        y = float(y0)
        parts.append(f'<g><title>{_text(items[i])}</title>')
        for k, name in enumerate(names):
            h = plot_h * _finite(series[name][i]) / axis_max
            if h <= 0:
                continue
            y -= h
            parts.append(f'<rect x="{_n(cx - col_w / 2)}" y="{_n(y)}" width="{_n(col_w)}" height="{_n(h)}" '
                         f'fill="{PALETTE[k % len(PALETTE)]}" stroke="#FFFFFF" stroke-width="1"/>')
        parts.append("</g>")
        if i % every == 0:
            label = _fit(str(category), _LABEL_SIZE, slot * every - 4)
            parts.append(f'<text x="{_n(cx)}" y="{_n(y0 + 16)}" text-anchor="middle" fill="{MUTED}">'
                         f'{_text(label)}</text>')
    parts.append(f'<line x1="{_n(x0)}" y1="{_n(y0)}" x2="{_n(x1)}" y2="{_n(y0)}" stroke="{MUTED}" stroke-width="1"/>')
    parts.append("</svg>")
    return "\n".join(parts)
