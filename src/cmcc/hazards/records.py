"""EO spot reports, land release activities and accidents: each tied to a hazard area by id or
ref, each also linked to it in `hazard_links` (found_in, cleared_by, caused_by)."""

from __future__ import annotations

from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import InvalidInput, TransitionRefused
from cmcc.geo.backend import SpatialBackend
from cmcc.geo.geometry import BBox, parse_geometry
from cmcc.hazards import domain
from cmcc.hazards.domain import HazardStatus, LinkRelation
from cmcc.hazards.links import add_link, linked_hazard
from cmcc.hazards.models import EOAccident, EOSpotReport, HazardArea, LandReleaseActivity
from cmcc.hazards.schemas import (
    AccidentCreate,
    LandReleaseCreate,
    LandReleaseUpdate,
    SpotCreate,
    SpotUpdate,
)
from cmcc.hazards.service import parse_area, released_total, require_writer


def parse_point(value: Any, field: str, aoi: BBox, outside_aoi: bool) -> BaseGeometry:
    geom = parse_geometry(value, field=field, aoi=aoi, outside_aoi=outside_aoi)
    if geom.geom_type != "Point":
        raise InvalidInput.field(field, f"expected a GeoJSON Point, got {geom.geom_type}")
    return geom


# ---- EO spot reports ------------------------------------------------------------------------


def create_spot(
    session: Session, principal: Principal, data: SpotCreate, *, aoi: BBox
) -> EOSpotReport:
    require_writer(principal)
    hazard = (
        None
        if data.hazard is None
        else linked_hazard(session, principal, data.hazard, "body.hazard")
    )
    spot = EOSpotReport(
        device_category=data.device_category.value,
        device_type=data.device_type,
        description=data.description,
        found_at=data.found_at,
        disposition=data.disposition.value,
        hazard_id=hazard.id if hazard else None,
        owner_org_id=principal.org_id,
    )
    spot.geometry = parse_point(data.geometry, "body.geometry", aoi, data.outside_aoi)
    spot.marking = resolve_marking(session, data.releasability)
    session.add(spot)
    session.flush()
    if hazard is not None:
        add_link(session, spot.ref, hazard.ref, LinkRelation.FOUND_IN, principal.actor)
    return spot


def get_spot(session: Session, principal: Principal, spot_id: int) -> EOSpotReport:
    return get_visible(session, EOSpotReport, spot_id, principal.viewer)


def update_spot(
    session: Session, principal: Principal, spot_id: int, data: SpotUpdate
) -> EOSpotReport:
    require(principal, Permission.WRITE_HAZARDS)
    spot = get_spot(session, principal, spot_id)
    check_version(spot, data.version)
    changes = data.model_dump(exclude_unset=True, exclude={"version", "releasability"}, mode="json")
    if data.releasability is not None:
        spot.marking = resolve_marking(session, data.releasability)
    apply_changes(spot, {k: v for k, v in changes.items() if v is not None})
    session.flush()
    return spot


def spot_statement(
    principal: Principal, spatial: SpatialBackend, *, bbox: BBox | None, hazard_id: int | None
) -> Select[EOSpotReport]:
    stmt = visible(EOSpotReport, principal.viewer)
    if hazard_id is not None:
        stmt = stmt.where(EOSpotReport.hazard_id == hazard_id)
    if bbox is not None:
        stmt = stmt.where(spatial.bbox_filter(EOSpotReport, bbox))
    return stmt


# ---- land release ---------------------------------------------------------------------------


def _open_for_release(hazard: HazardArea) -> None:
    if hazard.status == HazardStatus.HANDED_OVER.value:
        raise TransitionRefused(f"{hazard.ref} is handed over; its land release is final")


