"""The platform's picture as CoT events for one viewer, through the release policy.

Zones valid now become TAK drawings (`u-d-f` with one `<link point="lat,lon"/>` per vertex;
a zone that is a point becomes a `b-m-p-s-m` marker); open hazard areas a marker with remarks
plus the area as a drawing; verified incidents a marker; notified humanitarian sites and
movements a protected marker and a route (`cmcc.cot.notified`). Every event is stale an hour
after it was built (a notification's at the end of its window, if sooner): the gateway sends
each client its picture again every half hour, the changed records as they change, and the
records whose validity began or ended by the clock (`window_edges`). The queries are the
release-filtered statements the OGC collections use (`visible`), so a client never receives
what its organization may not read.

uids: `cmcc-zone-<id>` (a MultiPolygon's further parts `cmcc-zone-<id>-<n>`),
`cmcc-hazard-<id>` and `cmcc-hazard-<id>-area`, `cmcc-incident-<id>`,
`cmcc-notified-site-<id>`, `cmcc-notified-movement-<id>`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NamedTuple

import shapely
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cmcc.access.policy import visible
from cmcc.core.clock import utcnow
from cmcc.core.releasability import Viewer
from cmcc.cot import notified
from cmcc.cot.event import CotEvent
from cmcc.cot.items import (
    BLUE,
    GREEN,
    ORANGE,
    RED,
    WHITE,
    YELLOW,
    clip,
    delete_event,
    drawing,
    marker,
    parts,
)
from cmcc.hazards.domain import HazardStatus
from cmcc.hazards.models import HazardArea
from cmcc.humanitarian.models import Notification
from cmcc.incidents.domain import VerificationStatus
from cmcc.incidents.models import Incident
from cmcc.zones.models import Zone

ZONE_COLOURS = {
    "gaza_strip": WHITE,
    "area_under_idf_control": YELLOW,
    "isf_sector": BLUE,
    "civilian_safe_zone": GREEN,
    "cleared_area": GREEN,
    "hazard_area": RED,
    "crossing": ORANGE,
    "notified_humanitarian_site": GREEN,
    "notified_movement": GREEN,
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
    over, incident no longer verified, notification completed, withdrawn or replaced), and
    when the viewer may no longer read it (its marking narrowed). Deletes name only uids: the
    server sends each one only to clients that were shown that uid (`CotServer`), so a client
    never learns of a record it was not shown."""
    now = now or utcnow()
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}; use one of {', '.join(KINDS)}")
    model, in_picture, make = KINDS[kind].model, KINDS[kind].in_picture, KINDS[kind].events
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
    remarks = clip(
        f"{zone.kind.replace('_', ' ')}; valid from {zone.valid_from:%Y-%m-%d %H:%M}Z"
        + (f" to {zone.valid_to:%Y-%m-%d %H:%M}Z" if zone.valid_to else "")
        + ("; notional" if zone.notional else "")
        + f"; releasability {zone.marking_text}"
        + (f". {zone.description}" if zone.description else "")
    )
    out = []
    for n, part in enumerate(parts(zone.geometry)):
        uid = zone_uid(zone.id, n)
        if part.geom_type == "Point":
            out.append(marker(uid, part, now, zone.name, remarks, colour))
        else:
            out.append(drawing(uid, part, now, zone.name, remarks, colour))
    return out


def hazard_events(hazard: HazardArea, now: dt.datetime) -> list[CotEvent]:
    name = f"{hazard.ref} {hazard.name}"
    remarks = clip(
        f"explosive ordnance hazard ({hazard.classification.upper()}, {hazard.status}): "
        f"{hazard.device_category}"
        + (f" {hazard.device_type}" if hazard.device_type else "")
        + f", {hazard.area_m2} m2; releasability {hazard.marking_text}"
        + (f". {hazard.description}" if hazard.description else "")
    )
    geom = hazard.geometry
    point = shapely.point_on_surface(geom)
    out = [marker(hazard_uid(hazard.id), point, now, name, remarks, RED)]
    pieces = parts(geom)
    if pieces and pieces[0].geom_type != "Point":
        # the area's outline (its largest part: one drawing per hazard)
        biggest = max(pieces, key=lambda p: p.area)
        out.append(drawing(hazard_uid(hazard.id, True), biggest, now, name, remarks, RED))
    return out


def incident_events(incident: Incident, now: dt.datetime) -> list[CotEvent]:
    label = incident.type.replace("_", " ")
    remarks = clip(
        f"{label}, verified; occurred {incident.occurred_at:%Y-%m-%d %H:%M}Z; severity "
        f"{incident.severity}; releasability {incident.marking_text}"
        + (f". {incident.narrative}" if incident.narrative else "")
    )
    point = shapely.point_on_surface(incident.geometry)
    return [marker(incident_uid(incident.id), point, now, label, remarks, ORANGE)]


class _Kind(NamedTuple):
    model: Any
    in_picture: Callable[[dt.datetime], tuple[Any, ...]]  # SQL conditions: shown at `now`
    events: Callable[[Any, dt.datetime], list[CotEvent]]
    # The columns whose moments make a record enter or leave the picture by the clock alone
    # (a zone's validity, a movement's window): the gateway watches them pass.
    edges: Callable[[], tuple[Any, ...]] = tuple


def window_edges(session: Session, since: dt.datetime, until: dt.datetime) -> list[tuple[str, int]]:
    """The records that entered or left the picture by the clock in (since, until]."""
    out: list[tuple[str, int]] = []
    for name, kind in KINDS.items():
        moments = kind.edges()
        if not moments:
            continue
        hit = or_(*(and_(col > since, col <= until) for col in moments))
        out.extend((name, int(i)) for i in session.scalars(select(kind.model.id).where(hit)))
    return out


KINDS: dict[str, _Kind] = {
    "zone": _Kind(Zone, _zone_current, zone_events, lambda: (Zone.valid_from, Zone.valid_to)),
    "hazard": _Kind(
        HazardArea, lambda _now: (HazardArea.status == HazardStatus.OPEN.value,), hazard_events
    ),
    "incident": _Kind(
        Incident,
        lambda _now: (Incident.status == VerificationStatus.VERIFIED.value,),
        incident_events,
    ),
    "notification": _Kind(
        Notification, notified.in_picture, notified.notification_events, notified.edges
    ),
}
