"""Hazard areas: record, redraw, change status (with handover to a cleared area of the
operational picture), list, and the spatial question other modules ask: which open hazards
touch this geometry?"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.core.changes import picture_changed
from cmcc.core.clock import utcnow
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import Forbidden, TransitionRefused
from cmcc.geo.backend import SpatialBackend
from cmcc.geo.geofence import GeofenceEngine
from cmcc.geo.geometry import AREA_TYPES, BBox, parse_geometry, to_geojson
from cmcc.hazards import domain
from cmcc.hazards.domain import Classification, HazardStatus
from cmcc.hazards.models import HazardArea, HazardStatusChange, LandReleaseActivity
from cmcc.hazards.schemas import HazardCreate, HazardUpdate, StatusChangeCreate
from cmcc.zones.domain import ZoneKind
from cmcc.zones.schemas import ZoneCreate
from cmcc.zones.service import create_derived_zone, follow_marking

if TYPE_CHECKING:
    from cmcc.zones.models import Zone


def visible_refs(
    session: Session, principal: Principal, hazard_ids: Iterable[int]
) -> dict[int, str]:
    """The refs (`hazard_12`) of those hazard areas among `hazard_ids` the caller may see."""
    ids = list(hazard_ids)
    if not ids:
        return {}
    stmt = visible(HazardArea, principal.viewer).where(HazardArea.id.in_(ids))
    return {hazard.id: hazard.ref for hazard in session.scalars(stmt)}


def open_hazards_touching(
    session: Session, principal: Principal, spatial: SpatialBackend, geometry: BaseGeometry
) -> list[HazardArea]:
    """The open hazard areas (SHA or CHA) visible to the principal whose area intersects
    `geometry`: the spatial index narrows, shapely decides."""
    base = visible(HazardArea, principal.viewer, HazardArea.status == HazardStatus.OPEN.value)
    stmt = base.where(
        spatial.bbox_filter(HazardArea, geometry.bounds),
        spatial.intersects_filter(session, HazardArea, geometry, base),
    )
    shapely.prepare(geometry)
    return [
        h for h in session.scalars(stmt.order_by(HazardArea.id)) if geometry.intersects(h.geometry)
    ]


def parse_area(value: Any, field: str, aoi: BBox, outside_aoi: bool) -> BaseGeometry:
    return parse_geometry(value, field=field, aoi=aoi, outside_aoi=outside_aoi, areas_only=True)


def create_hazard(
    session: Session, principal: Principal, data: HazardCreate, *, aoi: BBox
) -> HazardArea:
    require_writer(principal)
    geom = parse_area(data.geometry, "body.geometry", aoi, data.outside_aoi)
    hazard = HazardArea(
        name=data.name,
        classification=data.classification.value,
        status=HazardStatus.OPEN.value,
        device_category=data.device_category.value,
        device_type=data.device_type,
        description=data.description,
        area_m2=domain.area_m2(geom),
        owner_org_id=principal.org_id,
    )
    hazard.geometry = geom
    hazard.marking = resolve_marking(session, data.releasability)
    session.add(hazard)
    session.flush()
    picture_changed(session, "hazard", hazard.id)
    return hazard


def get_hazard(session: Session, principal: Principal, hazard_id: int) -> HazardArea:
    return get_visible(session, HazardArea, hazard_id, principal.viewer)


def released_total(session: Session, hazard_id: int, *, completed_only: bool = False) -> int:
    """Square metres cancelled + reduced + cleared by the hazard's land release activities."""
    a = LandReleaseActivity
    stmt = select(func.coalesce(func.sum(a.cancelled_m2 + a.reduced_m2 + a.cleared_m2), 0)).where(
        a.hazard_id == hazard_id
    )
    if completed_only:
        stmt = stmt.where(a.end_date.is_not(None))
    return int(session.scalar(stmt) or 0)


def update_hazard(
    session: Session, principal: Principal, hazard_id: int, data: HazardUpdate, *, aoi: BBox
) -> HazardArea:
    require(principal, Permission.WRITE_HAZARDS)
    hazard = get_hazard(session, principal, hazard_id)
    check_version(hazard, data.version)
    changes: dict[str, Any] = data.model_dump(
        exclude_unset=True,
        exclude={"version", "releasability", "geometry", "outside_aoi"},
        mode="json",
    )
    changes = {k: v for k, v in changes.items() if v is not None}
    if data.releasability is not None:
        hazard.marking = resolve_marking(session, data.releasability)
        follow_marking(session, derived_source(hazard), hazard.marking)
    if data.geometry is not None:
        if hazard.status == HazardStatus.HANDED_OVER.value:
            raise TransitionRefused("a handed-over hazard area cannot be redrawn")
        geom = parse_area(data.geometry, "body.geometry", aoi, data.outside_aoi)
        area = domain.area_m2(geom)
        domain.check_release_total(area, released_total(session, hazard.id), "body.geometry")
        hazard.geometry = geom
        hazard.area_m2 = area
    apply_changes(hazard, changes)
    session.flush()
    picture_changed(session, "hazard", hazard.id)
    return hazard


