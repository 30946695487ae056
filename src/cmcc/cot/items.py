"""The CoT items the platform draws on TAK clients: markers, drawings, routes and deletes.

- A marker: a spot map point (`b-m-p-s-m`, coloured) or any point type given.
- A drawing (`u-d-f`): a polygon's outline or a line, one `<link point="lat,lon"/>` per vertex
  (at most MAX_VERTICES: larger shapes are simplified), stroke and fill colours.
- A route (`b-m-r`): a line as TAK routes carry it, one `<link>` per point with its own uid
  (`<route uid>-<n>`), the first and last as waypoints (`b-m-p-w`), the others as check
  points (`b-m-p-c`), and `<link_attr>` with the colour and the way of moving.
- A delete (`t-x-d-d`): clients remove the item with the uid it links to.

Colours are TAK's signed ARGB integers."""

from __future__ import annotations

import datetime as dt

import shapely
from shapely.geometry.base import BaseGeometry

from cmcc.cot.codec import make_event
from cmcc.cot.event import CotEvent

STALE_SECONDS = 3600.0
SPOT = "b-m-p-s-m"
DRAWING = "u-d-f"
ROUTE = "b-m-r"
DELETE = "t-x-d-d"
MAX_VERTICES = 500  # a drawing's or a route's points (larger shapes are simplified)
MAX_REMARKS = 500

RED, ORANGE, YELLOW, GREEN, BLUE, WHITE = (
    -65536,
    -23296,
    -256,
    -16711936,
    -16776961,
    -1,
)


def delete_event(uid: str, now: dt.datetime) -> CotEvent:
    """`t-x-d-d`: clients remove the item with this uid."""
    return make_event(
        f"cmcc-delete-{uid}",
        DELETE,
        0.0,
        0.0,
        now=now,
        stale_seconds=60.0,
        detail_children=f'<link uid="{escape(uid)}" relation="none" type="none"/><__forcedelete/>',
    )


def parts(geom: BaseGeometry) -> list[BaseGeometry]:
    if geom.geom_type.startswith("Multi") or geom.geom_type == "GeometryCollection":
        return [g for g in getattr(geom, "geoms", []) if not g.is_empty]
    return [] if geom.is_empty else [geom]


def vertices(geom: BaseGeometry) -> list[tuple[float, float]]:
    """The outline to draw (a polygon's exterior ring), at most MAX_VERTICES points."""
    line = shapely.get_exterior_ring(geom) if geom.geom_type == "Polygon" else geom
    coords = list(shapely.get_coordinates(line))
    tolerance = 1e-5
    while len(coords) > MAX_VERTICES:
        line = shapely.simplify(line, tolerance, preserve_topology=False)
        coords = list(shapely.get_coordinates(line))
        tolerance *= 2
    return [(float(x), float(y)) for x, y in coords]


def drawing(
    uid: str,
    geom: BaseGeometry,
    now: dt.datetime,
    name: str,
    remarks: str,
    colour: int,
    stale_seconds: float = STALE_SECONDS,
) -> CotEvent:
    centre = shapely.point_on_surface(geom)
    links = "".join(f'<link point="{lat!r},{lon!r}"/>' for lon, lat in vertices(geom))
    fill = (colour & 0x00FFFFFF) | 0x40000000  # the stroke colour, a quarter opaque
    fill = fill - (1 << 32) if fill >= 1 << 31 else fill
    style = (
        f'<strokeColor value="{colour}"/><strokeWeight value="3.0"/>'
        + (f'<fillColor value="{fill}"/>' if geom.geom_type == "Polygon" else "")
        + '<labels_on value="true"/>'
    )
    return make_event(
        uid,
        DRAWING,
        float(shapely.get_y(centre)),
        float(shapely.get_x(centre)),
        now=now,
        stale_seconds=stale_seconds,
        callsign=name,
        remarks=remarks,
        detail_children=links + style,
    )


def marker(
    uid: str,
    point: BaseGeometry,
    now: dt.datetime,
    name: str,
    remarks: str,
    colour: int,
    stale_seconds: float = STALE_SECONDS,
    type_: str = SPOT,
) -> CotEvent:
    return make_event(
        uid,
        type_,
        float(shapely.get_y(point)),
        float(shapely.get_x(point)),
        now=now,
        stale_seconds=stale_seconds,
        callsign=name,
        remarks=remarks,
        detail_children=f'<color argb="{colour}"/>',
    )


def route(
    uid: str,
    line: BaseGeometry,
    now: dt.datetime,
    name: str,
    remarks: str,
    colour: int,
    stale_seconds: float = STALE_SECONDS,
    method: str = "Driving",
) -> CotEvent:
    """A line as a TAK route (`b-m-r`), placed at its first point."""
    points = vertices(line)
    last = len(points) - 1
    links = "".join(
        f'<link uid="{escape(uid)}-{i}" callsign="{escape(_end_name(i, last))}" '
        f'type="{"b-m-p-w" if i in (0, last) else "b-m-p-c"}" point="{lat!r},{lon!r}" '
        'relation="c"/>'
        for i, (lon, lat) in enumerate(points)
    )
    attrs = (
        f'<link_attr color="{colour}" method="{escape(method)}" prefix="CP" direction="Infil" '
        'routetype="Primary" order="Ascending Check Points"/>'
    )
    start_lon, start_lat = points[0]
    return make_event(
        uid,
        ROUTE,
        start_lat,
        start_lon,
        now=now,
        stale_seconds=stale_seconds,
        how="h-e",
        callsign=name,
        remarks=remarks,
        detail_children=links + attrs + '<labels_on value="true"/>',
    )


def _end_name(i: int, last: int) -> str:
    return "Start" if i == 0 else "End" if i == last else ""


def clip(text: str) -> str:
    return text if len(text) <= MAX_REMARKS else text[: MAX_REMARKS - 1] + "…"


def escape(value: str) -> str:
    """Text for an XML attribute."""
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
