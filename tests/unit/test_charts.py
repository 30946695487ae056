"""The server-side SVG charts: escaped labels, proportional bars, a "No data" frame, the same
markup on every run."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree
from shapely.geometry import LineString, Polygon, box

from cmcc.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> etree._Element:
    return etree.fromstring(str(markup).encode())


def bar_widths(markup: str) -> list[float]:
    return [
        float(r.get("width")) for r in parse(markup).iter(f"{SVG}rect") if r.get("class") == "bar"
    ]


def test_labels_and_titles_are_escaped() -> None:
    evil = '<script>alert("x")</script> & "quotes"'
    markup = charts.hbar("c1", evil, evil, [(evil, 3)])
    assert "<script>" not in markup
    root = parse(markup)  # well-formed XML despite the label
    assert root.find(f"{SVG}title").text == evil
    assert root.find(f"{SVG}desc").text == evil
    assert evil in [t.text for t in root.iter(f"{SVG}text")]
    grouped = charts.grouped_bars("c2", "t", "d", [evil], [(evil, [1.0])])
    assert "<script>" not in grouped and evil in [t.text for t in parse(grouped).iter(f"{SVG}text")]
    line = charts.line_chart(
        "c3", "t", "d", [(evil, [(dt.date(2026, 1, 1), 1)])], targets=[(evil, 2)]
    )
    assert "<script>" not in line
    parse(line)


def test_chart_is_accessible_image() -> None:
    root = parse(charts.hbar("funnel", "Funnel", "States per step", [("a", 1)]))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "funnel-title funnel-desc"
    assert root.find(f"{SVG}title").get("id") == "funnel-title"
    assert root.find(f"{SVG}desc").get("id") == "funnel-desc"


def test_bar_lengths_are_proportional_to_values() -> None:
    widths = bar_widths(charts.hbar("c", "t", "d", [("a", 10), ("b", 5), ("c", 0), ("d", 2.5)]))
    assert widths[0] > 0
    assert [w / widths[0] for w in widths] == pytest.approx([1.0, 0.5, 0.0, 0.25], abs=0.001)


def test_long_labels_stand_above_their_bars() -> None:
    long = "PSE-RRP-2025 phase 3: reconstruction (the rest of the five years)"
    markup = charts.hbar("c", "t", "d", [(long, 30.0), ("short", 15.0)])
    root = parse(markup)
    label = next(t for t in root.iter(f"{SVG}text") if t.text == long)
    assert label.get("text-anchor") == "start" and float(label.get("x")) >= 0
    widths = bar_widths(markup)
    assert widths[1] / widths[0] == pytest.approx(0.5, abs=0.001)


def test_grouped_bars_share_one_scale() -> None:
    markup = charts.grouped_bars(
        "g", "t", "d", ["P1", "P2"], [("Pledged", [100.0, 40.0]), ("Paid", [25.0, 0.0])]
    )
    widths = bar_widths(markup)  # P1 pledged, P1 paid, P2 pledged, P2 paid
    assert [w / widths[0] for w in widths] == pytest.approx([1.0, 0.25, 0.4, 0.0], abs=0.001)
    values = [
        r.get("data-value") for r in parse(markup).iter(f"{SVG}rect") if r.get("class") == "bar"
    ]
    assert values == ["100", "25", "40", "0"]


def test_line_chart_draws_series_and_target_lines() -> None:
    day = dt.date(2026, 1, 1)
    markup = charts.line_chart(
        "p",
        "t",
        "d",
        [("Committed", [(day, 0), (day + dt.timedelta(days=10), 100)])],
        targets=[("Initial operating capability", 200), ("Full", 400)],
    )
    root = parse(markup)
    (line,) = list(root.iter(f"{SVG}polyline"))
    (x0, y0), (x1, y1) = [tuple(map(float, pt.split(","))) for pt in line.get("points").split()]
    assert x1 > x0 and y1 < y0  # later is further right, more is higher up
    targets = [t for t in root.iter(f"{SVG}line") if t.get("class") == "target"]
    assert len(targets) == 2
    y200, y400 = (float(t.get("y1")) for t in targets)
    base = y0  # value 0
    assert (base - y400) / (base - y200) == pytest.approx(
        2.0, abs=0.01
    )  # the 400 line twice as high as 200
    assert (base - y1) / (base - y200) == pytest.approx(
        0.5, abs=0.01
    )  # the series' 100 half of the 200 line


def test_empty_data_says_no_data() -> None:
    for markup in (
        charts.hbar("e1", "Empty", "", []),
        charts.grouped_bars("e2", "Empty", "", [], []),
        charts.grouped_bars("e3", "Empty", "", ["P1"], [("Paid", [0])]),
        charts.line_chart("e4", "Empty", "", [("Paid", [])]),
    ):
        root = parse(markup)
        assert root.get("role") == "img"
        assert [t.text for t in root.iter(f"{SVG}text")] == ["No data"]


def test_output_is_deterministic() -> None:
    def draw() -> str:
        return str(
            charts.line_chart(
                "x", "t", "d", [("a", [(dt.date(2026, 1, 1), 1 / 3), (dt.date(2026, 2, 1), 2 / 3)])]
            )
            + charts.hbar("y", "t", "d", [("a", 1 / 7)])
        )

    assert draw() == draw()
    assert "0.3333" not in draw()  # coordinates and figures are rounded


def test_axis_top_is_a_round_number() -> None:
    assert charts.nice_top(10_000) == 10_000
    assert charts.nice_top(10_105) == 12_000
    assert charts.nice_top(8215) == 10_000
    assert charts.nice_top(121.7) == 150
    assert charts.nice_top(0.45) == pytest.approx(0.5)
    assert charts.nice_top(0) == 1.0


def test_plain_numbers() -> None:
    assert charts.plain(12000) == "12,000"
    assert charts.plain(2.25) == "2.2"
    assert charts.plain(3.0) == "3"


CHAR_W = 7.2  # a generous width of one character at the charts' 12 px sans-serif


def _text_boxes(root: etree._Element) -> list[tuple[str, Polygon]]:
    """Each <text> as the box it covers (its width estimated from its characters)."""
    out = []
    for t in root.iter(f"{SVG}text"):
        x, y, w = float(t.get("x")), float(t.get("y")), len(t.text or "") * CHAR_W
        x0 = {"start": x, "middle": x - w / 2, "end": x - w}[t.get("text-anchor") or "start"]
        out.append((t.text or "", box(x0, y - 10, x0 + w, y + 3)))
    return out


def _lines(root: etree._Element) -> list[LineString]:
    out = []
    for p in root.iter(f"{SVG}polyline"):
        pts = [tuple(map(float, pt.split(","))) for pt in p.get("points").split()]
        out.append(LineString(pts) if len(pts) > 1 else LineString(pts * 2))
    for ln in root.iter(f"{SVG}line"):
        ends = [
            (float(ln.get("x1")), float(ln.get("y1"))),
            (float(ln.get("x2")), float(ln.get("y2"))),
        ]
        out.append(LineString(ends))
    return out


def test_line_chart_labels_overlap_no_line_and_no_other_label() -> None:
    """The projection's case: targets close together, series that rise through them."""
    day = dt.date(2026, 1, 1)
    series = [
        ("Committed", [(day + dt.timedelta(days=30 * i), 900 * i) for i in range(13)]),
        ("Pledged (all)", [(day + dt.timedelta(days=30 * i), 1100 * i) for i in range(13)]),
    ]
    targets = [
        ("early 2026, due 2026-03-31", 5000),
        ("mid 2026, due 2026-06-30", 5400),
        ("end 2026, due 2026-12-31", 10000),
    ]
    root = parse(charts.line_chart("p", "t", "d", series, targets=targets))
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    texts, lines = _text_boxes(root), _lines(root)
    names = " ".join(t for t, _ in texts)
    for name, _ in targets:
        assert name in names  # every target is named
    for text, area in texts:
        assert area.bounds[0] >= 0 and area.bounds[2] <= width and area.bounds[3] <= height, text
        for line in lines:
            assert not area.intersects(line), f"{text!r} overlaps a line"
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1 :]:
            assert not box_a.intersects(box_b), f"{a!r} overlaps {b!r}"


