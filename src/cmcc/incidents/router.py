"""REST routes of incidents (/api/v1/incidents) and alerts (/api/v1/alerts)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from cmcc.access.domain import Principal
from cmcc.api.deps import (
    CurrentPrincipal,
    Cursor,
    Limit,
    LoggedIn,
    PlatformDep,
    RecordId,
    SessionDep,
    StreamPrincipal,
    about_caller,
    still_signed_in,
)
from cmcc.api.responses import page_response, records_response
from cmcc.bootstrap import Platform
from cmcc.core.errors import NotFound
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic
from cmcc.incidents import readout, service
from cmcc.incidents.filters import IncidentFiltersDep
from cmcc.incidents.models import Alert, Incident
from cmcc.incidents.schemas import (
    AlertAction,
    AlertPublic,
    DuplicatePublic,
    EvidenceCreate,
    EvidencePublic,
    IncidentCreate,
    IncidentPublic,
    IncidentUpdate,
    VerificationCreate,
    VerificationPublic,
)

router = APIRouter(prefix="/api/v1", tags=["incidents"])
HEARTBEAT_SECONDS = 15.0


@router.get("/incidents", response_model=ListPublic[IncidentPublic])
def list_incidents(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    filters: IncidentFiltersDep,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Any:
    """The picture's list: 100 a page unless `limit` says otherwise (the map's common request,
    a box and a window, is one page; the page of 500 is there for exports that page through)."""
    stmt = service.incident_statement(session, principal, platform.spatial, **filters.kwargs())
    page = paginate(session, stmt, Incident.id, cursor, limit, columns=readout.COLUMNS)
    return records_response(readout.public_records(session, page.items), page)


@router.post("/incidents", response_model=IncidentPublic, status_code=status.HTTP_201_CREATED)
def create_incident(
    body: IncidentCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    incident = service.create_incident(
        session,
        principal,
        body,
        aoi=platform.settings.aoi_bbox,
        fence=platform.fence(),
        bus=platform.bus,
    )
    return IncidentPublic.model_validate(incident)


@router.get("/incidents/{incident_id}", response_model=IncidentPublic)
def get_incident(incident_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return IncidentPublic.model_validate(service.get_incident(session, principal, incident_id))


@router.patch("/incidents/{incident_id}", response_model=IncidentPublic)
def update_incident(
    incident_id: RecordId, body: IncidentUpdate, session: SessionDep, principal: LoggedIn
) -> Any:
    return IncidentPublic.model_validate(
        service.update_incident(session, principal, incident_id, body)
    )


@router.get("/incidents/{incident_id}/verification", response_model=list[VerificationPublic])
def list_verification(
    incident_id: RecordId, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    return [
        VerificationPublic.model_validate(s) for s in service.steps(session, principal, incident_id)
    ]


@router.post(
    "/incidents/{incident_id}/verification", response_model=VerificationPublic, status_code=201
)
def verify_incident(
    incident_id: RecordId, body: VerificationCreate, session: SessionDep, principal: LoggedIn
) -> Any:
    return VerificationPublic.model_validate(service.verify(session, principal, incident_id, body))


@router.get("/incidents/{incident_id}/evidence", response_model=list[EvidencePublic])
def list_evidence(incident_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return [
        EvidencePublic.model_validate(e) for e in service.evidence(session, principal, incident_id)
    ]


@router.post("/incidents/{incident_id}/evidence", response_model=EvidencePublic, status_code=201)
def add_evidence(
    incident_id: RecordId, body: EvidenceCreate, session: SessionDep, principal: LoggedIn
) -> Any:
    return EvidencePublic.model_validate(
        service.add_evidence(session, principal, incident_id, body)
    )


@router.get("/incidents/{incident_id}/duplicates", response_model=list[DuplicatePublic])
def list_duplicates(
    incident_id: RecordId,
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    distance_m: Annotated[float | None, Query(gt=0, le=100_000)] = None,
    window_hours: Annotated[float | None, Query(gt=0, le=720)] = None,
) -> Any:
    """Possible duplicates: the same type within a distance and a time window (defaults from
    CMCC_DUPLICATE_DISTANCE_M and CMCC_DUPLICATE_WINDOW_HOURS)."""
    s = platform.settings
    found = service.duplicates(
        session,
        principal,
        platform.spatial,
        incident_id,
        distance_m=distance_m or s.duplicate_distance_m,
        window=dt.timedelta(hours=window_hours or s.duplicate_window_hours),
    )
    return [
        DuplicatePublic(
            incident=IncidentPublic.model_validate(i),
            distance_m=round(d, 1),
            hours_apart=round(h, 2),
        )
        for i, d, h in found
    ]


# --- alerts -----------------------------------------------------------------------------------


@router.get("/alerts", response_model=ListPublic[AlertPublic])
def list_alerts(
    session: SessionDep,
    principal: CurrentPrincipal,
    status: Literal["open", "acknowledged", "closed"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = service.alert_statement(principal, status)
    return page_response(AlertPublic, paginate(session, stmt, Alert.id, cursor, limit))


def _visible_alert(
    platform: Platform, principal: Principal, alert_id: int
) -> dict[str, Any] | None:
    with platform.unit_of_work(principal) as session:
        try:
            alert = service.get_alert(session, principal, alert_id)
        except NotFound:
            return None
        return AlertPublic.model_validate(alert).model_dump(mode="json")


@router.get(
    "/alerts/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def alert_stream(
    request: Request, principal: StreamPrincipal, platform: PlatformDep
) -> StreamingResponse:
    """Server-sent events: one `alert` event per new alert the caller may see, and a comment
    line every 15 s to keep the connection open. The stream ends when the caller's token
    stops being good (revoked, its user deactivated): checked at each keep-alive, and at once
    when the user's record changes."""
    sub = platform.bus.subscribe()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    if not await run_in_threadpool(still_signed_in, request, platform):
                        break
                    yield b": keep-alive\n\n"
                    continue
                if about_caller(event, principal):
                    if not await run_in_threadpool(still_signed_in, request, platform):
                        break
                    continue
                if event.get("type") != "alert":
                    continue
                body = await run_in_threadpool(_visible_alert, platform, principal, event["id"])
                if body is not None:
                    yield b"event: alert\ndata: " + orjson.dumps(body) + b"\n\n"
        finally:
            platform.bus.unsubscribe(sub)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/alerts/{alert_id}", response_model=AlertPublic)
def get_alert(alert_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return AlertPublic.model_validate(service.get_alert(session, principal, alert_id))


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertPublic)
def acknowledge_alert(
    alert_id: RecordId, body: AlertAction, session: SessionDep, principal: LoggedIn
) -> Any:
    return AlertPublic.model_validate(
        service.act_on_alert(session, principal, alert_id, "acknowledge", body.version)
    )


@router.post("/alerts/{alert_id}/close", response_model=AlertPublic)
def close_alert(
    alert_id: RecordId, body: AlertAction, session: SessionDep, principal: LoggedIn
) -> Any:
    return AlertPublic.model_validate(
        service.act_on_alert(session, principal, alert_id, "close", body.version)
    )
