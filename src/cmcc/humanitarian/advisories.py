"""Deconfliction advisories: each notified site or route against the picture.

A notification is checked when it is submitted or changed (`refresh_notification`), and
again whenever the picture changes during its validity (`on_picture_change`, called in the
writer's transaction through `cmcc.core.changes`): a restricted area or an area under IDF
control, an open explosive hazard, a verified incident within `incident_m` and
`incident_days`, its crossing's status during the window, and the force's open tasks in the
same area and window. Only what changed is written (each insert and delete audited).

The check runs over every record, whoever owns it: an advisory is a fact about the notified
site or route. Who reads it is another matter (`for_viewer`): the advisory is released with
its notification, and the record it is about is named only to a caller who may see that
record; the others learn how many advisories of each kind they may not read, so that they ask
the centre. A task that overlaps an active movement also raises an alert (released to whoever
may see both the task and the movement)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, and_, delete, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from cmcc.access.policy import release_filter
from cmcc.audit.service import record_entries
from cmcc.command.domain import OPEN_TASK_STATUSES
from cmcc.command.models import UnitTask
from cmcc.core.changes import PictureChange
from cmcc.core.clock import utcnow
from cmcc.core.events import EventBus
from cmcc.core.releasability import Viewer
from cmcc.core.uow import after_commit
from cmcc.geo.backend import backend_for
from cmcc.geo.measure import degrees_around, to_local_metres
from cmcc.hazards.domain import HazardStatus
from cmcc.hazards.models import HazardArea
from cmcc.humanitarian import crossings
from cmcc.humanitarian.domain import (
    ACTIVE_STATUSES,
    ADVISORY_LABELS,
    AdvisoryKind,
    CrossingStatus,
    NotificationKind,
)
from cmcc.humanitarian.models import (
    Advisory,
    Crossing,
    CrossingStatusChange,
    Notification,
)
from cmcc.humanitarian.rules import Rules
from cmcc.incidents.domain import VerificationStatus, type_label
from cmcc.incidents.models import Alert, Incident
from cmcc.zones.domain import ZoneKind, zone_title
from cmcc.zones.models import Zone

ZONE_KINDS = frozenset(
    {ZoneKind.RESTRICTED_AREA, ZoneKind.AREA_UNDER_IDF_CONTROL, ZoneKind.HAZARD_AREA}
)
MAX_BUFFER_M = 5000.0  # the largest buffer a notification may set (schemas.NotificationContent)
COLUMNS: dict[AdvisoryKind, str] = {
    AdvisoryKind.RESTRICTED_AREA: "zone_id",
    AdvisoryKind.EXPLOSIVE_HAZARD: "hazard_id",
    AdvisoryKind.INCIDENT: "incident_id",
    AdvisoryKind.FORCE_TASK: "task_id",
    AdvisoryKind.CROSSING: "crossing_status_id",
}
EVERY_MARKING = Viewer(None, None, True, sees_all=True)  # the checks see every record
_ACTIVE = [s.value for s in ACTIVE_STATUSES]
_OPEN_TASKS = [s.value for s in OPEN_TASK_STATUSES]


@dataclass
class _Config:
    rules: Rules | None = None
    bus: EventBus | None = None


_CONFIG = _Config()


def configure(rules: Rules, bus: EventBus | None) -> None:
    """The rules (and the bus for alerts) the picture-change listener applies (bootstrap)."""
    _CONFIG.rules, _CONFIG.bus = rules, bus


def configured_rules() -> Rules | None:
    """The rules `configure` was given (None before bootstrap), for writers that have no
    settings at hand, such as the scenario loader."""
    return _CONFIG.rules


Key = tuple[int, str, int]  # notification id, advisory kind, source record id


# ---- geometry ----------------------------------------------------------------------------


def _distances(origin: BaseGeometry, shapes: Any) -> Any:
    """Metres from `origin` to each shape (0 where they touch)."""
    c = origin.centroid
    here = to_local_metres(origin, c.x, c.y)
    shapely.prepare(here)
    return shapely.distance(here, to_local_metres(shapes, c.x, c.y))


def _reach(geom: BaseGeometry, metres: float) -> tuple[float, float, float, float]:
    """The bounding box of `geom` widened by `metres`."""
    minx, miny, maxx, maxy = geom.bounds
    dlon, dlat = degrees_around(max(abs(miny), abs(maxy)), metres)
    return (minx - dlon, miny - dlat, maxx + dlon, maxy + dlat)


def _overlaps(start_col: Any, end_col: Any, start: dt.datetime, end: dt.datetime | None) -> Any:
    """[start_col, end_col) (end NULL: open) meets [start, end)."""
    clauses = [or_(end_col.is_(None), end_col > start)]
    if end is not None:
        clauses.append(start_col < end)
    return and_(*clauses)


# ---- one notification against the picture -----------------------------------------------


def _near(
    session: Session, model: Any, n: Notification, metres: float, *where: Any
) -> dict[int, float]:
    """Rows of a spatial model within `metres` of the notification: id -> distance."""
    spatial = backend_for(session.get_bind())
    geom = n.geometry
    rows = session.execute(
        select(model.id, model.geom_wkb).where(
            spatial.bbox_filter(model, _reach(geom, metres)), *where
        )
    ).all()
    if not rows:
        return {}
    d = _distances(geom, shapely.from_wkb([r[1] for r in rows]))
    return {int(r[0]): float(x) for r, x in zip(rows, d, strict=True) if x <= metres}


def _task_geometries(
    session: Session, tasks: list[UnitTask]
) -> list[tuple[UnitTask, BaseGeometry]]:
    """Each task's area (the version of its zone valid when it starts, as
    `cmcc.command.areas.zone_at` finds it) or its point; the zones of all the tasks in one
    query, not one each. A task with neither is left out."""
    lineages: set[int] = {t.zone_lineage for t in tasks if t.zone_lineage is not None}
    versions: dict[int, list[tuple[dt.datetime, dt.datetime | None, bytes]]] = {}
    if lineages:
        stmt = select(Zone.id, Zone.lineage, Zone.valid_from, Zone.valid_to, Zone.geom_wkb).where(
            or_(Zone.id.in_(lineages), Zone.lineage.in_(lineages))
        )
        for zone_id, lineage, start, end, wkb in session.execute(stmt):
            for key in {zone_id, lineage}:
                if key in lineages:
                    versions.setdefault(key, []).append((start, end, wkb))
    out: list[tuple[UnitTask, BaseGeometry]] = []
    for t in tasks:
        if t.zone_lineage is not None:
            at = t.starts_at
            found = [w for s, e, w in versions.get(t.zone_lineage, []) if _valid(s, e, at)]
            if found:
                out.append((t, shapely.from_wkb(found[0])))
        elif t.lon is not None and t.lat is not None:
            out.append((t, shapely.Point(t.lon, t.lat)))
    return out


def _valid(start: dt.datetime, end: dt.datetime | None, at: dt.datetime) -> bool:
    return start <= at and (end is None or end > at)


def _tasks(session: Session, start: dt.datetime, end: dt.datetime | None) -> list[UnitTask]:
    stmt = select(UnitTask).where(
        UnitTask.status.in_(_OPEN_TASKS),
        _overlaps(UnitTask.starts_at, UnitTask.ends_at, start, end),
    )
    return list(session.scalars(stmt))


def compute(session: Session, n: Notification, rules: Rules) -> dict[Key, float]:
    """Every advisory of this notification: key -> distance in metres."""
    start, end = n.valid_from, n.valid_to
    found: dict[Key, float] = {}
    zone_hits = _near(
        session,
        Zone,
        n,
        n.buffer_m,
        Zone.kind.in_([k.value for k in ZONE_KINDS]),
        _overlaps(Zone.valid_from, Zone.valid_to, start, end),
    )
    found.update({(n.id, AdvisoryKind.RESTRICTED_AREA, i): d for i, d in zone_hits.items()})
    hazards = _near(session, HazardArea, n, n.buffer_m, HazardArea.status == HazardStatus.OPEN)
    found.update({(n.id, AdvisoryKind.EXPLOSIVE_HAZARD, i): d for i, d in hazards.items()})
    since = start - dt.timedelta(days=rules.incident_days)
    incidents = _near(
        session,
        Incident,
        n,
        rules.incident_m,
        Incident.status == VerificationStatus.VERIFIED.value,
        Incident.occurred_at >= since,
        *([Incident.occurred_at < end] if end is not None else []),
    )
    found.update({(n.id, AdvisoryKind.INCIDENT, i): d for i, d in incidents.items()})
    tasks = _task_geometries(session, _tasks(session, start, end))
    if tasks:
        d = _distances(n.geometry, [g for _, g in tasks])
        for (t, _), x in zip(tasks, d, strict=True):
            if x <= n.buffer_m:
                found[(n.id, AdvisoryKind.FORCE_TASK, t.id)] = float(x)
    if n.crossing_id is not None and end is not None:
        for change in crossings.status_during(session, EVERY_MARKING, n.crossing_id, start, end):
            if change.status != CrossingStatus.OPEN.value:
                found[(n.id, AdvisoryKind.CROSSING, change.id)] = 0.0
    return {(nid, str(kind), rid): d for (nid, kind, rid), d in found.items()}


def refresh_notification(session: Session, n: Notification, rules: Rules) -> None:
    """Check one notification (a version just written) against the whole picture."""
    desired = compute(session, n, rules)
    _sync(session, Advisory.notification_id == n.id, desired, {n.id: n})


# ---- one changed record against every active notification ------------------------------


def _candidates(
    session: Session,
    geom: BaseGeometry,
    metres: float,
    window: ColumnElement[bool],
    own_buffer: bool,
) -> dict[int, tuple[Notification, float]]:
    """Active current notifications near `geom` whose validity meets the record's: id ->
    (notification, distance), keeping those within their buffer (or within `metres`)."""
    spatial = backend_for(session.get_bind())
    reach = MAX_BUFFER_M if own_buffer else metres
    stmt = select(Notification).where(
        Notification.replaced_at.is_(None),
        Notification.status.in_(_ACTIVE),
        window,
        spatial.bbox_filter(Notification, _reach(geom, reach)),
    )
    notes = list(session.scalars(stmt))
    if not notes:
        return {}
    d = _distances(geom, shapely.from_wkb([x.geom_wkb for x in notes]))
    limit = np.array([x.buffer_m if own_buffer else metres for x in notes])
    return {x.id: (x, float(v)) for x, v, lim in zip(notes, d, limit, strict=True) if v <= lim}


def _of_active() -> Any:
    """The advisory's notification is current and active: a correlated EXISTS, so that the
    database starts from the index of the record's column (SQLite would otherwise walk the
    list of every active notification)."""
    return exists().where(
        Notification.id == Advisory.notification_id,
        Notification.replaced_at.is_(None),
        Notification.status.in_(_ACTIVE),
    )


def _active_ids() -> Any:
    return select(Notification.id).where(
        Notification.replaced_at.is_(None), Notification.status.in_(_ACTIVE)
    )


def _recheck(
    session: Session,
    kind: AdvisoryKind,
    record_id: int,
    hits: dict[int, tuple[Notification, float]],
) -> None:
    column = getattr(Advisory, COLUMNS[kind])
    desired = {(nid, kind.value, record_id): d for nid, (_, d) in hits.items()}
    where = and_(
        column == record_id,
        Advisory.kind == kind.value,
        _of_active(),
    )
    _sync(session, where, desired, {nid: n for nid, (n, _) in hits.items()})


def on_picture_change(session: Session, change: PictureChange) -> None:
    """The listener `cmcc.bootstrap` registers with `cmcc.core.changes`."""
    rules = _CONFIG.rules
    if rules is None:
        return
    handler = _HANDLERS.get(change.source)
    if handler is not None:
        handler(session, change.record_id, rules)


def _zone_changed(session: Session, zone_id: int, rules: Rules) -> None:
    zone = session.get(Zone, zone_id)
    hits: dict[int, tuple[Notification, float]] = {}
    if zone is not None and zone.kind in ZONE_KINDS:
        window = _overlaps(Notification.valid_from, Notification.valid_to, zone.valid_from, None)
        if zone.valid_to is not None:
            window = and_(window, Notification.valid_from < zone.valid_to)
        hits = _candidates(session, zone.geometry, MAX_BUFFER_M, window, own_buffer=True)
    _recheck(session, AdvisoryKind.RESTRICTED_AREA, zone_id, hits)


def _hazard_changed(session: Session, hazard_id: int, rules: Rules) -> None:
    hazard = session.get(HazardArea, hazard_id)
    hits: dict[int, tuple[Notification, float]] = {}
    if hazard is not None and hazard.status == HazardStatus.OPEN.value:
        window = or_(Notification.valid_to.is_(None), Notification.valid_to > utcnow())
        hits = _candidates(session, hazard.geometry, MAX_BUFFER_M, window, own_buffer=True)
    _recheck(session, AdvisoryKind.EXPLOSIVE_HAZARD, hazard_id, hits)


def _incident_changed(session: Session, incident_id: int, rules: Rules) -> None:
    incident = session.get(Incident, incident_id)
    hits: dict[int, tuple[Notification, float]] = {}
    if incident is not None and incident.status == VerificationStatus.VERIFIED.value:
        at = incident.occurred_at
        window = and_(
            Notification.valid_from <= at + dt.timedelta(days=rules.incident_days),
            or_(Notification.valid_to.is_(None), Notification.valid_to > at),
        )
        hits = _candidates(session, incident.geometry, rules.incident_m, window, own_buffer=False)
    _recheck(session, AdvisoryKind.INCIDENT, incident_id, hits)


def _task_changed(session: Session, task_id: int, rules: Rules) -> None:
    task = session.get(UnitTask, task_id)
    hits: dict[int, tuple[Notification, float]] = {}
    found = _task_geometries(session, [task]) if task is not None else []
    if task is not None and found and task.status in _OPEN_TASKS:
        geom = found[0][1]
        window = _overlaps(Notification.valid_from, Notification.valid_to, task.starts_at, None)
        window = and_(window, Notification.valid_from < task.ends_at)
        hits = _candidates(session, geom, MAX_BUFFER_M, window, own_buffer=True)
    _recheck(session, AdvisoryKind.FORCE_TASK, task_id, hits)


def _crossing_changed(session: Session, status_id: int, rules: Rules) -> None:
    change = session.get(CrossingStatusChange, status_id)
    if change is None:
        return
    stmt = select(Notification).where(
        Notification.id.in_(_active_ids()), Notification.crossing_id == change.crossing_id
    )
    for n in session.scalars(stmt):
        refresh_notification(session, n, rules)


_HANDLERS = {
    "zone": _zone_changed,
    "hazard": _hazard_changed,
    "incident": _incident_changed,
    "task": _task_changed,
    "crossing_status": _crossing_changed,
}


# ---- writing what changed -----------------------------------------------------------------


def _sync(
    session: Session,
    where: ColumnElement[bool],
    desired: dict[Key, float],
    notes: dict[int, Notification],
) -> None:
    """Make the advisories matching `where` exactly `desired`: delete, insert and update only
    the difference, each row audited."""
    source = [getattr(Advisory, c) for c in COLUMNS.values()]
    rows = session.execute(
        select(
            Advisory.id, Advisory.notification_id, Advisory.kind, Advisory.distance_m, *source
        ).where(where)
    ).all()
    existing: dict[Key, tuple[int, float]] = {}
    for row in rows:
        record_id = next(v for v in row[4:] if v is not None)
        existing[(row[1], row[2], record_id)] = (row[0], row[3])
    gone = [aid for key, (aid, _) in existing.items() if key not in desired]
    moved = [
        (aid, desired[key])
        for key, (aid, d) in existing.items()
        if key in desired and abs(desired[key] - d) > 0.5
    ]
    new = [key for key in desired if key not in existing]
    entries: list[tuple[str, str, str, dict[str, Any]]] = []
    table = Advisory.__tablename__
    if gone:
        session.execute(delete(Advisory).where(Advisory.id.in_(gone)))
        entries += [("delete", table, str(aid), {}) for aid in gone]
    for aid, d in moved:
        session.execute(update(Advisory).where(Advisory.id == aid).values(distance_m=d))
        entries.append(("update", table, str(aid), {"distance_m": [None, d]}))
    if new:
        now = utcnow()
        values = [
            {
                "notification_id": nid,
                "kind": kind,
                COLUMNS[AdvisoryKind(kind)]: rid,
                "distance_m": round(desired[(nid, kind, rid)], 1),
                "computed_at": now,
                "owner_org_id": notes[nid].owner_org_id,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for nid, kind, rid in new
        ]
        ids = session.scalars(insert(Advisory).returning(Advisory.id), values).all()
        entries += [
            ("create", table, str(aid), {k: v for k, v in row.items() if v is not None})
            for aid, row in zip(ids, values, strict=True)
        ]
        _task_alerts(session, [k for k in new if k[1] == AdvisoryKind.FORCE_TASK], notes)
    record_entries(session, entries)


def _task_alerts(session: Session, keys: list[Key], notes: dict[int, Notification]) -> None:
    """An alert for each task newly found to overlap an active movement."""
    alerts = []
    for nid, _, task_id in keys:
        n = notes[nid]
        task = session.get(UnitTask, task_id)
        if n.kind != NotificationKind.MOVEMENT.value or task is None or n.zone_id is None:
            continue
        alerts.append(
            Alert(
                kind="task_conflicts_movement",
                zone_id=n.zone_id,
                task_id=task_id,
                message=f'Task "{task.title}" ({_span(task.starts_at, task.ends_at)}) meets the '
                f'notified movement "{n.title}" ({_span(n.valid_from, n.valid_to)})',
                raised_at=utcnow(),
                owner_org_id=task.owner_org_id,
            )
        )
    if not alerts:
        return
    session.add_all(alerts)
    session.flush()
    bus = _CONFIG.bus
    if bus is not None:
        ids = [a.id for a in alerts]

        def publish() -> None:
            for alert_id in ids:
                bus.publish({"type": "alert", "id": alert_id})

        after_commit(session, publish)


def _span(start: dt.datetime, end: dt.datetime | None) -> str:
    return f"{start:%d %b %H:%M}" + (f" to {end:%d %b %H:%M}" if end is not None else " on")


# ---- reading, as each caller may see it ---------------------------------------------------


@dataclass(frozen=True)
class Named:
    kind: str
    record_type: str
    record_id: int
    ref: str
    name: str
    distance_m: float
    notification: int


Name = tuple[str, str, str]  # record type, ref, name


def _zone_names(session: Session, viewer: Viewer, ids: set[int]) -> dict[int, Name]:
    stmt = select(Zone).where(Zone.id.in_(ids), release_filter(Zone, viewer))
    return {
        z.id: ("zone", f"zone {z.lineage_id}", zone_title(z.kind, z.name))
        for z in session.scalars(stmt)
    }


def _hazard_names(session: Session, viewer: Viewer, ids: set[int]) -> dict[int, Name]:
    stmt = select(HazardArea).where(HazardArea.id.in_(ids), release_filter(HazardArea, viewer))
    return {
        h.id: ("hazard", f"hazard_{h.id}", f"{h.classification} {h.name}")
        for h in session.scalars(stmt)
    }


def _incident_names(session: Session, viewer: Viewer, ids: set[int]) -> dict[int, Name]:
    stmt = select(Incident).where(Incident.id.in_(ids), release_filter(Incident, viewer))
    return {
        i.id: (
            "incident",
            f"incident {i.id}",
            f"{type_label(i.type)}, {i.occurred_at:%d %b %Y %H:%M}",
        )
        for i in session.scalars(stmt)
    }


def _task_names(session: Session, viewer: Viewer, ids: set[int]) -> dict[int, Name]:
    stmt = select(UnitTask).where(UnitTask.id.in_(ids), release_filter(UnitTask, viewer))
    return {
        t.id: ("task", f"task {t.id}", f"{t.title} ({_span(t.starts_at, t.ends_at)})")
        for t in session.scalars(stmt)
    }


def _crossing_names(session: Session, viewer: Viewer, ids: set[int]) -> dict[int, Name]:
    stmt = (
        select(CrossingStatusChange, Crossing)
        .join(Crossing, Crossing.id == CrossingStatusChange.crossing_id)
        .where(
            CrossingStatusChange.id.in_(ids),
            release_filter(CrossingStatusChange, viewer),
            release_filter(Crossing, viewer),
        )
    )
    out: dict[int, Name] = {}
    for c, crossing in session.execute(stmt):
        status = c.status.replace("_", " ") + (f" ({c.hours})" if c.hours else "")
        out[c.id] = (
            "crossing",
            crossing.code,
            f"{crossing.name}: {status} from {c.since:%d %b %Y %H:%M}",
        )
    return out


_NAMERS = {
    AdvisoryKind.RESTRICTED_AREA.value: _zone_names,
    AdvisoryKind.EXPLOSIVE_HAZARD.value: _hazard_names,
    AdvisoryKind.INCIDENT.value: _incident_names,
    AdvisoryKind.FORCE_TASK.value: _task_names,
    AdvisoryKind.CROSSING.value: _crossing_names,
}


def message(kind: str, name: str, distance_m: float, site: bool) -> str:
    where = (
        ("at the site" if site else "on the route")
        if distance_m < 1
        else (f"{distance_m:,.0f} m away")
    )
    if kind == AdvisoryKind.CROSSING:
        return f"The movement's crossing is not open during its window: {name}"
    return f"{ADVISORY_LABELS[AdvisoryKind(kind)].capitalize()}: {name} ({where})"


@dataclass
class Reading:
    computed_at: dt.datetime | None
    named: list[tuple[Named, str]]
    withheld: Counter[str]


def for_viewer(session: Session, viewer: Viewer, notes: list[Notification]) -> Reading:
    """The advisories of these notifications (visible to the viewer), each named when the
    viewer may see its record, the others counted by kind."""
    by_id = {n.id: n for n in notes}
    if not by_id:
        return Reading(None, [], Counter())
    source = [getattr(Advisory, c) for c in COLUMNS.values()]
    stmt = select(
        Advisory.notification_id, Advisory.kind, Advisory.distance_m, Advisory.computed_at, *source
    ).where(Advisory.notification_id.in_(by_id), release_filter(Advisory, viewer))
    rows = session.execute(stmt.order_by(Advisory.kind, Advisory.distance_m, Advisory.id)).all()
    wanted: dict[str, set[int]] = {}
    for row in rows:
        wanted.setdefault(row[1], set()).add(next(v for v in row[4:] if v is not None))
    names = {kind: _NAMERS[kind](session, viewer, ids) for kind, ids in wanted.items()}
    named: list[tuple[Named, str]] = []
    withheld: Counter[str] = Counter()
    computed: dt.datetime | None = None
    for row in rows:
        nid, kind, distance, at = row[0], row[1], row[2], row[3]
        computed = at if computed is None or at > computed else computed
        record_id = next(v for v in row[4:] if v is not None)
        found = names[kind].get(record_id)
        if found is None:
            withheld[kind] += 1
            continue
        n = by_id[nid]
        item = Named(kind, found[0], record_id, found[1], found[2], distance, n.lineage_id)
        site = n.kind == NotificationKind.SITE.value
        named.append((item, message(kind, found[2], distance, site)))
    return Reading(computed, named, withheld)
