"""REST routes of command arrangements, tasking and unit reports: /api/v1/command-relationships,
/api/v1/areas, /api/v1/deployment-phases, /api/v1/tasks, /api/v1/unit-reports."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from cmcc.access.domain import Permission, require
from cmcc.access.policy import get_visible
from cmcc.api.deps import (
    CurrentPrincipal,
    Cursor,
    Limit,
    LoggedIn,
    OptionalRecordId,
    PlatformDep,
    RecordId,
    SessionDep,
)
from cmcc.api.responses import page_response
from cmcc.command import areas, relationships, reports, tasking
from cmcc.command.domain import RelationshipStatus, ReportKind, TaskStatus
from cmcc.command.models import (
    AreaAssignment,
    CommandRelationship,
    DeploymentPhase,
    UnitReport,
    UnitTask,
)
from cmcc.command.schemas import (
    AreaAssign,
    AreaPublic,
    PhaseCreate,
    PhasePublic,
    RelationshipCreate,
    RelationshipPublic,
    RelationshipStep,
    ReportCreate,
    ReportPublic,
    RollupRow,
    TaskCreate,
    TaskPublic,
    TaskStatusIn,
)
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic

router = APIRouter(prefix="/api/v1", tags=["command"])
Day = Annotated[dt.date | None, Query(description="A day (YYYY-MM-DD)")]


# --- command relationships ----------------------------------------------------------------


@router.get("/command-relationships", response_model=ListPublic[RelationshipPublic])
def list_relationships(
    session: SessionDep,
    principal: CurrentPrincipal,
    unit: OptionalRecordId = None,
    headquarters: OptionalRecordId = None,
    status: RelationshipStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = relationships.relationship_statement(
        principal.viewer, unit=unit, headquarters=headquarters, status=status
    )
    page = paginate(session, stmt, CommandRelationship.id, cursor, limit)
    return page_response(RelationshipPublic, page)


@router.post("/command-relationships", response_model=RelationshipPublic, status_code=201)
def propose_relationship(body: RelationshipCreate, session: SessionDep, principal: LoggedIn) -> Any:
    """Propose OPCON, TACON, ADCON or national command only over a unit; refused with the
    caveat named when the contingent's caveats forbid it."""
    return RelationshipPublic.model_validate(relationships.propose(session, principal, body))


