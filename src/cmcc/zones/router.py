"""REST routes of zones under /api/v1/zones."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

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
from cmcc.geo.geometry import parse_bbox
from cmcc.zones import service
from cmcc.zones.domain import ZoneKind
from cmcc.zones.models import Zone
from cmcc.zones.schemas import FeatureCollection, ZoneCreate, ZoneMove, ZonePublic, ZoneUpdate

router = APIRouter(prefix="/api/v1/zones", tags=["zones"])
BBoxQuery = Annotated[
    str | None,
    Query(description="min lon, min lat, max lon, max lat", examples=["34.2,31.2,34.6,31.6"]),
]
AsOf = Annotated[
    AwareDatetime | None, Query(description="The picture at this moment (default now)")
]


@router.get("", response_model=ListPublic[ZonePublic])
def list_zones(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    kind: ZoneKind | None = None,
    as_of: AsOf = None,
    history: Annotated[bool, Query(description="Every version, whatever its validity")] = False,
    bbox: BBoxQuery = None,
    lineage: OptionalRecordId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    box = parse_bbox(bbox, field="query.bbox") if bbox else None
    stmt = service.zone_statement(
        principal,
        platform.spatial,
        kind=kind,
        as_of=as_of,
        history=history,
        bbox=box,
        lineage=lineage,
    )
    return page_response(ZonePublic, paginate(session, stmt, Zone.id, cursor, limit))


@router.get("/export", response_model=FeatureCollection)
def export_zones(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    kind: ZoneKind | None = None,
    as_of: AsOf = None,
    history: bool = False,
) -> Any:
    """The zones as a GeoJSON FeatureCollection (RFC 7946), as the caller may see them."""
    stmt = service.zone_statement(
        principal, platform.spatial, kind=kind, as_of=as_of, history=history
    )
    return {
        "type": "FeatureCollection",
        "features": [service.feature(z) for z in session.scalars(stmt.order_by(Zone.id))],
    }


@router.post("/import", response_model=list[ZonePublic], status_code=status.HTTP_201_CREATED)
def import_zones(
    body: dict[str, Any], session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    """A GeoJSON FeatureCollection; feature properties are the fields of a new zone. All or
    nothing: the first bad feature is named and nothing is stored."""
    made = service.import_zones(
        session, principal, body, aoi=platform.settings.aoi_bbox, fence=platform.fence()
    )
    return [ZonePublic.model_validate(z) for z in made]


@router.post("", response_model=ZonePublic, status_code=status.HTTP_201_CREATED)
def create_zone(
    body: ZoneCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    zone = service.create_zone(
        session, principal, body, aoi=platform.settings.aoi_bbox, fence=platform.fence()
    )
    return ZonePublic.model_validate(zone)


@router.get("/{zone_id}", response_model=ZonePublic)
def get_zone(zone_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return ZonePublic.model_validate(service.get_zone(session, principal, zone_id))


@router.patch("/{zone_id}", response_model=ZonePublic)
def update_zone(
    zone_id: RecordId,
    body: ZoneUpdate,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    zone = service.update_zone(session, principal, zone_id, body, platform.fence())
    return ZonePublic.model_validate(zone)


@router.post("/{zone_id}/versions", response_model=ZonePublic, status_code=201)
def move_zone(
    zone_id: RecordId,
    body: ZoneMove,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    """A new geometry from `valid_from`; the current version closes then (history is kept)."""
    zone = service.move_zone(
        session, principal, zone_id, body, aoi=platform.settings.aoi_bbox, fence=platform.fence()
    )
    return ZonePublic.model_validate(zone)
