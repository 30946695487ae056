"""The alert "a unit's track conflicts with an active movement": a unit's own position (from a
device linked to an ORBAT unit or to a pledge) inside the protective zone of a notified
humanitarian movement (a zone of kind `notified_movement`, derived from the notification and
valid during its window; closed when the movement is completed, withdrawn or replaced) raises
an alert of kind `track_in_movement`.

At most one alert per unit and movement, whatever became of the first (acknowledged or
closed): the key is the movement's lineage (the zone's `derived_from`, the same for every
version) and the unit's lineage (or, for a device linked to a pledge only, the device uid).

Released like the other track alerts: to whoever may see its zone (which carries the
notification's marking) and its track (the device's marking), and the unit when the alert names
it (`cmcc.incidents.models.Alert`). The batch's positions go through the geofence in one call,
restricted to the movements' zones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.command.models import Unit, unit_lineage_col
from cmcc.core.clock import utcnow
from cmcc.cot.task_alerts import Position, unit_versions, version_at
from cmcc.cot.tracks import Track
from cmcc.geo.geofence import GeofenceEngine
from cmcc.incidents.models import Alert
from cmcc.zones.domain import ZoneKind, zone_title
from cmcc.zones.models import Zone

ALERT_KIND = "track_in_movement"
KINDS = (ZoneKind.NOTIFIED_MOVEMENT.value,)

Key = tuple[str, str]  # (movement: the zone's derived_from, "unit:<lineage>" | "device:<uid>")


class _Zone(NamedTuple):
    id: int
    name: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    movement: str  # derived_from: the notification's lineage, e.g. humanitarian_notifications:7


def _who(pos: Position) -> str:
    lineage = pos.device.unit_lineage
    return f"unit:{lineage}" if lineage is not None else f"device:{pos.device.uid}"


def track_in_movement(
    session: Session, fence: GeofenceEngine, positions: Sequence[Position]
) -> list[Alert]:
    """The new alerts for the positions (added to the session, not flushed)."""
    units = [p for p in positions if p.device.unit_lineage or p.device.pledge_id]
    if not units:
        return []
    lons = np.fromiter((p.event.lon for p in units), dtype=np.float64, count=len(units))
    lats = np.fromiter((p.event.lat for p in units), dtype=np.float64, count=len(units))
    points, zone_ids = fence.check_many(lons, lats, kinds=KINDS)
    if not len(points):
        return []
    zones = _zones(session, set(zone_ids.tolist()))
    alerted = _alerted(session, {z.movement for z in zones.values()})
    first = min(p.event.time for p in units)
    last = max(p.event.time for p in units)
    lineages = {p.device.unit_lineage for p in units if p.device.unit_lineage is not None}
    versions = unit_versions(session, lineages, first, last) if lineages else {}
    alerts: list[Alert] = []
    for i, zone_id in sorted(zip(points.tolist(), zone_ids.tolist(), strict=True)):
        pos, zone = units[i], zones.get(zone_id)
        if zone is None or not _valid(zone, pos.event.time):
            continue
        key = (zone.movement, _who(pos))
        if key in alerted:
            continue
        lineage = pos.device.unit_lineage
        unit = version_at(versions.get(lineage, []), pos.event.time) if lineage else None
        if lineage is not None and unit is None:
            continue  # the unit did not exist then
        alerted.add(key)
        alerts.append(_alert(pos, zone, unit))
    session.add_all(alerts)
    return alerts


def _zones(session: Session, ids: set[int]) -> dict[int, _Zone]:
    stmt = select(Zone.id, Zone.name, Zone.valid_from, Zone.valid_to, Zone.derived_from).where(
        Zone.id.in_(ids)
    )
    return {
        row.id: _Zone(row.id, row.name, row.valid_from, row.valid_to, row.derived_from or "")
        for row in session.execute(stmt)
    }


def _alerted(session: Session, movements: set[str]) -> set[Key]:
    """The (movement, unit or device) pairs already alerted, whatever their alert's status."""
    stmt = (
        select(Zone.derived_from, unit_lineage_col(Unit), Track.uid)
        .select_from(Alert)
        .join(Zone, Zone.id == Alert.zone_id)
        .join(Track, Track.id == Alert.track_id)
        .outerjoin(Unit, Unit.id == Alert.unit_id)
        .where(Alert.kind == ALERT_KIND, Zone.derived_from.in_(movements))
    )
    return {
        (movement or "", f"unit:{lineage}" if lineage is not None else f"device:{uid}")
        for movement, lineage, uid in session.execute(stmt)
    }


def _valid(zone: _Zone, moment: dt.datetime) -> bool:
    return zone.valid_from <= moment and (zone.valid_to is None or moment < zone.valid_to)


def _alert(pos: Position, zone: _Zone, unit: Unit | None) -> Alert:
    ev, info = pos.event, pos.device
    reporter = ev.callsign or ev.uid
    if unit is None:
        who = f"{info.org_code} {reporter}"
    else:
        who = unit.name + (f" ({unit.short_name})" if unit.short_name else "")
    window = f"{zone.valid_from:%Y-%m-%d %H:%M}Z" + (
        f" to {zone.valid_to:%Y-%m-%d %H:%M}Z" if zone.valid_to else ""
    )
    return Alert(
        kind=ALERT_KIND,
        zone_id=zone.id,
        incident_id=None,
        track_id=pos.track_id,
        unit_id=unit.id if unit is not None else None,
        message=(
            f"{who} is inside the {zone_title(ZoneKind.NOTIFIED_MOVEMENT.value, zone.name)} "
            f"during its window ({window}) at {ev.time:%Y-%m-%d %H:%M:%S}Z "
            f"({ev.lat:.5f}, {ev.lon:.5f}), reported by {reporter}: deconflict with the "
            "movement"
        ),
        raised_at=utcnow(),
        owner_org_id=info.org_id,
    )
