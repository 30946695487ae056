"""The one GeoJSON geometry parser: RFC 7946 rules, validity, and the mission's area of interest.

Every geometry that enters the platform (API bodies, imports, scenarios) goes through
`parse_geometry`, which refuses with a reason that names the field: unknown or empty types,
malformed coordinates, longitude/latitude out of range, invalid rings (self-intersections),
and - unless the caller sets the explicit flag - geometries outside the area of interest,
with a special message when latitude and longitude look swapped.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from cmcc.core.errors import InvalidInput

BBox = tuple[float, float, float, float]
TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)
AREA_TYPES = frozenset({"Polygon", "MultiPolygon"})


def _fail(field: str, message: str) -> InvalidInput:
    return InvalidInput.field(field, message)


def parse_geometry(
    value: Any,
    *,
    field: str,
    aoi: BBox,
    outside_aoi: bool = False,
    areas_only: bool = False,
) -> BaseGeometry:
    """A valid 2-D shapely geometry in lon/lat, polygons oriented by the right-hand rule."""
    if not isinstance(value, dict) or "type" not in value:
        raise _fail(field, "not a GeoJSON geometry object (needs 'type' and 'coordinates')")
    kind = value.get("type")
    allowed = AREA_TYPES if areas_only else TYPES
    if kind not in allowed:
        raise _fail(
            field, f"geometry type {kind!r} is not accepted; use {', '.join(sorted(allowed))}"
        )
    try:
        geom = shape(value)
    except (ValueError, TypeError, IndexError, AttributeError, shapely.errors.GEOSException) as exc:
        raise _fail(field, f"malformed coordinates: {exc}") from None
    if geom.is_empty:
        raise _fail(field, "the geometry is empty")
    geom = shapely.force_2d(geom)
    coords = shapely.get_coordinates(geom)
    if not len(coords):
        raise _fail(field, "the geometry has no coordinates")
    lons, lats = coords[:, 0], coords[:, 1]
    if not (((lons >= -180) & (lons <= 180)).all() and ((lats >= -90) & (lats <= 90)).all()):
        raise _fail(
            field,
            "coordinates out of range: longitude must be -180..180, latitude -90..90 "
            "(GeoJSON order is [longitude, latitude])",
        )
    if not shapely.is_valid(geom):
        raise _fail(field, f"invalid geometry: {shapely.is_valid_reason(geom)}")
    if kind in AREA_TYPES:
        geom = shapely.orient_polygons(geom)
    area = box(*aoi)
    if not geom.intersects(area) and not outside_aoi:
        swapped = shapely.transform(geom, lambda xy: xy[:, ::-1])
        if swapped.intersects(area):
            raise _fail(
                field,
                "the coordinates look swapped: GeoJSON order is "
                "[longitude, latitude], not [latitude, longitude]",
            )
        raise _fail(
            field,
            "the geometry lies outside the mission's area of interest "
            f"{list(aoi)}; set outside_aoi to true to accept it",
        )
    return geom


def to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    out: dict[str, Any] = shapely.geometry.mapping(geom)
    return out


def parse_bbox(text: str, *, field: str) -> BBox:
    """`minx,miny,maxx,maxy` in lon/lat."""
    parts = text.split(",")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise _fail(
            field,
            "bbox needs four numbers: min longitude, min latitude, max longitude, max latitude",
        ) from None
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _fail(
            field,
            "bbox out of range or reversed: expected minx<=maxx in -180..180 and "
            "miny<=maxy in -90..90",
        )
    return minx, miny, maxx, maxy
