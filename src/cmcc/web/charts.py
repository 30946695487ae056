"""Small SVG charts rendered on the server: no library, no script, deterministic markup.

Every chart is an <svg role="img"> labelled by its <title> and <desc>. Markup is built with
`Markup.format`, which escapes every label and figure. Pages show the same figures in a table
as well, for screen readers and for tests.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

from markupsafe import Markup

# Colours with a contrast of at least 4.5:1 on white.
PALETTE = ("#1f4e79", "#8a4b00", "#2e6b30", "#6b2e6b")
TARGET_COLOUR = "#b00020"
TEXT = "#222222"
GRID = "#767676"

WIDTH = 720
LABEL_W = 230  # the column of category labels in bar charts
LABEL_CHARS = 34  # the longest label that fits in that column
VALUE_W = 80  # room for the value written after a bar
BAR_H = 18
GAP = 8
NICE = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)

Number = int | float
Formatter = Callable[[Number], str]

_SVG = Markup(
    '<svg class="chart" id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" '
    'viewBox="0 0 {w} {h}" width="100%" xmlns="http://www.w3.org/2000/svg" '
    'font-family="sans-serif" font-size="12">'
    '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
)
_END = Markup("</svg>")
_TEXT = Markup('<text x="{x}" y="{y}" text-anchor="{anchor}" fill="{fill}">{text}</text>')
_BAR = Markup(
    '<rect class="bar" x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}" '
    'data-value="{value}"><title>{label}: {value}</title></rect>'
)
_SWATCH = Markup('<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}"/>')
_LINE = Markup(
    '<line class="{cls}" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{stroke}"{extra}/>'
)
_DASHED = Markup(' stroke-dasharray="6 4"')
_POLYLINE = Markup(
    '<polyline class="series" points="{points}" fill="none" stroke="{stroke}" '
    'stroke-width="2"><title>{name}</title></polyline>'
)


def plain(value: Number) -> str:
    """A figure as a chart writes it: whole numbers without decimals, others with one."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _c(value: float) -> str:
    """A coordinate, fixed to one decimal so the markup is the same on every run."""
    return f"{value:.1f}"


def _open(chart_id: str, title: str, desc: str, height: float) -> Markup:
    return _SVG.format(id=chart_id, w=WIDTH, h=_c(height), title=title, desc=desc)


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = TEXT) -> Markup:
    return _TEXT.format(x=_c(x), y=_c(y), anchor=anchor, fill=fill, text=text)


def _bar(x: float, y: float, w: float, h: float, fill: str, label: str, value: str) -> Markup:
    return _BAR.format(x=_c(x), y=_c(y), w=_c(w), h=_c(h), fill=fill, label=label, value=value)


def no_data(chart_id: str, title: str, desc: str = "") -> Markup:
    """The chart's frame with the words "No data", for an empty series."""
    return Markup("").join(
        [
            _open(chart_id, title, desc or "No data to chart.", 40),
            _text(WIDTH / 2, 25, "No data", anchor="middle"),
            _END,
        ]
    )


def _scale(values: Sequence[Number]) -> float:
    top = max((float(v) for v in values), default=0.0)
    return top if top > 0 else 1.0


def nice_top(peak: float) -> float:
    """The axis maximum: the smallest round number (NICE times a power of ten) >= `peak`."""
    if peak <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(peak))
    return next(round(m * power, 9) for m in NICE if m * power >= peak)


def hbar(
    chart_id: str,
    title: str,
    desc: str,
    items: Sequence[tuple[str, Number]],
    *,
    fmt: Formatter = plain,
    colour: str = PALETTE[0],
) -> Markup:
    """Horizontal bars, one per (label, value), lengths proportional to the values (a funnel
    when the items are the pipeline's steps in order). Short labels stand left of their bars;
    when one is too long for that column, every label is written above its bar."""
    if not items:
        return no_data(chart_id, title, desc)
    top = _scale([v for _, v in items])
    above = max(len(label) for label, _ in items) > LABEL_CHARS
    x0 = 10 if above else LABEL_W
    row_h = BAR_H + GAP + (16 if above else 0)
    plot = WIDTH - x0 - VALUE_W
    parts = [_open(chart_id, title, desc, len(items) * row_h + GAP)]
    for i, (label, value) in enumerate(items):
        y = GAP + i * row_h
        if above:
            parts.append(_text(x0, y + 12, label))
            y += 16
        else:
            parts.append(_text(LABEL_W - 6, y + BAR_H - 5, label, anchor="end"))
        w = max(0.0, float(value)) / top * plot
        parts.append(_bar(x0, y, w, BAR_H, colour, label, fmt(value)))
        parts.append(_text(x0 + w + 4, y + BAR_H - 5, fmt(value)))
    parts.append(_END)
    return Markup("").join(parts)


