"""Tasking: a task is accepted only where the issuing headquarters holds OPCON or TACON over
the unit, the unit's caveats permit the task in every zone kind its area or point touches, the
unit is ready, and the deployment phase allows it; each refusal names its reason. Then its
statuses, with the nation's red card recorded and never overridden."""

from __future__ import annotations

import datetime as dt

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.command import areas
from cmcc.command.domain import (
    OPEN_TASK_STATUSES,
    TaskCheck,
    TaskStatus,
    UnitKind,
    task_refusals,
    task_step_problem,
)
from cmcc.command.models import TaskStatusChange, Unit, UnitTask, is_lineage
from cmcc.command.orbat import ancestors, current_version, valid_at
from cmcc.command.relationships import authority, chain_pledge
from cmcc.command.schemas import TaskCreate, TaskStatusIn
from cmcc.core.changes import picture_changed
from cmcc.core.clock import utcnow
from cmcc.core.crud import check_version
from cmcc.core.errors import Forbidden, InvalidInput, Refused, TransitionRefused
from cmcc.core.releasability import Viewer
from cmcc.forces.domain import Caveats, ReadinessLevel
from cmcc.forces.models import Pledge
from cmcc.zones.models import Zone


def _area(
    session: Session, principal: Principal, data: TaskCreate
) -> tuple[BaseGeometry, int | None]:
    if data.zone is not None:
        zone = session.scalars(
            visible(
                Zone, principal.viewer, is_lineage(Zone, data.zone), valid_at(Zone, data.starts_at)
            )
        ).first()
        if zone is None:
            raise InvalidInput.field(
                "body.zone", f"no zone {data.zone} you may see at {data.starts_at:%Y-%m-%d %H:%M}"
            )
        return zone.geometry, data.zone
    assert data.lon is not None and data.lat is not None
    return areas.point(data.lon, data.lat), None


def gather_check(
    session: Session, principal: Principal, data: TaskCreate
) -> tuple[TaskCheck, Unit, Unit]:
    """What the acceptance checks need: the unit and issuer as the caller sees them at the
    start of the window, and the rest as the platform knows it."""
    at = data.starts_at
    unit = current_version(session, principal.viewer, data.unit, at)
    if unit is None:
        raise InvalidInput.field("body.unit", f"no unit {data.unit} you may see at {at:%Y-%m-%d}")
    issuer = current_version(session, principal.viewer, data.issuer, at)
    if issuer is None or issuer.kind != UnitKind.HEADQUARTERS.value:
        raise InvalidInput.field("body.issuer", f"no headquarters {data.issuer} you may see")
    geom, _ = _area(session, principal, data)
    chain = ancestors(session, data.unit, at)  # read once: authority, caveats, pledge
    pledge = chain_pledge(session, chain)
    phase = areas.phase_on(session, at.date())
    check = TaskCheck(
        task=data.task,
        authority=authority(session, data.issuer, chain, at, principal.viewer),
        caveats=Caveats.from_dict(pledge.caveats) if pledge is not None else Caveats(),
        zone_kinds=areas.kinds_touching(session, geom, at, principal.viewer),
        readiness=ReadinessLevel(pledge.readiness) if pledge is not None else None,
        readiness_shown=pledge is not None and _sees(session, principal, pledge.id),
        authorized=unit.strength_authorized,
        present=unit.strength_present,
        phase=phase.name if phase is not None else None,
        phase_kinds=frozenset(phase.zone_kinds) if phase is not None else frozenset(),
    )
    return check, unit, issuer


def _sees(session: Session, principal: Principal, pledge_id: int) -> bool:
    stmt = visible(Pledge, principal.viewer, Pledge.id == pledge_id).with_only_columns(Pledge.id)
    return session.scalar(stmt) is not None


def check_task(session: Session, principal: Principal, data: TaskCreate) -> list[str]:
    """Every reason the task would be refused (empty: it would be accepted)."""
    check, _, _ = gather_check(session, principal, data)
    return task_refusals(check)