def _cleared_geometry(session: Session, hazard: HazardArea) -> BaseGeometry:
    """The drawn released land of the completed activities when every one of them that
    released land drew it; otherwise the hazard's own area."""
    done = session.scalars(
        select(LandReleaseActivity).where(
            LandReleaseActivity.hazard_id == hazard.id, LandReleaseActivity.end_date.is_not(None)
        )
    ).all()
    releasing = [a for a in done if a.released_m2 > 0]
    drawn = [a.released_geometry for a in releasing]
    if not releasing or any(g is None for g in drawn):
        return hazard.geometry
    merged = shapely.union_all([g for g in drawn if g is not None])
    return merged if merged.geom_type in AREA_TYPES and not merged.is_empty else hazard.geometry


def _feed_cleared_area(
    session: Session,
    hazard: HazardArea,
    *,
    aoi: BBox,
    fence: GeofenceEngine | None,
) -> Zone:
    """A zone of kind cleared_area, owned and marked like the hazard, from the handover on.
    The caller's write_hazards permission authorizes it: the zone is derived from the hazard
    (see docs/modules/hazards.md)."""
    data = ZoneCreate(
        name=f"Cleared: {hazard.name}"[:200],
        kind=ZoneKind.CLEARED_AREA,
        geometry=to_geojson(_cleared_geometry(session, hazard)),
        valid_from=hazard.handed_over_at,
        description=f"Land released and handed over from {hazard.ref}",
        source=hazard.ref,
        releasability=hazard.marking_text,
        outside_aoi=True,
    )
    return create_derived_zone(
        session,
        hazard.owner_org_id,
        data,
        aoi=aoi,
        fence=fence,
        field="hazard.geometry",
        derived_from=derived_source(hazard),
    )


def derived_source(hazard: HazardArea) -> str:
    """How the zones derived from a hazard name it."""
    return f"{HazardArea.__tablename__}:{hazard.id}"


def change_status(
    session: Session,
    principal: Principal,
    hazard_id: int,
    data: StatusChangeCreate,
    *,
    aoi: BBox,
    fence: GeofenceEngine | None,
) -> HazardArea:
    require(principal, Permission.WRITE_HAZARDS)
    hazard = get_hazard(session, principal, hazard_id)
    check_version(hazard, data.version)
    current = HazardStatus(hazard.status)
    domain.check_transition(current, data.to)
    if data.to is HazardStatus.HANDED_OVER:
        completed = session.scalar(
            select(func.count()).where(
                LandReleaseActivity.hazard_id == hazard.id,
                LandReleaseActivity.end_date.is_not(None),
            )
        )
        domain.check_handover(
            hazard.area_m2, released_total(session, hazard.id, completed_only=True), completed or 0
        )
    session.add(
        HazardStatusChange(
            hazard_id=hazard.id,
            from_status=current.value,
            to_status=data.to.value,
            reason=data.reason,
            by=principal.actor,
        )
    )
    hazard.status = data.to.value
    if data.to is HazardStatus.HANDED_OVER:
        hazard.handed_over_at = utcnow()
        zone = _feed_cleared_area(session, hazard, aoi=aoi, fence=fence)
        hazard.cleared_zone_id = zone.id
    session.flush()
    picture_changed(session, "hazard", hazard.id)
    return hazard


def status_changes(
    session: Session, principal: Principal, hazard_id: int
) -> list[HazardStatusChange]:
    hazard = get_hazard(session, principal, hazard_id)
    stmt = select(HazardStatusChange).where(HazardStatusChange.hazard_id == hazard.id)
    return list(session.scalars(stmt.order_by(HazardStatusChange.id)))


def hazard_statement(
    principal: Principal,
    spatial: SpatialBackend,
    *,
    bbox: BBox | None = None,
    status: HazardStatus | None = None,
    classification: Classification | None = None,
) -> Select[HazardArea]:
    stmt = visible(HazardArea, principal.viewer)
    if status is not None:
        stmt = stmt.where(HazardArea.status == status.value)
    if classification is not None:
        stmt = stmt.where(HazardArea.classification == classification.value)
    if bbox is not None:
        stmt = stmt.where(spatial.bbox_filter(HazardArea, bbox))
    return stmt


def feature(hazard: HazardArea) -> dict[str, Any]:
    """The hazard area as a GeoJSON Feature (the OGC collection)."""
    return {
        "type": "Feature",
        "id": str(hazard.id),
        "geometry": hazard.geojson,
        "properties": {
            "ref": hazard.ref,
            "name": hazard.name,
            "classification": hazard.classification,
            "status": hazard.status,
            "device_category": hazard.device_category,
            "device_type": hazard.device_type,
            "area_m2": hazard.area_m2,
            "handed_over_at": hazard.handed_over_at.isoformat() if hazard.handed_over_at else None,
            "releasability": hazard.marking_text,
            "owner": hazard.owner_code,
        },
    }


def require_writer(principal: Principal) -> None:
    """Writes of this module need write_hazards and an organization to own the record."""
    require(principal, Permission.WRITE_HAZARDS)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can create records")
