"""REST routes of the hazards module: hazard areas, EO spot reports, land release, accidents
and links. A path id takes the number (12) or the ref (hazard_12)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from cmcc.api.deps import CurrentPrincipal, Cursor, Limit, LoggedIn, PlatformDep, SessionDep
from cmcc.api.responses import page_response
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic
from cmcc.geo.geometry import BBox, parse_bbox
from cmcc.hazards import links, records, service
from cmcc.hazards.domain import Classification, HazardStatus, RefType, parse_id
from cmcc.hazards.models import EOAccident, EOSpotReport, HazardArea, LandReleaseActivity
from cmcc.hazards.schemas import (
    AccidentCreate,
    AccidentPublic,
    HazardCreate,
    HazardPublic,
    HazardUpdate,
    LandReleaseCreate,
    LandReleasePublic,
    LandReleaseUpdate,
    LinkCreate,
    LinkPublic,
    SpotCreate,
    SpotPublic,
    SpotUpdate,
    StatusChangeCreate,
    StatusChangePublic,
)

router = APIRouter(prefix="/api/v1", tags=["hazards"])
BBoxQuery = Annotated[
    str | None,
    Query(description="min lon, min lat, max lon, max lat", examples=["34.2,31.2,34.6,31.6"]),
]
HazardQuery = Annotated[
    str | None, Query(description="Only records of this hazard area (id or ref)")
]


def _box(bbox: str | None) -> BBox | None:
    return parse_bbox(bbox, field="query.bbox") if bbox else None


def _hazard_filter(value: str | None) -> int | None:
    return None if value is None else parse_id(value, RefType.HAZARD, "query.hazard")


# ---- hazard areas ---------------------------------------------------------------------------


@router.get("/hazards", response_model=ListPublic[HazardPublic])
def list_hazards(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    bbox: BBoxQuery = None,
    status: HazardStatus | None = None,
    classification: Classification | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = service.hazard_statement(
        principal, platform.spatial, bbox=_box(bbox), status=status, classification=classification
    )
    return page_response(HazardPublic, paginate(session, stmt, HazardArea.id, cursor, limit))


@router.post("/hazards", response_model=HazardPublic, status_code=status.HTTP_201_CREATED)
def create_hazard(
    body: HazardCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    hazard = service.create_hazard(session, principal, body, aoi=platform.settings.aoi_bbox)
    return HazardPublic.model_validate(hazard)


@router.get("/hazards/{hazard_id}", response_model=HazardPublic)
def get_hazard(hazard_id: str, session: SessionDep, principal: CurrentPrincipal) -> Any:
    hid = parse_id(hazard_id, RefType.HAZARD, "path.hazard_id")
    return HazardPublic.model_validate(service.get_hazard(session, principal, hid))


@router.patch("/hazards/{hazard_id}", response_model=HazardPublic)
def update_hazard(
    hazard_id: str,
    body: HazardUpdate,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    hid = parse_id(hazard_id, RefType.HAZARD, "path.hazard_id")
    hazard = service.update_hazard(session, principal, hid, body, aoi=platform.settings.aoi_bbox)
    return HazardPublic.model_validate(hazard)


@router.post("/hazards/{hazard_id}/status", response_model=HazardPublic)
def change_status(
    hazard_id: str,
    body: StatusChangeCreate,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    """open -> closed | handed_over; closed -> open | handed_over. Handover needs completed
    land release and makes a cleared_area zone."""
    hid = parse_id(hazard_id, RefType.HAZARD, "path.hazard_id")
    hazard = service.change_status(
        session, principal, hid, body, aoi=platform.settings.aoi_bbox, fence=platform.fence()
    )
    return HazardPublic.model_validate(hazard)


@router.get("/hazards/{hazard_id}/status", response_model=list[StatusChangePublic])
def status_changes(hazard_id: str, session: SessionDep, principal: CurrentPrincipal) -> Any:
    hid = parse_id(hazard_id, RefType.HAZARD, "path.hazard_id")
    changes = service.status_changes(session, principal, hid)
    return [StatusChangePublic.model_validate(c) for c in changes]


# ---- EO spot reports ------------------------------------------------------------------------


@router.get("/eo-spots", response_model=ListPublic[SpotPublic])
def list_spots(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    bbox: BBoxQuery = None,
    hazard: HazardQuery = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = records.spot_statement(
        principal, platform.spatial, bbox=_box(bbox), hazard_id=_hazard_filter(hazard)
    )
    return page_response(SpotPublic, paginate(session, stmt, EOSpotReport.id, cursor, limit))


@router.post("/eo-spots", response_model=SpotPublic, status_code=status.HTTP_201_CREATED)
def create_spot(
    body: SpotCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    spot = records.create_spot(session, principal, body, aoi=platform.settings.aoi_bbox)
    return SpotPublic.model_validate(spot)


@router.get("/eo-spots/{spot_id}", response_model=SpotPublic)
def get_spot(spot_id: str, session: SessionDep, principal: CurrentPrincipal) -> Any:
    sid = parse_id(spot_id, RefType.EO_SPOT, "path.spot_id")
    return SpotPublic.model_validate(records.get_spot(session, principal, sid))


@router.patch("/eo-spots/{spot_id}", response_model=SpotPublic)
def update_spot(spot_id: str, body: SpotUpdate, session: SessionDep, principal: LoggedIn) -> Any:
    sid = parse_id(spot_id, RefType.EO_SPOT, "path.spot_id")
    return SpotPublic.model_validate(records.update_spot(session, principal, sid, body))


# ---- land release ---------------------------------------------------------------------------


@router.get("/land-release", response_model=ListPublic[LandReleasePublic])
def list_releases(
    session: SessionDep,
    principal: CurrentPrincipal,
    hazard: HazardQuery = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = records.release_statement(principal, hazard_id=_hazard_filter(hazard))
    page = paginate(session, stmt, LandReleaseActivity.id, cursor, limit)
    return page_response(LandReleasePublic, page)


@router.post("/land-release", response_model=LandReleasePublic, status_code=status.HTTP_201_CREATED)
def create_release(
    body: LandReleaseCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    activity = records.create_release(session, principal, body, aoi=platform.settings.aoi_bbox)
    return LandReleasePublic.model_validate(activity)


@router.get("/land-release/{release_id}", response_model=LandReleasePublic)
def get_release(release_id: str, session: SessionDep, principal: CurrentPrincipal) -> Any:
    rid = parse_id(release_id, RefType.LAND_RELEASE, "path.release_id")
    return LandReleasePublic.model_validate(records.get_release(session, principal, rid))


@router.patch("/land-release/{release_id}", response_model=LandReleasePublic)
def update_release(
    release_id: str,
    body: LandReleaseUpdate,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    """Record progress; set end_date when the activity is completed."""
    rid = parse_id(release_id, RefType.LAND_RELEASE, "path.release_id")
    activity = records.update_release(session, principal, rid, body, aoi=platform.settings.aoi_bbox)
    return LandReleasePublic.model_validate(activity)


# ---- accidents ------------------------------------------------------------------------------


@router.get("/eo-accidents", response_model=ListPublic[AccidentPublic])
def list_accidents(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    bbox: BBoxQuery = None,
    hazard: HazardQuery = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = records.accident_statement(
        principal, platform.spatial, bbox=_box(bbox), hazard_id=_hazard_filter(hazard)
    )
    return page_response(AccidentPublic, paginate(session, stmt, EOAccident.id, cursor, limit))


@router.post("/eo-accidents", response_model=AccidentPublic, status_code=status.HTTP_201_CREATED)
def create_accident(
    body: AccidentCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    accident = records.create_accident(session, principal, body, aoi=platform.settings.aoi_bbox)
    return AccidentPublic.model_validate(accident)


@router.get("/eo-accidents/{accident_id}", response_model=AccidentPublic)
def get_accident(accident_id: str, session: SessionDep, principal: CurrentPrincipal) -> Any:
    aid = parse_id(accident_id, RefType.EO_ACCIDENT, "path.accident_id")
    return AccidentPublic.model_validate(records.get_accident(session, principal, aid))


# ---- links ----------------------------------------------------------------------------------


@router.get("/hazard-links", response_model=ListPublic[LinkPublic])
def list_links(
    session: SessionDep,
    principal: CurrentPrincipal,
    ref: Annotated[str, Query(description="The record whose links to list, e.g. hazard_12")],
) -> Any:
    found = links.links_of(session, principal, ref)
    return ListPublic[LinkPublic](
        data=[LinkPublic.model_validate(link) for link in found], count=len(found)
    )


@router.post("/hazard-links", response_model=LinkPublic, status_code=status.HTTP_201_CREATED)
def create_link(body: LinkCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return LinkPublic.model_validate(links.create_link(session, principal, body))
