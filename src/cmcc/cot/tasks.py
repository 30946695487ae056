"""Tasks as CoT events for the tasked unit's TAK devices.

An open task reaches every device linked to its unit (`CotDevice.unit_lineage`) as an item
the client displays until the end of the task window (its stale time): a task in an area as a
drawing of the area (`u-d-f`), a task at a point as a location marker (`b-m-p-s-p-loc`), named
after the task, its remarks carrying the task, the window, the priority and the status. When
the task closes (complete, cancelled, refused by the nation) the devices get a delete. Each
device's organization must be able to read the task (the release policy), else it gets
nothing. uid: `cmcc-task-<id>`."""

from __future__ import annotations

import datetime as dt

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.access.policy import visible
from cmcc.command.domain import OPEN_TASK_STATUSES
from cmcc.command.models import UnitTask
from cmcc.command.tasking import task_area
from cmcc.core.clock import utcnow
from cmcc.core.releasability import Viewer
from cmcc.cot.devices import CotDevice
from cmcc.cot.event import CotEvent
from cmcc.cot.items import ORANGE, clip, delete_event, drawing, marker

LOCATION = "b-m-p-s-p-loc"
MIN_STALE_SECONDS = 60.0
OPEN = frozenset(s.value for s in OPEN_TASK_STATUSES)
Delivery = tuple[frozenset[str], list[CotEvent]]  # device uids, and what they get


def task_uid(task_id: int) -> str:
    return f"cmcc-task-{task_id}"


def task_events(session: Session, task: UnitTask, now: dt.datetime) -> list[CotEvent]:
    """The task as the item its unit's devices display until the window closes."""
    remarks = clip(
        f"TASK {task.title}: {task.task.replace('_', ' ')}; "
        f"{task.starts_at:%Y-%m-%d %H:%M}Z to {task.ends_at:%Y-%m-%d %H:%M}Z; "
        f"priority {task.priority}; {task.status.replace('_', ' ')}"
        + (f". {task.description}" if task.description else "")
    )
    stale = max((task.ends_at - now).total_seconds(), MIN_STALE_SECONDS)
    area = task_area(session, task)
    name = f"Task: {task.title}"
    if area is not None and area.geom_type in ("Polygon", "MultiPolygon", "LineString"):
        outline = max(getattr(area, "geoms", [area]), key=lambda g: g.area)
        return [drawing(task_uid(task.id), outline, now, name, remarks, ORANGE, stale)]
    if task.lon is not None and task.lat is not None:
        point = shapely.Point(task.lon, task.lat)
    elif area is not None:
        point = shapely.point_on_surface(area)
    else:
        return []
    return [marker(task_uid(task.id), point, now, name, remarks, ORANGE, stale, LOCATION)]


def _shown(task: UnitTask, now: dt.datetime) -> bool:
    return task.status in OPEN and task.ends_at > now


def _viewers(session: Session, org_ids: set[int]) -> dict[int, Viewer]:
    rows = session.scalars(select(Organization).where(Organization.id.in_(org_ids)))
    return {o.id: Viewer(o.id, o.code, o.is_member) for o in rows}


def deliveries(session: Session, task_id: int, now: dt.datetime | None = None) -> list[Delivery]:
    """What the devices of the task's unit get now that the task changed: the task while it is
    open and its window has not closed, a delete otherwise; per organization, through the
    release policy (a device whose organization may not read the task gets a delete, which
    reaches it only if it was shown the task)."""
    now = now or utcnow()
    task = session.get(UnitTask, task_id)
    if task is None:
        return []
    rows = session.execute(
        select(CotDevice.uid, CotDevice.org_id).where(CotDevice.unit_lineage == task.unit_lineage)
    ).all()
    by_org: dict[int, set[str]] = {}
    for uid, org_id in rows:
        by_org.setdefault(org_id, set()).add(uid)
    viewers = _viewers(session, set(by_org))
    shown = task_events(session, task, now) if _shown(task, now) else []
    gone = [delete_event(task_uid(task.id), now)]
    out: list[Delivery] = []
    for org_id, uids in by_org.items():
        readable = session.scalar(
            visible(UnitTask, viewers[org_id], UnitTask.id == task.id).with_only_columns(
                UnitTask.id
            )
        )
        out.append((frozenset(uids), shown if shown and readable is not None else gone))
    return out


def device_tasks(
    session: Session, device_uid: str, now: dt.datetime | None = None
) -> list[CotEvent]:
    """The open tasks of a device's unit, for the device when it connects."""
    now = now or utcnow()
    device = session.scalars(select(CotDevice).where(CotDevice.uid == device_uid)).first()
    if device is None or device.unit_lineage is None:
        return []
    viewer = _viewers(session, {device.org_id})[device.org_id]
    stmt = visible(
        UnitTask,
        viewer,
        UnitTask.unit_lineage == device.unit_lineage,
        UnitTask.status.in_(OPEN),
        UnitTask.ends_at > now,
    ).order_by(UnitTask.id)
    out: list[CotEvent] = []
    for task in session.scalars(stmt):
        out.extend(task_events(session, task, now))
    return out
