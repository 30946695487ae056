"""REST routes of the search for remains: /api/v1/search-tasks and /api/v1/recoveries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
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
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic
from cmcc.geo.geometry import parse_bbox
from cmcc.remains import recoveries, service
from cmcc.remains.domain import TaskStatus
from cmcc.remains.models import Recovery, SearchTask
from cmcc.remains.schemas import (
    GridCut,
    GridPublic,
    PersonalDataPublic,
    PersonalDataPut,
    RecoveryCreate,
    RecoveryPublic,
    RecoveryUpdate,
    RecoveryWithPersonalData,
    SearchTaskCreate,
    SearchTaskPublic,
    SearchTaskUpdate,
    StatusChange,
    StepPublic,
)

router = APIRouter(prefix="/api/v1", tags=["remains"])
BBoxQuery = Annotated[str | None, Query(description="min lon, min lat, max lon, max lat")]
JSON = "application/json"


def _tasks(
    session: Session, principal: Principal, tasks: list[SearchTask]
) -> list[SearchTaskPublic]:
    refs = service.hazard_refs(session, principal, [t.id for t in tasks])
    return [
        SearchTaskPublic.model_validate(t).model_copy(update={"hazards": refs.get(t.id, [])})
        for t in tasks
    ]


def _task(session: Session, principal: Principal, task: SearchTask) -> SearchTaskPublic:
    return _tasks(session, principal, [task])[0]


# --- search tasks -----------------------------------------------------------------------------


@router.get("/search-tasks", response_model=ListPublic[SearchTaskPublic])
def list_tasks(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    bbox: BBoxQuery = None,
    status: TaskStatus | None = None,
    grid: Annotated[str | None, Query(description="The grid's name")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    box = parse_bbox(bbox, field="query.bbox") if bbox else None
    stmt = service.task_statement(
        principal, platform.spatial, bbox=box, status=status, grid_name=grid
    )
    page = paginate(session, stmt, SearchTask.id, cursor, limit)
    body = ListPublic[SearchTaskPublic](
        data=_tasks(session, principal, page.items), count=page.count, next_cursor=page.next_cursor
    )
    return Response(body.model_dump_json(), media_type=JSON)


@router.post("/search-tasks", response_model=SearchTaskPublic, status_code=status.HTTP_201_CREATED)
def create_task(
    body: SearchTaskCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    task = service.create_task(
        session, principal, platform.spatial, body, aoi=platform.settings.aoi_bbox
    )
    return _task(session, principal, task)


@router.post("/search-tasks/grid", response_model=GridPublic, status_code=201)
def cut_grid(body: GridCut, session: SessionDep, principal: LoggedIn, platform: PlatformDep) -> Any:
    """Cut an area into square sectors of `size_m` metres, one search task each (not started),
    labelled `A-01` (row letter from the north, column number from the west). All or nothing;
    more than 2,500 sectors is refused."""
    cut, tasks = service.cut_grid(
        session, principal, platform.spatial, body, aoi=platform.settings.aoi_bbox
    )
    out = GridPublic(
        grid=body.grid,
        size_m=body.size_m,
        rows=cut.rows,
        columns=cut.columns,
        sectors=len(tasks),
        tasks=_tasks(session, principal, tasks),
    )
    return Response(out.model_dump_json(), status_code=201, media_type=JSON)


@router.get("/search-tasks/{task_id}", response_model=SearchTaskPublic)
def get_task(task_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return _task(session, principal, service.get_task(session, principal, task_id))


@router.patch("/search-tasks/{task_id}", response_model=SearchTaskPublic)
def update_task(
    task_id: RecordId,
    body: SearchTaskUpdate,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    task = service.update_task(
        session, principal, platform.spatial, task_id, body, aoi=platform.settings.aoi_bbox
    )
    return _task(session, principal, task)


@router.get("/search-tasks/{task_id}/status", response_model=list[StepPublic])
def list_steps(task_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return [StepPublic.model_validate(s) for s in service.steps(session, principal, task_id)]


@router.post("/search-tasks/{task_id}/status", response_model=SearchTaskPublic, status_code=201)
def change_status(
    task_id: RecordId,
    body: StatusChange,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    """One step of the workflow; starting over open hazard areas needs an EOD escort (409)."""
    task = service.change_status(session, principal, platform.spatial, task_id, body)
    return _task(session, principal, task)


# --- recoveries -------------------------------------------------------------------------------


@router.get("/recoveries", response_model=ListPublic[RecoveryPublic])
def list_recoveries(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    bbox: BBoxQuery = None,
    task_id: OptionalRecordId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    """Never with personal data, whoever asks."""
    box = parse_bbox(bbox, field="query.bbox") if bbox else None
    stmt = recoveries.recovery_statement(principal, platform.spatial, bbox=box, task_id=task_id)
    page = paginate(session, stmt, Recovery.id, cursor, limit)
    body = ListPublic[RecoveryPublic](
        data=[RecoveryPublic.model_validate(r) for r in page.items],
        count=page.count,
        next_cursor=page.next_cursor,
    )
    return Response(body.model_dump_json(), media_type=JSON)


@router.post("/recoveries", response_model=RecoveryPublic, status_code=status.HTTP_201_CREATED)
def create_recovery(
    body: RecoveryCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    recovery = recoveries.create_recovery(session, principal, body, aoi=platform.settings.aoi_bbox)
    return RecoveryPublic.model_validate(recovery)


@router.get(
    "/recoveries/{recovery_id}",
    response_model=RecoveryPublic | RecoveryWithPersonalData,
    responses={200: {"description": "`personal_data` only for the owner's recovery officers"}},
)
def get_recovery(recovery_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    """The recovery; with `personal_data` for a recovery officer of the owning organization
    only (the field is absent for everyone else)."""
    recovery = recoveries.get_recovery(session, principal, recovery_id)
    allowed, data = recoveries.personal_data_of(session, principal, recovery)
    public: RecoveryPublic = RecoveryPublic.model_validate(recovery)
    if allowed:
        personal = PersonalDataPublic.model_validate(data) if data is not None else None
        public = RecoveryWithPersonalData.model_validate(recovery).model_copy(
            update={"personal_data": personal}
        )
    return Response(public.model_dump_json(), media_type=JSON)


@router.patch("/recoveries/{recovery_id}", response_model=RecoveryPublic)
def update_recovery(
    recovery_id: RecordId,
    body: RecoveryUpdate,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    recovery = recoveries.update_recovery(
        session, principal, recovery_id, body, aoi=platform.settings.aoi_bbox
    )
    return RecoveryPublic.model_validate(recovery)


@router.get("/recoveries/{recovery_id}/personal-data", response_model=PersonalDataPublic)
def get_personal_data(recovery_id: RecordId, session: SessionDep, principal: LoggedIn) -> Any:
    """Recovery officers of the owning organization only (403 for everyone else)."""
    return PersonalDataPublic.model_validate(
        recoveries.read_personal_data(session, principal, recovery_id)
    )


@router.put("/recoveries/{recovery_id}/personal-data", response_model=PersonalDataPublic)
def put_personal_data(
    recovery_id: RecordId, body: PersonalDataPut, session: SessionDep, principal: LoggedIn
) -> Any:
    """Record or replace the personal data of the missing and their family (recovery officers
    of the owning organization only). The audit log records the change, not the values."""
    return PersonalDataPublic.model_validate(
        recoveries.put_personal_data(session, principal, recovery_id, body)
    )
