"""The platform's picture as CoT events for one viewer, through the release policy.

Zones valid now become TAK drawings (`u-d-f` with one `<link point="lat,lon"/>` per vertex;
a zone that is a point becomes a `b-m-p-s-m` marker); open hazard areas a marker with remarks
plus the area as a drawing; verified incidents a marker. Every event is stale an hour after it
was built (clients drop it unless it is sent again). The queries are the release-filtered
statements the OGC collections use (`visible`), so a client never receives what its
organization may not read.

uids: `cmcc-zone-<id>` (a MultiPolygon's further parts `cmcc-zone-<id>-<n>`),
`cmcc-hazard-<id>` and `cmcc-hazard-<id>-area`, `cmcc-incident-<id>`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NamedTuple

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cmcc.access.policy import visible
from cmcc.core.clock import utcnow
from cmcc.core.releasability import Viewer
from cmcc.cot.codec import make_event
from cmcc.cot.event import CotEvent
from cmcc.hazards.domain import HazardStatus
from cmcc.hazards.models import HazardArea
from cmcc.incidents.domain import VerificationStatus
from cmcc.incidents.models import Incident
from cmcc.zones.models import Zone

STALE_SECONDS = 3600.0
SPOT = "b-m-p-s-m"
DRAWING = "u-d-f"
DELETE = "t-x-d-d"
MAX_VERTICES = 500  # a drawing's vertices (larger shapes are simplified)
MAX_REMARKS = 500

RED, ORANGE, YELLOW, GREEN, BLUE, WHITE = (
    -65536,
    -23296,
    -256,
    -16711936,
    -16776961,
    -1,
)
ZONE_COLOURS = {
    "gaza_strip": WHITE,
    "area_under_idf_control": YELLOW,
    "isf_sector": BLUE,
    "civilian_safe_zone": GREEN,
    "cleared_area": GREEN,
    "hazard_area": RED,
    "crossing": ORANGE,
    "notified_humanitarian_site": GREEN,
    "restricted_area": RED,
}


def zone_uid(zone_id: int, part: int = 0) -> str:
    return f"cmcc-zone-{zone_id}" + (f"-{part}" if part else "")


def hazard_uid(hazard_id: int, area: bool = False) -> str:
    return f"cmcc-hazard-{hazard_id}" + ("-area" if area else "")


def incident_uid(incident_id: int) -> str:
    return f"cmcc-incident-{incident_id}"


# ---- the picture --------------------------------------------------------------------------


def picture(session: Session, viewer: Viewer, *, now: dt.datetime | None = None) -> list[CotEvent]:
    """Everything a client of this viewer is shown on joining."""
    now = now or utcnow()
    out: list[CotEvent] = []
    for kind in KINDS.values():
        stmt = visible(kind.model, viewer, *kind.in_picture(now)).order_by(kind.model.id)
        for record in session.scalars(stmt):
            out.extend(kind.events(record, now))
    return out


def for_record(
    session: Session, viewer: Viewer, kind: str, record_id: int, *, now: dt.datetime | None = None
) -> list[CotEvent]:
    """The events of one changed record for this viewer: its drawing or marker while it is in
    the picture; deletes when it has left the picture (zone closed, hazard closed or handed
    over, incident no longer verified), and when the viewer may no longer read it (its marking
    narrowed). Deletes name only uids: the server sends each one only to clients that were
    shown that uid (`CotServer`), so a client never learns of a record it was not shown."""
    now = now or utcnow()
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}; use zone, hazard or incident")
    model, in_picture, make = KINDS[kind]
    record = session.scalars(visible(model, viewer, model.id == record_id)).one_or_none()
    if record is None:
        gone = session.get(model, record_id)
        return [] if gone is None else [delete_event(e.uid, now) for e in make(gone, now)]
    events = make(record, now)
    shown = session.scalar(select(model.id).where(model.id == record_id, *in_picture(now)))
    return events if shown is not None else [delete_event(e.uid, now) for e in events]


def _zone_current(now: dt.datetime) -> tuple[object, ...]:
    return (Zone.valid_from <= now, or_(Zone.valid_to.is_(None), Zone.valid_to > now))


# ---- records as events --------------------------------------------------------------------


def zone_events(zone: Zone, now: dt.datetime) -> list[CotEvent]:
    colour = ZONE_COLOURS.get(zone.kind, WHITE)
    remarks = _clip(
        f"{zone.kind.replace('_', ' ')}; valid from {zone.valid_from:%Y-%m-%d %H:%M}Z"
        + (f" to {zone.valid_to:%Y-%m-%d %H:%M}Z" if zone.valid_to else "")
        + ("; notional" if zone.notional else "")
        + f"; releasability {zone.marking_text}"
        + (f". {zone.description}" if zone.description else "")
    )
    out = []
    for n, part in enumerate(_parts(zone.geometry)):
        uid = zone_uid(zone.id, n)
        if part.geom_type == "Point":
            out.append(_marker(uid, part, now, zone.name, remarks, colour))
        else:
            out.append(_drawing(uid, part, now, zone.name, remarks, colour))
    return out


def hazard_events(hazard: HazardArea, now: dt.datetime) -> list[CotEvent]:
    name = f"{hazard.ref} {hazard.name}"
    remarks = _clip(
        f"explosive ordnance hazard ({hazard.classification.upper()}, {hazard.status}): "
        f"{hazard.device_category}"
        + (f" {hazard.device_type}" if hazard.device_type else "")
        + f", {hazard.area_m2} m2; releasability {hazard.marking_text}"
        + (f". {hazard.description}" if hazard.description else "")
    )
    geom = hazard.geometry
    marker = _marker(hazard_uid(hazard.id), shapely.point_on_surface(geom), now, name, remarks, RED)
    out = [marker]
    parts = _parts(geom)
    if parts and parts[0].geom_type != "Point":
        # the area's outline (its largest part: one drawing per hazard)
        biggest = max(parts, key=lambda p: p.area)
        out.append(_drawing(hazard_uid(hazard.id, True), biggest, now, name, remarks, RED))
    return out


def incident_events(incident: Incident, now: dt.datetime) -> list[CotEvent]:
    label = incident.type.replace("_", " ")
    remarks = _clip(
        f"{label}, verified; occurred {incident.occurred_at:%Y-%m-%d %H:%M}Z; severity "
        f"{incident.severity}; releasability {incident.marking_text}"
        + (f". {incident.narrative}" if incident.narrative else "")
    )
    point = shapely.point_on_surface(incident.geometry)
    return [_marker(incident_uid(incident.id), point, now, label, remarks, ORANGE)]


def delete_event(uid: str, now: dt.datetime) -> CotEvent:
    """`t-x-d-d`: clients remove the item with this uid."""
    return make_event(
        f"cmcc-delete-{uid}",
        DELETE,
        0.0,
        0.0,
        now=now,
        stale_seconds=60.0,
        detail_children=f'<link uid="{_safe(uid)}" relation="none" type="none"/><__forcedelete/>',
    )


# ---- helpers ------------------------------------------------------------------------------


def _parts(geom: BaseGeometry) -> list[BaseGeometry]:
    if geom.geom_type.startswith("Multi") or geom.geom_type == "GeometryCollection":
        return [g for g in getattr(geom, "geoms", []) if not g.is_empty]
    return [] if geom.is_empty else [geom]


def _vertices(geom: BaseGeometry) -> list[tuple[float, float]]:
    """The outline to draw (a polygon's exterior ring), at most MAX_VERTICES points."""
    line = shapely.get_exterior_ring(geom) if geom.geom_type == "Polygon" else geom
    coords = list(shapely.get_coordinates(line))
    tolerance = 1e-5
    while len(coords) > MAX_VERTICES:
        line = shapely.simplify(line, tolerance, preserve_topology=False)
        coords = list(shapely.get_coordinates(line))
        tolerance *= 2
    return [(float(x), float(y)) for x, y in coords]


def _drawing(
    uid: str,
    geom: BaseGeometry,
    now: dt.datetime,
    name: str,
    remarks: str,
    colour: int,
    stale_seconds: float = STALE_SECONDS,
) -> CotEvent:
    centre = shapely.point_on_surface(geom)
    links = "".join(f'<link point="{lat!r},{lon!r}"/>' for lon, lat in _vertices(geom))
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


def _marker(
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


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REMARKS else text[: MAX_REMARKS - 1] + "…"


def _safe(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


class _Kind(NamedTuple):
    model: Any
    in_picture: Callable[[dt.datetime], tuple[Any, ...]]  # SQL conditions: shown at `now`
    events: Callable[[Any, dt.datetime], list[CotEvent]]


KINDS: dict[str, _Kind] = {
    "zone": _Kind(Zone, _zone_current, zone_events),
    "hazard": _Kind(
        HazardArea, lambda _now: (HazardArea.status == HazardStatus.OPEN.value,), hazard_events
    ),
    "incident": _Kind(
        Incident,
        lambda _now: (Incident.status == VerificationStatus.VERIFIED.value,),
        incident_events,
    ),
}
