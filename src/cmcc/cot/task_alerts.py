"""The tasked-area alert: a unit's own position (from a device linked to the unit) outside the
area of one of its open tasks, during the task window, raises an alert of kind
`outside_tasked_area` naming the unit (the version valid at the position's time), the task,
the position (track) and the task's zone. One open alert per task: while it is open, further
positions outside the area add nothing; once it is closed, the next one raises a new alert.

Checked for a whole batch of positions at once (`cmcc.cot.bridge`): the open tasks of the
batch's units whose window meets the batch's times, their open alerts, their zones (the version
valid at each task's start) and the units' versions, each fetched in one query. A task at a
point (no area) is not checked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmcc.command.models import Unit, UnitTask, unit_lineage_col
from cmcc.core.clock import utcnow
from cmcc.cot.devices import DeviceInfo
from cmcc.cot.event import CotEvent
from cmcc.cot.tasks import OPEN
from cmcc.incidents.models import Alert
from cmcc.zones.models import Zone

ALERT_KIND = "outside_tasked_area"


class Position(NamedTuple):
    event: CotEvent
    device: DeviceInfo
    track_id: int


@dataclass(frozen=True)
class _Task:
    id: int
    unit_lineage: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    area: BaseGeometry
    zone_id: int
    zone_name: str


def outside_tasked_area(session: Session, positions: Sequence[Position]) -> list[Alert]:
    """The new alerts for the positions (added to the session, not flushed)."""
    linked = [p for p in positions if p.device.unit_lineage is not None]
    if not linked:
        return []
    lineages = {p.device.unit_lineage for p in linked}
    first = min(p.event.time for p in linked)
    last = max(p.event.time for p in linked)
    rows = session.scalars(
        select(UnitTask).where(
            UnitTask.unit_lineage.in_(lineages),
            UnitTask.status.in_(OPEN),
            UnitTask.zone_lineage.is_not(None),
            UnitTask.starts_at <= last,
            UnitTask.ends_at >= first,
        )
    ).all()
    if not rows:
        return []
    alerted = set(
        session.scalars(
            select(Alert.task_id).where(
                Alert.kind == ALERT_KIND,
                Alert.status == "open",
                Alert.task_id.in_([t.id for t in rows]),
            )
        )
    )
    rows = [r for r in rows if r.id not in alerted]
    zones = _zones(session, rows)
    tasks: dict[int, list[_Task]] = {}
    for row in rows:
        zone = version_at(zones.get(row.zone_lineage or 0, []), row.starts_at)
        if zone is None:
            continue
        area = zone.geometry
        shapely.prepare(area)
        tasks.setdefault(row.unit_lineage, []).append(
            _Task(
                row.id,
                row.unit_lineage,
                row.title,
                row.starts_at,
                row.ends_at,
                area,
                zone.id,
                zone.name,
            )
        )
    if not tasks:
        return []
    versions = unit_versions(session, set(tasks), first, last)
    alerts: list[Alert] = []
    for pos in sorted(linked, key=lambda p: p.event.time):
        ev, info = pos.event, pos.device
        for task in tasks.get(info.unit_lineage or 0, []):
            if task.id in alerted or not task.starts_at <= ev.time <= task.ends_at:
                continue
            if shapely.intersects_xy(task.area, ev.lon, ev.lat):
                continue
            unit = version_at(versions.get(task.unit_lineage, []), ev.time)
            if unit is None:
                continue
            alerted.add(task.id)
            alerts.append(_alert(pos, task, unit))
    session.add_all(alerts)
    return alerts


def _zones(session: Session, tasks: Sequence[UnitTask]) -> dict[int, list[Zone]]:
    """The versions of the tasks' zones that may be valid at their starts, in one query."""
    if not tasks:
        return {}
    lineage = func.coalesce(Zone.lineage, Zone.id)
    first = min(t.starts_at for t in tasks)
    last = max(t.starts_at for t in tasks)
    stmt = select(Zone).where(
        lineage.in_({t.zone_lineage for t in tasks}),
        Zone.valid_from <= last,
        (Zone.valid_to.is_(None)) | (Zone.valid_to > first),
    )
    out: dict[int, list[Zone]] = {}
    for zone in session.scalars(stmt):
        out.setdefault(zone.lineage if zone.lineage is not None else zone.id, []).append(zone)
    return out


def unit_versions(
    session: Session, lineages: set[int], first: dt.datetime, last: dt.datetime
) -> dict[int, list[Unit]]:
    lineage = unit_lineage_col(Unit)
    stmt = select(Unit).where(
        lineage.in_(lineages),
        Unit.valid_from <= last,
        (Unit.valid_to.is_(None)) | (Unit.valid_to > first),
    )
    out: dict[int, list[Unit]] = {}
    for unit in session.scalars(stmt):
        out.setdefault(unit.lineage_id, []).append(unit)
    return out


V = TypeVar("V", Unit, Zone)


def version_at(versions: list[V], moment: dt.datetime) -> V | None:
    for version in versions:
        if version.valid_from <= moment and (version.valid_to is None or moment < version.valid_to):
            return version
    return None


def _alert(pos: Position, task: _Task, unit: Unit) -> Alert:
    """Released to whoever may see the unit, the task, the position and the zone."""
    ev, info = pos.event, pos.device
    who = unit.short_name or unit.name
    return Alert(
        kind=ALERT_KIND,
        zone_id=task.zone_id,
        incident_id=None,
        track_id=pos.track_id,
        unit_id=unit.id,
        task_id=task.id,
        message=(
            f"{who} is outside its tasked area ({task.zone_name}) for task {task.title!r} "
            f"at {ev.time:%Y-%m-%d %H:%M:%S}Z ({ev.lat:.5f}, {ev.lon:.5f}), reported by "
            f"{ev.callsign or ev.uid}; the task runs {task.starts_at:%Y-%m-%d %H:%M}Z to "
            f"{task.ends_at:%Y-%m-%d %H:%M}Z"
        ),
        raised_at=utcnow(),
        owner_org_id=info.org_id,
    )