@router.get("/command-relationships/{rel_id}", response_model=RelationshipPublic)
def get_relationship(rel_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    rel = get_visible(session, CommandRelationship, rel_id, principal.viewer)
    return RelationshipPublic.model_validate(rel)


@router.post("/command-relationships/{rel_id}/status", response_model=RelationshipPublic)
def step_relationship(
    rel_id: RecordId, body: RelationshipStep, session: SessionDep, principal: LoggedIn
) -> Any:
    """agreed (the contributing nation), effective (at the transfer of authority), ended."""
    return RelationshipPublic.model_validate(relationships.step(session, principal, rel_id, body))


# --- areas and phases -------------------------------------------------------------------


@router.get("/areas", response_model=ListPublic[AreaPublic])
def list_areas(
    session: SessionDep,
    principal: CurrentPrincipal,
    headquarters: OptionalRecordId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = areas.area_statement(principal.viewer, headquarters)
    return page_response(AreaPublic, paginate(session, stmt, AreaAssignment.id, cursor, limit))


@router.post("/areas", response_model=AreaPublic, status_code=201)
def assign_area(body: AreaAssign, session: SessionDep, principal: LoggedIn) -> Any:
    """Assign a sector to a headquarters as its area of responsibility over an interval."""
    return AreaPublic.model_validate(areas.assign_area(session, principal, body))


@router.get("/areas/{area_id}", response_model=AreaPublic)
def get_area(area_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return AreaPublic.model_validate(
        get_visible(session, AreaAssignment, area_id, principal.viewer)
    )


@router.get("/deployment-phases", response_model=ListPublic[PhasePublic])
def list_phases(
    session: SessionDep, principal: CurrentPrincipal, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    stmt = areas.phase_statement(principal.viewer)
    return page_response(PhasePublic, paginate(session, stmt, DeploymentPhase.id, cursor, limit))


@router.post("/deployment-phases", response_model=PhasePublic, status_code=201)
def create_phase(body: PhaseCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return PhasePublic.model_validate(areas.create_phase(session, principal, body))


@router.get("/deployment-phases/{phase_id}", response_model=PhasePublic)
def get_phase(phase_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return PhasePublic.model_validate(
        get_visible(session, DeploymentPhase, phase_id, principal.viewer)
    )


# --- tasks -----------------------------------------------------------------------------------


@router.get("/tasks", response_model=ListPublic[TaskPublic])
def list_tasks(
    session: SessionDep,
    principal: CurrentPrincipal,
    status: TaskStatus | None = None,
    unit: OptionalRecordId = None,
    issuer: OptionalRecordId = None,
    date: Day = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = tasking.task_statement(
        principal.viewer, status=status, unit=unit, issuer=issuer, day=date
    )
    return page_response(TaskPublic, paginate(session, stmt, UnitTask.id, cursor, limit))


@router.post("/tasks", response_model=TaskPublic, status_code=status.HTTP_201_CREATED)
def issue_task(body: TaskCreate, session: SessionDep, principal: LoggedIn) -> Any:
    """Issue a task: accepted only where the issuer holds OPCON or TACON over the unit, its
    caveats permit the task everywhere it touches, and it is ready; else 409 with every
    reason in `errors`."""
    return TaskPublic.model_validate(tasking.issue_task(session, principal, body))


@router.post("/tasks/check", response_model=list[str])
def check_task(body: TaskCreate, session: SessionDep, principal: LoggedIn) -> Any:
    """The acceptance checks without issuing: every reason the task would be refused."""
    require(principal, Permission.TASK_UNITS)
    return tasking.check_task(session, principal, body)


@router.get("/tasks/{task_id}", response_model=TaskPublic)
def get_task(task_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return TaskPublic.model_validate(get_visible(session, UnitTask, task_id, principal.viewer))


@router.post("/tasks/{task_id}/status", response_model=TaskPublic)
def task_status(
    task_id: RecordId, body: TaskStatusIn, session: SessionDep, principal: LoggedIn
) -> Any:
    """acknowledged, in_progress, complete (the unit's nation), refused_by_nation (a national
    red card, with its reason; final), cancelled (the issuing force)."""
    return TaskPublic.model_validate(tasking.set_status(session, principal, task_id, body))


# --- unit reports -------------------------------------------------------------------------


@router.get("/unit-reports", response_model=ListPublic[ReportPublic])
def list_reports(
    session: SessionDep,
    principal: CurrentPrincipal,
    unit: OptionalRecordId = None,
    date: Day = None,
    kind: ReportKind | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = reports.report_statement(principal.viewer, unit=unit, day=date, kind=kind)
    return page_response(ReportPublic, paginate(session, stmt, UnitReport.id, cursor, limit))


@router.post("/unit-reports", response_model=ReportPublic, status_code=201)
def file_report(
    body: ReportCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    """A unit's daily PERSTAT or LOGSTAT (the same unit, day and kind again corrects it)."""
    report = reports.file_report(
        session, principal, body, min_days=platform.settings.logstat_min_days, bus=platform.bus
    )
    return ReportPublic.model_validate(report)


@router.get("/unit-reports/rollup", response_model=list[RollupRow])
def rollup(
    session: SessionDep,
    principal: CurrentPrincipal,
    date: Annotated[dt.date, Query(description="The reporting day")],
    by: Literal["nation", "sector"] = "nation",
) -> Any:
    """The day's reports summed by nation or sector, over what the caller may see."""
    rows = reports.rollup(session, principal.viewer, date, by)
    return [RollupRow(**dataclasses.asdict(r)) for r in rows]


@router.post("/unit-reports/overdue", response_model=int)
def overdue(
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
    date: Annotated[dt.date, Query(description="The reporting day")],
) -> Any:
    """Raise an alert for each unit whose PERSTAT or LOGSTAT for the day is missing; returns
    how many were raised (the report cycle runs it after the day's deadline)."""
    require(principal, Permission.WRITE_ORBAT)
    return len(reports.raise_overdue_alerts(session, date, platform.bus))


@router.get("/unit-reports/{report_id}", response_model=ReportPublic)
def get_report(report_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return ReportPublic.model_validate(
        get_visible(session, UnitReport, report_id, principal.viewer)
    )
