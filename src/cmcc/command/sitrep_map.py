"""The SITREP's map: an SVG of the Strip's reference outline and governorates (cmcc.geo.reference)
with the day's incidents and the units' locations. No tiles, no script: it prints.

Incidents (and units) are binned on a grid of a few pixels, each bin a dot (a square) that
grows with its count, and all dots are one SVG path (all squares another): WeasyPrint's time
grows with the elements it draws, so a day of 10,000 incidents costs two elements, not 10,000.
Units are named in the report's tables."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from markupsafe import Markup

from cmcc.geo import reference

WIDTH = 420.0
HEIGHT = 460.0
PAD = 12.0
CELL = 5.0  # pixels per bin of incidents and units
INCIDENT = "#b00020"
UNIT = "#1f4e79"


class Projection:
    """Equirectangular, scaled by cos(latitude), fitted to the outline's bounds."""

    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        x0, y0, x1, y1 = bounds
        self.kx = math.cos(math.radians((y0 + y1) / 2))
        self.x0, self.y1 = x0, y1
        self.scale = min((WIDTH - 2 * PAD) / ((x1 - x0) * self.kx), (HEIGHT - 2 * PAD) / (y1 - y0))
        self.bounds = bounds

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            PAD + (lon - self.x0) * self.kx * self.scale,
            PAD + (self.y1 - lat) * self.scale,
        )

    def inside(self, lon: float, lat: float) -> bool:
        x0, y0, x1, y1 = self.bounds
        return x0 <= lon <= x1 and y0 <= lat <= y1


def _rings(geometry: dict[str, Any]) -> Iterable[Sequence[Sequence[float]]]:
    if geometry["type"] == "Polygon":
        yield from geometry["coordinates"]
    elif geometry["type"] == "MultiPolygon":
        for polygon in geometry["coordinates"]:
            yield from polygon


def _bounds(features: Sequence[dict[str, Any]]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for f in features:
        for ring in _rings(f["geometry"]):
            xs.extend(p[0] for p in ring)
            ys.extend(p[1] for p in ring)
    margin = 0.01
    return min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin


def _path(ring: Sequence[Sequence[float]], proj: Projection) -> str:
    pts = [proj(p[0], p[1]) for p in ring]
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + " Z"


def _bin(
    points: Iterable[tuple[float, float]], proj: Projection
) -> tuple[Counter[tuple[int, int]], int]:
    """Points counted by grid cell of the map, and how many fall outside its frame."""
    cells: Counter[tuple[int, int]] = Counter()
    outside = 0
    for lon, lat in points:
        if not proj.inside(lon, lat):
            outside += 1
            continue
        x, y = proj(lon, lat)
        cells[(int(x // CELL), int(y // CELL))] += 1
    return cells, outside


def situation_map(
    incidents: Sequence[tuple[float, float]],
    units: Sequence[tuple[float, float, str, str]],
) -> Markup:
    """The outline, the governorates with their names, the incidents (binned) and the units."""
    features = reference.gaza()["features"]
    proj = Projection(_bounds(features))
    parts = [
        Markup(
            '<svg class="sitrep-map" id="sitrep-map" role="img" '
            'aria-labelledby="sitrep-map-title sitrep-map-desc" viewBox="0 0 {w:.0f} {h:.0f}" '
            'width="100%" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" '
            'font-size="10"><title id="sitrep-map-title">Map of the period</title>'
            '<desc id="sitrep-map-desc">The Gaza Strip and its governorates, {n} incidents of '
            "the period (red dots, larger where several fall together) and {u} unit locations "
            "(blue squares).</desc>"
        ).format(w=WIDTH, h=HEIGHT, n=len(incidents), u=len(units))
    ]
    for f in features:
        strip = f["properties"].get("key") == "gaza-strip"
        d = " ".join(_path(ring, proj) for ring in _rings(f["geometry"]))
        parts.append(
            Markup('<path d="{d}" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>').format(
                d=d,
                fill="#f2efe6" if strip else "none",
                stroke="#555555" if strip else "#999999",
                sw="1.2" if strip else "0.6",
            )
        )
        label_at = f["properties"].get("label_at")
        if not strip and label_at:
            x, y = proj(*label_at)
            parts.append(
                Markup(
                    '<text x="{x:.1f}" y="{y:.1f}" fill="#555555" text-anchor="middle">{t}</text>'
                ).format(x=x, y=y, t=f["properties"].get("name", ""))
            )
    bins, outside = _bin(incidents, proj)
    dots = []
    for (i, j), n in sorted(bins.items()):
        r = min(9.0, 1.5 + math.sqrt(n))
        x, y = (i + 0.5) * CELL - r, (j + 0.5) * CELL
        arc = f"a{r:.1f},{r:.1f} 0 1,0"
        dots.append(f"M{x:.1f},{y:.1f} {arc} {2 * r:.1f},0 {arc} {-2 * r:.1f},0")
    places, away = _bin([(u[0], u[1]) for u in units], proj)
    outside += away
    squares = []
    for (i, j), n in sorted(places.items()):
        side = min(10.0, 5.0 + math.sqrt(n))
        x, y = (i + 0.5) * CELL - side / 2, (j + 0.5) * CELL - side / 2
        squares.append(f"M{x:.1f},{y:.1f} h{side:.1f} v{side:.1f} h{-side:.1f} Z")
    layer = Markup('<path class="{cls}" d="{d}" fill="{c}" fill-opacity="{o}"/>')
    if dots:
        parts.append(layer.format(cls="incidents", d=" ".join(dots), c=INCIDENT, o="0.7"))
    if squares:
        parts.append(layer.format(cls="units", d=" ".join(squares), c=UNIT, o="0.9"))
    parts.append(
        Markup('<text x="{x:.1f}" y="{y:.1f}" fill="#555555">{t}</text>').format(
            x=PAD, y=HEIGHT - 4, t=reference.ATTRIBUTION
        )
    )
    if outside:
        parts.append(
            Markup('<text x="{x:.1f}" y="{y:.1f}" fill="#555555">{t}</text>').format(
                x=PAD, y=HEIGHT - 18, t=f"{outside} outside the map's frame"
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
