"""Search tasks: create (a place or a sector), cut an area into a grid of sectors, correct,
move through the workflow with the EOD escort rule, list by place and status; the links of each
task to the open hazard areas its ground touches; recoveries near a point (for the tips)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.core.clock import utcnow
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import Forbidden, InvalidInput
from cmcc.core.releasability import may_see
from cmcc.geo.backend import SpatialBackend, backend_for
from cmcc.geo.geometry import AREA_TYPES, BBox, parse_geometry
from cmcc.hazards.models import HazardArea
from cmcc.hazards.service import open_hazards_touching, visible_refs
from cmcc.remains import domain, grid
from cmcc.remains.domain import TaskStatus
from cmcc.remains.models import Recovery, SearchTask, SearchTaskHazard, SearchTaskStep
from cmcc.remains.schemas import GridCut, SearchTaskCreate, SearchTaskUpdate, StatusChange

TASK_TYPES = AREA_TYPES | {"Point"}


def _task_geometry(value: object, aoi: BBox, outside_aoi: bool, field: str) -> BaseGeometry:
    geom = parse_geometry(value, field=field, aoi=aoi, outside_aoi=outside_aoi)
    if geom.geom_type not in TASK_TYPES:
        raise InvalidInput.field(
            field, "a search task is a Point (a location) or a Polygon/MultiPolygon (a sector)"
        )
    return geom


def _member(principal: Principal) -> int:
    require(principal, Permission.WRITE_SEARCH)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can create records")
    return principal.org_id


# --- links to hazard areas --------------------------------------------------------------------


def open_hazards(
    session: Session, spatial: SpatialBackend, geometry: BaseGeometry
) -> list[HazardArea]:
    """Every open hazard area the geometry touches, whoever may see it: the safety rule does
    not depend on the caller's releases (the refusal names only those released to them)."""
    return open_hazards_touching(session, Principal.system_operator(), spatial, geometry)


def _link(
    session: Session, task_ids: Iterable[int], hazards: dict[int, list[HazardArea]], replace: bool
) -> None:
    """Link each task to its hazards; `replace` drops the links of a task's former ground
    (through the ORM, so that the audit log records every link made or dropped)."""
    ids = list(task_ids)
    if not ids:
        return
    existing: dict[int, dict[int, SearchTaskHazard]] = {}
    for link in session.scalars(select(SearchTaskHazard).where(SearchTaskHazard.task_id.in_(ids))):
        existing.setdefault(link.task_id, {})[link.hazard_id] = link
    now = utcnow()
    for task_id in ids:
        wanted = {h.id for h in hazards.get(task_id, [])}
        have = existing.get(task_id, {})
        session.add_all(
            SearchTaskHazard(task_id=task_id, hazard_id=h, linked_at=now)
            for h in sorted(wanted - set(have))
        )
        if replace:
            for hazard_id in set(have) - wanted:
                session.delete(have[hazard_id])
    session.flush()


def hazard_refs(
    session: Session, principal: Principal, task_ids: Sequence[int]
) -> dict[int, list[str]]:
    """The refs (`hazard_12`) of the hazard areas linked to each task, those the caller may see."""
    if not task_ids:
        return {}
    links = session.execute(
        select(SearchTaskHazard.task_id, SearchTaskHazard.hazard_id)
        .where(SearchTaskHazard.task_id.in_(list(task_ids)))
        .order_by(SearchTaskHazard.task_id, SearchTaskHazard.hazard_id)
    ).all()
    refs = visible_refs(session, principal, {hazard_id for _, hazard_id in links})
    out: dict[int, list[str]] = {}
    for task_id, hazard_id in links:
        if hazard_id in refs:
            out.setdefault(task_id, []).append(refs[hazard_id])
    return out


# --- tasks ------------------------------------------------------------------------------------


def _escort(task: SearchTask, escort: str | None, confirmed: dt.datetime | None = None) -> None:
    """Record, change or clear the EOD escort. It counts as confirmed when it is recorded,
    unless the caller says when; the same escort keeps its confirmation time."""
    kept = task.escort_confirmed_at if escort == task.eod_escort else None
    when = None if escort is None else (confirmed or kept or utcnow())
    apply_changes(task, {"eod_escort": escort, "escort_confirmed_at": when})


def create_task(
    session: Session,
    principal: Principal,
    spatial: SpatialBackend,
    data: SearchTaskCreate,
    *,
    aoi: BBox,
) -> SearchTask:
    owner = _member(principal)
    if data.escort_confirmed_at is not None and data.eod_escort is None:
        raise InvalidInput.field("body.escort_confirmed_at", "name the escort (eod_escort)")
    task = SearchTask(
        sector=data.sector,
        grid=data.grid,
        marker=data.marker,
        team=data.team,
        status=TaskStatus.NOT_STARTED.value,
        description=data.description,
        owner_org_id=owner,
    )
    task.geometry = _task_geometry(data.geometry, aoi, data.outside_aoi, "body.geometry")
    _escort(task, data.eod_escort, data.escort_confirmed_at)
    task.marking = resolve_marking(session, data.releasability)
    session.add(task)
    session.flush()
    _link(session, [task.id], {task.id: open_hazards(session, spatial, task.geometry)}, False)
    return task


def get_task(session: Session, principal: Principal, task_id: int) -> SearchTask:
    return get_visible(session, SearchTask, task_id, principal.viewer)