def create_release(
    session: Session, principal: Principal, data: LandReleaseCreate, *, aoi: BBox
) -> LandReleaseActivity:
    require_writer(principal)
    hazard = linked_hazard(session, principal, data.hazard, "body.hazard")
    _open_for_release(hazard)
    total = (
        released_total(session, hazard.id) + data.cancelled_m2 + data.reduced_m2 + data.cleared_m2
    )
    domain.check_release_total(hazard.area_m2, total, "body.cleared_m2")
    activity = LandReleaseActivity(
        kind=data.kind.value,
        hazard_id=hazard.id,
        organization=data.organization,
        start_date=data.start_date,
        end_date=data.end_date,
        cancelled_m2=data.cancelled_m2,
        reduced_m2=data.reduced_m2,
        cleared_m2=data.cleared_m2,
        description=data.description,
        owner_org_id=principal.org_id,
    )
    if data.released_geometry is not None:
        activity.released_geometry = parse_area(
            data.released_geometry, "body.released_geometry", aoi, data.outside_aoi
        )
    activity.marking = resolve_marking(session, data.releasability)
    session.add(activity)
    session.flush()
    add_link(session, hazard.ref, activity.ref, LinkRelation.CLEARED_BY, principal.actor)
    return activity


def get_release(session: Session, principal: Principal, release_id: int) -> LandReleaseActivity:
    return get_visible(session, LandReleaseActivity, release_id, principal.viewer)


def update_release(
    session: Session, principal: Principal, release_id: int, data: LandReleaseUpdate, *, aoi: BBox
) -> LandReleaseActivity:
    require(principal, Permission.WRITE_HAZARDS)
    activity = get_release(session, principal, release_id)
    check_version(activity, data.version)
    hazard = session.get_one(HazardArea, activity.hazard_id)
    _open_for_release(hazard)
    changes: dict[str, Any] = data.model_dump(
        exclude_unset=True,
        exclude={"version", "releasability", "released_geometry", "outside_aoi"},
    )
    changes = {k: v for k, v in changes.items() if v is not None}
    end = changes.get("end_date", activity.end_date)
    if end is not None and end < activity.start_date:
        raise InvalidInput.field("body.end_date", "is before start_date")
    before = activity.released_m2
    after = sum(
        changes.get(k, getattr(activity, k)) for k in ("cancelled_m2", "reduced_m2", "cleared_m2")
    )
    total = released_total(session, hazard.id) - before + after
    domain.check_release_total(hazard.area_m2, total, "body.cleared_m2")
    if data.released_geometry is not None:
        activity.released_geometry = parse_area(
            data.released_geometry, "body.released_geometry", aoi, data.outside_aoi
        )
    if data.releasability is not None:
        activity.marking = resolve_marking(session, data.releasability)
    apply_changes(activity, changes)
    session.flush()
    return activity


def release_statement(
    principal: Principal, *, hazard_id: int | None
) -> Select[LandReleaseActivity]:
    stmt = visible(LandReleaseActivity, principal.viewer)
    if hazard_id is not None:
        stmt = stmt.where(LandReleaseActivity.hazard_id == hazard_id)
    return stmt


# ---- accidents ------------------------------------------------------------------------------


def create_accident(
    session: Session, principal: Principal, data: AccidentCreate, *, aoi: BBox
) -> EOAccident:
    require_writer(principal)
    hazard = (
        None
        if data.hazard is None
        else linked_hazard(session, principal, data.hazard, "body.hazard")
    )
    accident = EOAccident(
        kind=data.kind.value,
        device_category=data.device_category.value,
        device_type=data.device_type,
        occurred_at=data.occurred_at,
        killed=data.killed,
        injured=data.injured,
        description=data.description,
        hazard_id=hazard.id if hazard else None,
        owner_org_id=principal.org_id,
    )
    accident.geometry = parse_point(data.geometry, "body.geometry", aoi, data.outside_aoi)
    accident.marking = resolve_marking(session, data.releasability)
    session.add(accident)
    session.flush()
    if hazard is not None:
        add_link(session, accident.ref, hazard.ref, LinkRelation.CAUSED_BY, principal.actor)
    return accident


def get_accident(session: Session, principal: Principal, accident_id: int) -> EOAccident:
    return get_visible(session, EOAccident, accident_id, principal.viewer)


def accident_statement(
    principal: Principal, spatial: SpatialBackend, *, bbox: BBox | None, hazard_id: int | None
) -> Select[EOAccident]:
    stmt = visible(EOAccident, principal.viewer)
    if hazard_id is not None:
        stmt = stmt.where(EOAccident.hazard_id == hazard_id)
    if bbox is not None:
        stmt = stmt.where(spatial.bbox_filter(EOAccident, bbox))
    return stmt
