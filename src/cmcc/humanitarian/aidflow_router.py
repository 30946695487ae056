"""REST routes of the crossings and the aid flow: /api/v1/crossings, /api/v1/crossing-statuses
and /api/v1/aid-flow/... (entries, targets, dashboard, import, HXL export). Reads go through
the release policy; writes need `coordinate_humanitarian` (the centre)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

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
    StreamPrincipal,
)
from cmcc.api.responses import page_response
from cmcc.bootstrap import Platform
from cmcc.core.clock import utcnow
from cmcc.core.errors import InvalidInput, Unauthorized
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic
from cmcc.humanitarian import aidflow, crossings
from cmcc.humanitarian.aidflow_dashboard import Total, dashboard, period
from cmcc.humanitarian.aidflow_export import (
    FILE_NAMES,
    MEDIA_TYPE,
    Format,
    crossings_hxl,
    entries_hxl,
)
from cmcc.humanitarian.aidflow_import import Imported, import_figures
from cmcc.humanitarian.aidflow_schemas import (
    AidFlowEntryIn,
    AidFlowEntryPublic,
    AidFlowTargetCreate,
    AidFlowTargetPublic,
    CrossingCreate,
    CrossingPublic,
    CrossingStatusCreate,
    CrossingStatusPublic,
    DashboardPublic,
    DayPublic,
    ImportedPublic,
    TotalPublic,
)
from cmcc.humanitarian.domain import CargoCategory
from cmcc.humanitarian.models import AidFlowEntry, AidFlowTarget, Crossing, CrossingStatusChange

router = APIRouter(prefix="/api/v1", tags=["aid flow"])
DayQuery = Annotated[dt.date | None, Query(description="A day, YYYY-MM-DD")]
MomentQuery = Annotated[AwareDatetime | None, Query(description="RFC 3339, with a time zone")]
CSV_BODY = {
    "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
}


# ---- crossings ------------------------------------------------------------------------------


def _crossing_public(crossing: Crossing, current: CrossingStatusChange | None) -> CrossingPublic:
    public = CrossingPublic.model_validate(crossing)
    if current is not None:
        public.current_status = CrossingStatusPublic.model_validate(current)
    return public


@router.get("/crossings", response_model=ListPublic[CrossingPublic])
def list_crossings(
    session: SessionDep, principal: CurrentPrincipal, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    """The crossings the caller may see, each with the status in force now (of the changes
    released to the caller)."""
    stmt = crossings.crossing_statement(principal.viewer)
    page = paginate(session, stmt, Crossing.id, cursor, limit)
    now = crossings.current_statuses(
        session, principal.viewer, utcnow(), [c.id for c in page.items]
    )
    page.items = [_crossing_public(c, now.get(c.id)) for c in page.items]
    return page_response(CrossingPublic, page)


@router.post("/crossings", response_model=CrossingPublic, status_code=status.HTTP_201_CREATED)
def create_crossing(body: CrossingCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return _crossing_public(crossings.create_crossing(session, principal, body), None)


@router.get("/crossings/{crossing_id}", response_model=CrossingPublic)
def get_crossing(crossing_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    crossing = crossings.get_crossing(session, principal, crossing_id)
    now = crossings.current_statuses(session, principal.viewer, utcnow(), [crossing.id])
    return _crossing_public(crossing, now.get(crossing.id))


@router.get("/crossing-statuses", response_model=ListPublic[CrossingStatusPublic])
def list_statuses(
    session: SessionDep,
    principal: CurrentPrincipal,
    crossing_id: OptionalRecordId = None,
    start: MomentQuery = None,
    end: MomentQuery = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    """The status changes the caller may see; with `start` (and `end`): those in force at some
    moment of [start, end), the one in force at `start` first."""
    if start is not None and end is not None and end <= start:
        raise InvalidInput.field("query.end", "the period ends before it starts")
    stmt = crossings.status_statement(
        principal.viewer, crossing_id=crossing_id, start=start, end=end
    )
    page = paginate(session, stmt, CrossingStatusChange.id, cursor, limit)
    return page_response(CrossingStatusPublic, page)


@router.post(
    "/crossing-statuses",
    response_model=CrossingStatusPublic,
    status_code=status.HTTP_201_CREATED,
)
def record_status(body: CrossingStatusCreate, session: SessionDep, principal: LoggedIn) -> Any:
    """A new status of a crossing from `since` on, until its next change (the history is
    kept)."""
    return CrossingStatusPublic.model_validate(crossings.record_status(session, principal, body))


@router.get("/crossing-statuses/{status_id}", response_model=CrossingStatusPublic)
def get_status(status_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return CrossingStatusPublic.model_validate(crossings.get_status(session, principal, status_id))


# ---- entries and targets --------------------------------------------------------------------


@router.get("/aid-flow/entries", response_model=ListPublic[AidFlowEntryPublic])
def list_entries(
    session: SessionDep,
    principal: CurrentPrincipal,
    crossing_id: OptionalRecordId = None,
    cargo_category: CargoCategory | None = None,
    start: DayQuery = None,
    end: DayQuery = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = aidflow.entry_statement(
        principal.viewer,
        crossing_id=crossing_id,
        cargo_category=cargo_category,
        start=start,
        end=end,
    )
    page = paginate(session, stmt, AidFlowEntry.id, cursor, limit)
    return page_response(AidFlowEntryPublic, page)


@router.post(
    "/aid-flow/entries",
    response_model=AidFlowEntryPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": AidFlowEntryPublic,
            "description": "The stored figure of that crossing, day and category",
        }
    },
)
def record_entry(
    body: AidFlowEntryIn, session: SessionDep, principal: LoggedIn, response: Response
) -> Any:
    """The figure of a crossing, day and cargo category: 201 when new, 200 when it replaced
    (or repeated) the stored one."""
    entry, outcome = aidflow.record_entry(session, principal, body)
    if outcome != "created":
        response.status_code = status.HTTP_200_OK
    return AidFlowEntryPublic.model_validate(entry)


@router.get("/aid-flow/entries/{entry_id}", response_model=AidFlowEntryPublic)
def get_entry(entry_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return AidFlowEntryPublic.model_validate(aidflow.get_entry(session, principal, entry_id))


@router.get("/aid-flow/targets", response_model=ListPublic[AidFlowTargetPublic])
def list_targets(
    session: SessionDep,
    principal: CurrentPrincipal,
    crossing_id: OptionalRecordId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = aidflow.target_statement(principal.viewer, crossing_id=crossing_id)
    page = paginate(session, stmt, AidFlowTarget.id, cursor, limit)
    return page_response(AidFlowTargetPublic, page)


@router.post(
    "/aid-flow/targets", response_model=AidFlowTargetPublic, status_code=status.HTTP_201_CREATED
)
def create_target(body: AidFlowTargetCreate, session: SessionDep, principal: LoggedIn) -> Any:
    """Trucks per day to aim for, from `starts_on` until the next target of the same scope
    (one crossing or all, one cargo category or all)."""
    return AidFlowTargetPublic.model_validate(aidflow.create_target(session, principal, body))


@router.get("/aid-flow/targets/{target_id}", response_model=AidFlowTargetPublic)
def get_target(target_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return AidFlowTargetPublic.model_validate(aidflow.get_target(session, principal, target_id))


# ---- dashboard ------------------------------------------------------------------------------


def _total_public(total: Total) -> TotalPublic:
    return TotalPublic(
        key=total.key,
        label=total.label,
        trucks=total.trucks,
        average_per_day=total.average_per_day,
        target_trucks=total.target_trucks,
        share_of_target=total.share_of_target,
    )


@router.get("/aid-flow/dashboard", response_model=DashboardPublic)
def aid_flow_dashboard(
    session: SessionDep,
    principal: CurrentPrincipal,
    start: DayQuery = None,
    end: DayQuery = None,
    crossing_id: OptionalRecordId = None,
    cargo_category: CargoCategory | None = None,
) -> Any:
    """Trucks per day against the target in force, the 7-day average, and the totals per
    crossing and per cargo category against their targets, over the figures the caller may
    see. Default period: the 60 days up to today."""
    first, last = period(start, end, utcnow().date())
    if crossing_id is not None:
        crossings.referenced_crossing(session, principal.viewer, crossing_id, "query.crossing_id")
    board = dashboard(
        session,
        principal.viewer,
        first,
        last,
        crossing_id=crossing_id,
        cargo_category=cargo_category,
    )
    return DashboardPublic(
        start=board.start,
        end=board.end,
        crossing_id=board.crossing_id,
        cargo_category=board.cargo_category,
        days=[DayPublic(**vars(d)) for d in board.days],
        by_crossing=[_total_public(t) for t in board.by_crossing],
        by_category=[_total_public(t) for t in board.by_category],
        total=_total_public(board.total),
    )


# ---- files ----------------------------------------------------------------------------------


@router.post("/aid-flow/import", response_model=ImportedPublic, openapi_extra=CSV_BODY)
async def import_aid_flow(
    request: Request,
    platform: PlatformDep,
    principal: StreamPrincipal,
    releasability: Annotated[str, Query(description="Marking of every figure")] = "mission",
) -> Any:
    """Figures from a CSV body (HXL hashtags understood): one row per crossing, day and cargo
    category. The whole file is checked first; any problem answers 422 naming its line and
    column, and nothing is written."""
    if principal.user_id is None:
        raise Unauthorized("this resource needs a token: Authorization: Bearer <token>")
    body = await request.body()

    def run() -> Imported:
        with platform.unit_of_work(principal, write=True) as session:
            return import_figures(session, principal, body, releasability, "query.releasability")

    done = await run_in_threadpool(run)
    return ImportedPublic(**vars(done))


def _stream(
    platform: Platform,
    principal: Principal,
    fmt: Format,
    filters: dict[str, Any],
) -> Iterator[bytes]:
    with platform.unit_of_work(principal) as session:
        if fmt == "hxl-crossings":
            parts = crossings_hxl(session, principal.viewer)
        else:
            parts = entries_hxl(session, principal.viewer, **filters)
        for text in parts:
            yield text.encode()


@router.get(
    "/aid-flow/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_aid_flow(
    principal: StreamPrincipal,
    platform: PlatformDep,
    fmt: Annotated[
        Format, Query(alias="format", description="hxl-entries or hxl-crossings")
    ] = "hxl-entries",
    start: DayQuery = None,
    end: DayQuery = None,
    crossing_id: OptionalRecordId = None,
    cargo_category: CargoCategory | None = None,
) -> StreamingResponse:
    """HXL-tagged CSV, through the release policy: the daily figures (`hxl-entries`, filtered
    by day, crossing and category; the import reads it back), or the crossings with their
    status history (`hxl-crossings`)."""
    filters = {
        "start": start,
        "end": end,
        "crossing_id": crossing_id,
        "cargo_category": cargo_category,
    }
    return StreamingResponse(
        _stream(platform, principal, fmt, filters),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{FILE_NAMES[fmt]}"'},
    )
