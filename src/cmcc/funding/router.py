"""REST routes of the plan tree and its projects: /api/v1/plans, /phases, /programmes,
/projects. Reads go through the release policy; writes need write_funding."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

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
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic
from cmcc.funding import projects, service
from cmcc.funding.domain import ProjectStatus
from cmcc.funding.models import Phase, Plan, Programme, Project
from cmcc.funding.schemas import (
    PhaseCreate,
    PhasePublic,
    PhaseUpdate,
    PlanCreate,
    PlanPublic,
    PlanUpdate,
    ProgrammeCreate,
    ProgrammePublic,
    ProgrammeUpdate,
    ProjectCreate,
    ProjectPublic,
    ProjectStatusChange,
    ProjectUpdate,
)
from cmcc.geo.geometry import parse_bbox

router = APIRouter(prefix="/api/v1", tags=["funding"])
Created = status.HTTP_201_CREATED
BBoxQuery = Annotated[
    str | None,
    Query(description="min lon, min lat, max lon, max lat", examples=["34.2,31.2,34.6,31.6"]),
]


# ---- plans ----------------------------------------------------------------------------------


@router.get("/plans", response_model=ListPublic[PlanPublic])
def list_plans(
    session: SessionDep, principal: CurrentPrincipal, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    stmt = service.plan_statement(principal)
    return page_response(PlanPublic, paginate(session, stmt, Plan.id, cursor, limit))


@router.post("/plans", response_model=PlanPublic, status_code=Created)
def create_plan(body: PlanCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return PlanPublic.model_validate(service.create_plan(session, principal, body))


@router.get("/plans/{plan_id}", response_model=PlanPublic)
def get_plan(plan_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return PlanPublic.model_validate(service.get_plan(session, principal, plan_id))


@router.patch("/plans/{plan_id}", response_model=PlanPublic)
def update_plan(
    plan_id: RecordId, body: PlanUpdate, session: SessionDep, principal: LoggedIn
) -> Any:
    return PlanPublic.model_validate(service.update_plan(session, principal, plan_id, body))


# ---- phases ---------------------------------------------------------------------------------


@router.get("/phases", response_model=ListPublic[PhasePublic])
def list_phases(
    session: SessionDep,
    principal: CurrentPrincipal,
    plan_id: OptionalRecordId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = service.phase_statement(principal, plan_id)
    return page_response(PhasePublic, paginate(session, stmt, Phase.id, cursor, limit))


@router.post("/phases", response_model=PhasePublic, status_code=Created)
def create_phase(body: PhaseCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return PhasePublic.model_validate(service.create_phase(session, principal, body))


@router.get("/phases/{phase_id}", response_model=PhasePublic)
def get_phase(phase_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return PhasePublic.model_validate(service.get_phase(session, principal, phase_id))


@router.patch("/phases/{phase_id}", response_model=PhasePublic)
def update_phase(
    phase_id: RecordId, body: PhaseUpdate, session: SessionDep, principal: LoggedIn
) -> Any:
    return PhasePublic.model_validate(service.update_phase(session, principal, phase_id, body))


# ---- programmes -----------------------------------------------------------------------------


@router.get("/programmes", response_model=ListPublic[ProgrammePublic])
def list_programmes(
    session: SessionDep,
    principal: CurrentPrincipal,
    phase_id: OptionalRecordId = None,
    dac_code: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = service.programme_statement(principal, phase_id, dac_code)
    return page_response(ProgrammePublic, paginate(session, stmt, Programme.id, cursor, limit))


@router.post("/programmes", response_model=ProgrammePublic, status_code=Created)
def create_programme(body: ProgrammeCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return ProgrammePublic.model_validate(service.create_programme(session, principal, body))


@router.get("/programmes/{programme_id}", response_model=ProgrammePublic)
def get_programme(programme_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    programme = service.get_programme(session, principal, programme_id)
    return ProgrammePublic.model_validate(programme)


@router.patch("/programmes/{programme_id}", response_model=ProgrammePublic)
def update_programme(
    programme_id: RecordId, body: ProgrammeUpdate, session: SessionDep, principal: LoggedIn
) -> Any:
    programme = service.update_programme(session, principal, programme_id, body)
    return ProgrammePublic.model_validate(programme)


# ---- projects -------------------------------------------------------------------------------


@router.get("/projects", response_model=ListPublic[ProjectPublic])
def list_projects(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    bbox: BBoxQuery = None,
    status: ProjectStatus | None = None,
    programme_id: OptionalRecordId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    box = parse_bbox(bbox, field="query.bbox") if bbox else None
    stmt = projects.project_statement(
        principal, platform.spatial, bbox=box, status=status, programme_id=programme_id
    )
    return page_response(ProjectPublic, paginate(session, stmt, Project.id, cursor, limit))


@router.post("/projects", response_model=ProjectPublic, status_code=Created)
def create_project(
    body: ProjectCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    project = projects.create_project(session, principal, body, aoi=platform.settings.aoi_bbox)
    return ProjectPublic.model_validate(project)


@router.get("/projects/{project_id}", response_model=ProjectPublic)
def get_project(project_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return ProjectPublic.model_validate(projects.get_project(session, principal, project_id))


@router.patch("/projects/{project_id}", response_model=ProjectPublic)
def update_project(
    project_id: RecordId,
    body: ProjectUpdate,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    project = projects.update_project(
        session, principal, platform.spatial, project_id, body, aoi=platform.settings.aoi_bbox
    )
    return ProjectPublic.model_validate(project)


@router.post("/projects/{project_id}/status", response_model=ProjectPublic)
def change_project_status(
    project_id: RecordId,
    body: ProjectStatusChange,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    """Move the project along its workflow. To in_progress only inside cleared areas and clear
    of open hazards: otherwise 409 naming the reasons."""
    project = projects.change_status(session, principal, platform.spatial, project_id, body)
    return ProjectPublic.model_validate(project)