def grouped_bars(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number]]],
    *,
    fmt: Formatter = plain,
) -> Markup:
    """Per category, one horizontal bar per series (e.g. pledged / committed / paid), on a
    common scale; the category's name is written above its bars, the legend at the top."""
    values = [v for _, vs in series for v in vs]
    if not categories or not series or not any(float(v) for v in values):
        return no_data(chart_id, title, desc)
    top = _scale(values)
    plot = WIDTH - VALUE_W - 10
    legend_h = 24
    group_h = 18 + len(series) * (BAR_H - 4) + GAP
    parts = [_open(chart_id, title, desc, legend_h + len(categories) * group_h + GAP)]
    for k, (name, _) in enumerate(series):
        x = 10 + k * 160
        colour = PALETTE[k % len(PALETTE)]
        parts.append(_SWATCH.format(x=_c(x), y="6.0", w=12, h=12, fill=colour))
        parts.append(_text(x + 16, 16, name))
    for i, category in enumerate(categories):
        y = legend_h + i * group_h
        parts.append(_text(10, y + 13, category))
        for k, (name, vs) in enumerate(series):
            value = vs[i]
            by = y + 18 + k * (BAR_H - 4)
            w = max(0.0, float(value)) / top * plot
            colour = PALETTE[k % len(PALETTE)]
            parts.append(_bar(10, by, w, BAR_H - 6, colour, f"{category}, {name}", fmt(value)))
            parts.append(_text(14 + w, by + BAR_H - 8, fmt(value)))
    parts.append(_END)
    return Markup("").join(parts)


def _spread(ys: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Label baselines near `ys`, at least `gap` apart, within [low, high] (order kept)."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    placed: dict[int, float] = {}
    last = low - gap
    for i in order:
        placed[i] = max(ys[i], last + gap)
        last = placed[i]
    overflow = last - high
    if overflow > 0:  # pushed past the bottom: move the whole column up
        for i in order:
            placed[i] -= overflow
    return [placed[i] for i in range(len(ys))]


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    series: Sequence[tuple[str, Sequence[tuple[dt.date, Number]]]],
    *,
    targets: Sequence[tuple[str, Number]] = (),
    fmt: Formatter = plain,
) -> Markup:
    """Lines over dates, one per series, with horizontal dashed target lines (name, value).

    No label is written over a line: each target line ends with its value in the right margin
    (moved apart when two are close), and the names of the series and of the targets are in
    the legend under the axis."""
    points = [p for _, pts in series for p in pts]
    if not points:
        return no_data(chart_id, title, desc)
    left, right, top_pad, bottom, row = 70.0, 56.0, 20.0, 40.0, 18.0
    plot_w, plot_h = WIDTH - left - right, 240.0
    height = top_pad + plot_h + bottom + row * len(targets) + (GAP if targets else 0)
    first = min(d for d, _ in points)
    last = max(d for d, _ in points)
    span = max(1, (last - first).days)
    top = nice_top(_scale([v for _, v in points] + [v for _, v in targets]))

    def x(day: dt.date) -> float:
        return left + (day - first).days / span * plot_w

    def y(value: Number) -> float:
        return top_pad + plot_h - float(value) / top * plot_h

    base = top_pad + plot_h
    parts = [_open(chart_id, title, desc, height)]
    parts.append(
        _LINE.format(
            cls="axis", x1=_c(left), x2=_c(left + plot_w), y=_c(base), stroke=GRID, extra=""
        )
    )
    for frac in (0.0, 0.5, 1.0):
        parts.append(_text(left - 6, y(top * frac) + 4, fmt(top * frac), anchor="end"))
    parts.append(_text(left, base + 18, first.isoformat()))
    if last != first:
        parts.append(_text(left + plot_w, base + 18, last.isoformat(), anchor="end"))
    tags = _spread([y(v) + 4 for _, v in targets], 14.0, top_pad, base + 4)
    for (_, value), tag_y in zip(targets, tags, strict=True):
        ty = y(value)
        parts.append(
            _LINE.format(
                cls="target",
                x1=_c(left),
                x2=_c(left + plot_w),
                y=_c(ty),
                stroke=TARGET_COLOUR,
                extra=_DASHED,
            )
        )
        parts.append(_text(left + plot_w + 4, tag_y, fmt(value), fill=TARGET_COLOUR))
    for k, (name, pts) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        coords = " ".join(f"{_c(x(d))},{_c(y(v))}" for d, v in pts)
        parts.append(_POLYLINE.format(points=coords, stroke=colour, name=name))
        lx = left + 10 + k * 200
        parts.append(_SWATCH.format(x=_c(lx), y=_c(base + 26), w=12, h=3, fill=colour))
        parts.append(_text(lx + 16, base + 32, name))
    for i, (name, value) in enumerate(targets):
        ly = base + bottom + GAP + i * row
        parts.append(
            _LINE.format(
                cls="key",
                x1=_c(left + 10),
                x2=_c(left + 34),
                y=_c(ly - 4),
                stroke=TARGET_COLOUR,
                extra=_DASHED,
            )
        )
        parts.append(_text(left + 40, ly, f"Target: {name} ({fmt(value)})"))
    parts.append(_END)
    return Markup("").join(parts)


