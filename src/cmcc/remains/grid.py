"""Cutting an area into a grid of square search sectors. Pure geometry (shapely), no database.

The grid is laid out in degrees from the area's bounding box, with the side of a sector in
degrees taken at the box's middle latitude (a local equirectangular projection): across the
Gaza Strip (40 km north to south) a sector stays square to within 0.5 %. Rows are lettered
from the north (A, B, ... Z, AA, AB ...), columns numbered from the west (01, 02 ...); a label
names the same cell whatever the clipping, so `A-03` is missing when that cell lies outside
the area. Each sector is its cell clipped to the area; cells that only touch the area's
boundary give no sector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from cmcc.core.errors import InvalidInput
from cmcc.geo.measure import EARTH_RADIUS_M
from cmcc.remains.domain import MAX_SECTORS, sector_label

M_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
ROUNDING = 1e-9  # relative: a box exactly N sectors wide is N sectors, not N + a sliver


@dataclass(frozen=True)
class Sector:
    label: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class Grid:
    rows: int
    columns: int
    sectors: list[Sector]


def area_m2(geom: BaseGeometry, lat0: float) -> float:
    return float(geom.area) * M_PER_DEGREE**2 * math.cos(math.radians(lat0))


def _too_many(size_m: int, about: float) -> InvalidInput:
    at_least = min(1000, int(math.ceil(size_m * math.sqrt(about / MAX_SECTORS) / 10) * 10))
    return InvalidInput.field(
        "body.size_m",
        f"cutting this area into {size_m} m sectors gives more than {MAX_SECTORS:,} sectors "
        f"(about {int(about):,}); the most one grid may have is {MAX_SECTORS:,}: choose "
        f"sectors of at least {at_least} m, or cut a smaller area",
    )


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    if not parts:
        return None
    out: BaseGeometry = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    return shapely.orient_polygons(out)


def cut(area: BaseGeometry, size_m: int) -> Grid:
    """The sectors of `area` (lon/lat Polygon or MultiPolygon), or InvalidInput naming
    `body.size_m` when there would be more than MAX_SECTORS."""
    minx, miny, maxx, maxy = area.bounds
    lat0 = (miny + maxy) / 2
    dlat = size_m / M_PER_DEGREE
    dlon = dlat / math.cos(math.radians(lat0))
    about = area_m2(area, lat0) / size_m**2
    if about > MAX_SECTORS:  # every sector is at most one cell: there are at least this many
        raise _too_many(size_m, about)
    rows = max(1, math.ceil((maxy - miny) / dlat - ROUNDING))
    columns = max(1, math.ceil((maxx - minx) / dlon - ROUNDING))
    min_piece = dlat * dlon * ROUNDING
    shapely.prepare(area)
    sectors: list[Sector] = []
    for row in range(rows):
        top = maxy - row * dlat
        band = shapely.intersection(area, box(minx, top - dlat, maxx, top))
        if band.is_empty or band.area <= min_piece:
            continue
        first = max(0, int((band.bounds[0] - minx) / dlon))
        last = min(columns - 1, int((band.bounds[2] - minx) / dlon))
        cols = np.arange(first, last + 1)
        bottoms, tops = np.full(len(cols), top - dlat), np.full(len(cols), top)
        cells = shapely.box(minx + cols * dlon, bottoms, minx + (cols + 1) * dlon, tops)
        pieces = shapely.intersection(cells, band)
        for col, piece in zip(cols.tolist(), pieces.tolist(), strict=True):
            if piece.is_empty or piece.area <= min_piece:
                continue
            shape = _polygonal(piece)
            if shape is not None:
                sectors.append(Sector(sector_label(row, col), shape))
        if len(sectors) > MAX_SECTORS:
            raise _too_many(size_m, max(about, len(sectors) * rows / (row + 1)))
    return Grid(rows, columns, sectors)