def update_task(
    session: Session,
    principal: Principal,
    spatial: SpatialBackend,
    task_id: int,
    data: SearchTaskUpdate,
    *,
    aoi: BBox,
) -> SearchTask:
    require(principal, Permission.WRITE_SEARCH)
    task = get_task(session, principal, task_id)
    check_version(task, data.version)
    sent = data.model_fields_set
    changes = data.model_dump(
        include={"sector", "grid", "marker", "team", "description"}, exclude_unset=True
    )
    for key in ("marker", "team", "description"):
        if key in changes and changes[key] is None:
            raise InvalidInput.field(f"body.{key}", "may be empty but not null")
    apply_changes(task, changes)
    if "eod_escort" in sent or "escort_confirmed_at" in sent:
        escort = data.eod_escort if "eod_escort" in sent else task.eod_escort
        if escort is None and data.escort_confirmed_at is not None:
            raise InvalidInput.field("body.escort_confirmed_at", "name the escort (eod_escort)")
        _escort(task, escort, data.escort_confirmed_at)
    if data.releasability is not None:
        task.marking = resolve_marking(session, data.releasability)
    moved = False
    if data.geometry is not None:
        geom = _task_geometry(data.geometry, aoi, data.outside_aoi, "body.geometry")
        if not geom.equals(task.geometry):
            task.geometry = geom
            moved = True
    session.flush()
    if moved:
        _link(session, [task.id], {task.id: open_hazards(session, spatial, task.geometry)}, True)
    return task


def change_status(
    session: Session,
    principal: Principal,
    spatial: SpatialBackend,
    task_id: int,
    data: StatusChange,
) -> SearchTask:
    """One step of the workflow. Starting the search re-checks the hazard picture at this
    moment (hazards may have opened since the task was made) and links what it finds."""
    require(principal, Permission.WRITE_SEARCH)
    task = get_task(session, principal, task_id)
    check_version(task, data.version)
    if data.team is not None:
        apply_changes(task, {"team": data.team})
    if data.eod_escort is not None:
        _escort(task, data.eod_escort)
    current = TaskStatus(task.status)
    domain.check_step(current, data.to, note=data.note, team=task.team)
    if data.to is TaskStatus.IN_PROGRESS:
        hazards = open_hazards(session, spatial, task.geometry)
        _link(session, [task.id], {task.id: hazards}, False)
        shown = [h.ref for h in hazards if may_see(h.marking, h.owner_org_id, principal.viewer)]
        domain.check_escort(shown, len(hazards) - len(shown), task.eod_escort)
    now = utcnow()
    session.add(
        SearchTaskStep(
            task_id=task.id,
            from_status=current.value,
            to_status=data.to.value,
            note=data.note,
            by=principal.actor,
        )
    )
    task.status = data.to.value
    task.status_changed_at = now
    task.status_changed_by = principal.actor
    session.flush()
    return task


def steps(session: Session, principal: Principal, task_id: int) -> list[SearchTaskStep]:
    task = get_task(session, principal, task_id)
    stmt = select(SearchTaskStep).where(SearchTaskStep.task_id == task.id)
    return list(session.scalars(stmt.order_by(SearchTaskStep.id)))


def task_statement(
    principal: Principal,
    spatial: SpatialBackend,
    *,
    bbox: BBox | None = None,
    status: TaskStatus | None = None,
    grid_name: str | None = None,
) -> Select[SearchTask]:
    stmt = visible(SearchTask, principal.viewer)
    if bbox is not None:
        stmt = stmt.where(spatial.bbox_filter(SearchTask, bbox))
    if status is not None:
        stmt = stmt.where(SearchTask.status == status.value)
    if grid_name is not None:
        stmt = stmt.where(SearchTask.grid == grid_name)
    return stmt


def cut_grid(
    session: Session,
    principal: Principal,
    spatial: SpatialBackend,
    data: GridCut,
    *,
    aoi: BBox,
) -> tuple[grid.Grid, list[SearchTask]]:
    """Cut the area into square sectors, one search task each (not started), all in the
    caller's transaction: a refusal writes nothing."""
    owner = _member(principal)
    area = parse_geometry(
        data.area, field="body.area", aoi=aoi, outside_aoi=data.outside_aoi, areas_only=True
    )
    cut = grid.cut(area, data.size_m)
    marking = resolve_marking(session, data.releasability)
    tasks = []
    for sector in cut.sectors:
        task = SearchTask(
            sector=sector.label,
            grid=data.grid,
            marker=data.marker,
            team=data.team,
            status=TaskStatus.NOT_STARTED.value,
            description=data.description,
            owner_org_id=owner,
        )
        task.geometry = sector.geometry
        task.marking = marking
        tasks.append(task)
    session.add_all(tasks)
    session.flush()
    candidates = open_hazards(session, spatial, area)
    links = {
        t.id: [h for h in candidates if s.geometry.intersects(h.geometry)]
        for t, s in zip(tasks, cut.sectors, strict=True)
    }
    _link(session, [t.id for t in tasks if links[t.id]], links, False)
    return cut, tasks


# --- for the tips module ----------------------------------------------------------------------


def recoveries_near(session: Session, lon: float, lat: float, metres: float) -> list[Recovery]:
    """Every recovery within `metres` of (lon, lat), whoever owns it and however it is marked.

    No release filter, on purpose: the tips module uses it for an internal fraud signal ("a
    tip for remains already recovered") that is computed for the tip officers and never shows
    the recoveries themselves. Callers must not return these records to a user; a user's view
    of recoveries goes through `cmcc.remains.recoveries` and the release policy."""
    spatial = backend_for(session.get_bind())
    base = select(Recovery)
    stmt = base.where(spatial.within_distance_filter(session, Recovery, lon, lat, metres, base))
    return list(session.scalars(stmt.order_by(Recovery.id)))