def issue_task(session: Session, principal: Principal, data: TaskCreate) -> UnitTask:
    require(principal, Permission.TASK_UNITS)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can create records")
    check, unit, _ = gather_check(session, principal, data)
    reasons = task_refusals(check)
    if reasons:
        raise Refused("the task is refused: " + "; ".join(reasons), reasons)
    task = UnitTask(
        title=data.title,
        task=data.task.value,
        unit_lineage=data.unit,
        issuer_lineage=data.issuer,
        zone_lineage=data.zone,
        lon=data.lon,
        lat=data.lat,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        priority=data.priority.value,
        status=TaskStatus.ISSUED.value,
        description=data.description,
        issued_by=principal.actor,
        owner_org_id=principal.org_id,
    )
    task.marking = (
        resolve_marking(session, data.releasability)
        if data.releasability is not None
        else unit.marking
    )
    session.add(task)
    session.flush()
    task_id = task.id
    picture_changed(session, "task", task_id)
    return task


def set_status(
    session: Session, principal: Principal, task_id: int, data: TaskStatusIn
) -> UnitTask:
    """The unit's nation acknowledges, starts, completes or refuses (red card, with its
    reason); the issuing force may cancel. A national refusal is final."""
    require(principal, Permission.TASK_UNITS, Permission.NATIONAL_COMMAND)
    task = get_visible(session, UnitTask, task_id, principal.viewer)
    check_version(task, data.version)
    current, target = TaskStatus(task.status), data.status
    problem = task_step_problem(current, target)
    if problem:
        raise TransitionRefused(problem)
    unit = current_version(session, principal.viewer, task.unit_lineage)
    nation_org = unit.owner_org_id if unit is not None else None
    if target is TaskStatus.CANCELLED:
        require(principal, Permission.TASK_UNITS)
    elif target is TaskStatus.REFUSED_BY_NATION or not principal.can(Permission.TASK_UNITS):
        require(principal, Permission.NATIONAL_COMMAND)
        if not principal.system and principal.org_id != nation_org:
            raise Forbidden("only the unit's contributing nation may do this")
    if target is TaskStatus.REFUSED_BY_NATION and not data.reason:
        raise InvalidInput.field("body.reason", "a national refusal states its reason")
    now = utcnow()
    session.add(
        TaskStatusChange(
            task_id=task.id,
            from_status=current.value,
            to_status=target.value,
            reason=data.reason,
            by=principal.actor,
            at=now,
        )
    )
    task.status, task.status_reason = target.value, data.reason
    task.status_by, task.status_at = principal.actor, now
    session.flush()
    picture_changed(session, "task", task.id)
    return task


def task_history(session: Session, task: UnitTask) -> list[TaskStatusChange]:
    stmt = (
        select(TaskStatusChange)
        .where(TaskStatusChange.task_id == task.id)
        .order_by(TaskStatusChange.at, TaskStatusChange.id)
    )
    return list(session.scalars(stmt))


def task_statement(
    viewer: Viewer,
    *,
    status: TaskStatus | None = None,
    unit: int | None = None,
    issuer: int | None = None,
    day: dt.date | None = None,
    open_only: bool = False,
) -> Select[UnitTask]:
    stmt = visible(UnitTask, viewer)
    if status is not None:
        stmt = stmt.where(UnitTask.status == status.value)
    if open_only:
        stmt = stmt.where(UnitTask.status.in_([s.value for s in OPEN_TASK_STATUSES]))
    if unit is not None:
        stmt = stmt.where(UnitTask.unit_lineage == unit)
    if issuer is not None:
        stmt = stmt.where(UnitTask.issuer_lineage == issuer)
    if day is not None:
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        end = start + dt.timedelta(days=1)
        stmt = stmt.where(UnitTask.starts_at < end, UnitTask.ends_at > start)
    return stmt.order_by(UnitTask.starts_at.desc(), UnitTask.id.desc())


def task_area(session: Session, task: UnitTask) -> BaseGeometry | None:
    """The task's area (its zone as it stood at the start), or None for a point task."""
    if task.zone_lineage is None:
        return None
    zone = areas.zone_at(session, task.zone_lineage, task.starts_at)
    return zone.geometry if zone is not None else None