def test_daily_chart_bars_average_and_target_steps() -> None:
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(4)]
    markup = charts.daily_chart(
        "flow",
        "Trucks <per day>",
        "d",
        days,
        [100, 0, 50, 200],
        [100.0, None, 75.0, 116.7],
        [None, 150, 150, 200],
    )
    assert markup == charts.daily_chart(
        "flow",
        "Trucks <per day>",
        "d",
        days,
        [100, 0, 50, 200],
        [100.0, None, 75.0, 116.7],
        [None, 150, 150, 200],
    )  # the same markup on every run
    root = parse(markup)
    assert root.find(f"{SVG}title").text == "Trucks <per day>"
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert [b.find(f"{SVG}title").text for b in bars] == [
        "2026-03-01: 100",
        "2026-03-02: 0",
        "2026-03-03: 50",
        "2026-03-04: 200",
    ]
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == 0 and heights[0] / heights[3] == pytest.approx(0.5, abs=0.01)
    lines = {p.get("class"): p for p in root.iter(f"{SVG}polyline")}
    averages = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == "series"]
    assert len(averages) == 2  # cut where a day has no average
    target = lines["target"]
    points = [tuple(map(float, p.split(","))) for p in target.get("points").split()]
    assert len(points) == 6  # two corners per day with a target, none before the first
    assert points[0][1] == points[3][1] > points[4][1]  # a step up on the fourth day
    assert charts.daily_chart("e", "t", "d", [], [], [], []).count("No data") == 1