_STEPS = Markup(
    '<polyline class="{cls}" points="{points}" fill="none" stroke="{stroke}" '
    'stroke-width="2"{extra}><title>{name}</title></polyline>'
)


def _runs(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """The points cut where a value is missing (None): one polyline per run."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [r for r in runs if r]


def daily_chart(
    chart_id: str,
    title: str,
    desc: str,
    days: Sequence[dt.date],
    actual: Sequence[Number],
    average: Sequence[Number | None],
    target: Sequence[Number | None],
    *,
    names: tuple[str, str, str] = ("Per day", "7-day average", "Target"),
    fmt: Formatter = plain,
) -> Markup:
    """A bar per day (the actual figure), the average as a line through the bars' middles and
    the target as a dashed step line (each drawn only where it has a value); the legend under
    the axis names the three. Every bar carries its day and value in its tooltip."""
    if not days:
        return no_data(chart_id, title, desc)
    left, right, top_pad, plot_h = 56.0, 16.0, 16.0, 240.0
    plot_w = WIDTH - left - right
    base = top_pad + plot_h
    height = base + 58
    values = [float(v) for v in actual]
    values += [float(v) for v in average if v is not None]
    values += [float(v) for v in target if v is not None]
    top = nice_top(_scale(values))
    step = plot_w / len(days)

    def y(value: Number) -> float:
        return top_pad + plot_h - float(value) / top * plot_h

    parts = [_open(chart_id, title, desc, height)]
    parts.append(
        _LINE.format(
            cls="axis", x1=_c(left), x2=_c(left + plot_w), y=_c(base), stroke=GRID, extra=""
        )
    )
    for frac in (0.0, 0.5, 1.0):
        parts.append(_text(left - 6, y(top * frac) + 4, fmt(top * frac), anchor="end"))
    parts.append(_text(left, base + 16, days[0].isoformat()))
    if len(days) > 1:
        parts.append(_text(left + plot_w, base + 16, days[-1].isoformat(), anchor="end"))
    width = max(1.0, step * 0.7)
    for i, (day, value) in enumerate(zip(days, actual, strict=True)):
        x = left + i * step + (step - width) / 2
        h = base - y(value)
        parts.append(_bar(x, base - h, width, h, PALETTE[0], day.isoformat(), fmt(value)))
    centres = [
        None if v is None else (left + (i + 0.5) * step, y(v)) for i, v in enumerate(average)
    ]
    for run in _runs(centres):
        coords = " ".join(f"{_c(px)},{_c(py)}" for px, py in run)
        parts.append(
            _STEPS.format(cls="series", points=coords, stroke=PALETTE[1], extra="", name=names[1])
        )
    corners: list[tuple[float, float] | None] = []
    for i, v in enumerate(target):
        if v is None:
            corners.append(None)
        else:
            corners += [(left + i * step, y(v)), (left + (i + 1) * step, y(v))]
    for run in _runs(corners):
        coords = " ".join(f"{_c(px)},{_c(py)}" for px, py in run)
        parts.append(
            _STEPS.format(
                cls="target", points=coords, stroke=TARGET_COLOUR, extra=_DASHED, name=names[2]
            )
        )
    legend = base + 40
    parts.append(_SWATCH.format(x=_c(left), y=_c(legend - 10), w=12, h=12, fill=PALETTE[0]))
    parts.append(_text(left + 16, legend, names[0]))
    parts.append(_SWATCH.format(x=_c(left + 180), y=_c(legend - 5), w=24, h=3, fill=PALETTE[1]))
    parts.append(_text(left + 208, legend, names[1]))
    parts.append(
        _LINE.format(
            cls="key",
            x1=_c(left + 380),
            x2=_c(left + 404),
            y=_c(legend - 4),
            stroke=TARGET_COLOUR,
            extra=_DASHED,
        )
    )
    parts.append(_text(left + 410, legend, names[2]))
    parts.append(_END)
    return Markup("").join(parts)
