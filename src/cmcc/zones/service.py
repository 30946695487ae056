"""Zones: create, move (a new version with history kept), close, list as of any moment,
GeoJSON import and export. Every change refreshes the geofence engine after commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.core.changes import picture_changed
from cmcc.core.clock import utcnow
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import Forbidden, InvalidInput
from cmcc.core.releasability import Marking
from cmcc.core.uow import after_commit
from cmcc.geo.backend import SpatialBackend
from cmcc.geo.geofence import FenceZone, GeofenceEngine
from cmcc.geo.geometry import AREA_TYPES, BBox, parse_geometry
from cmcc.zones import domain
from cmcc.zones.domain import ALERTING_KINDS, ZoneKind
from cmcc.zones.models import Zone
from cmcc.zones.schemas import ZoneCreate, ZoneMove, ZoneUpdate


def fence_zone(zone: Zone) -> FenceZone | None:
    """The zone as the geofence sees it (areas only)."""
    geom = zone.geometry
    if geom.geom_type not in AREA_TYPES:
        return None
    return FenceZone(zone.id, zone.kind, geom, zone.valid_from, zone.valid_to)


def load_fence(session: Session, engine: GeofenceEngine) -> None:
    """Fill the engine with every zone version (validity is checked per query)."""
    zones = (fence_zone(z) for z in session.scalars(select(Zone)))
    engine.replace_all(z for z in zones if z is not None)


def follow_fence(session: Session, fence: GeofenceEngine, zone_ids: list[int]) -> None:
    """Zones written by another instance (announced on the bus), read again into this
    instance's engine; removed when they are gone."""
    found = {z.id: z for z in session.scalars(select(Zone).where(Zone.id.in_(zone_ids)))}
    for zone_id in zone_ids:
        shape_ = fence_zone(found[zone_id]) if zone_id in found else None
        if shape_ is None:
            fence.remove(zone_id)
        else:
            fence.upsert(shape_)


def _refresh(session: Session, fence: GeofenceEngine | None, zone: Zone) -> None:
    if fence is None:
        return
    shape_ = fence_zone(zone)
    zone_id = zone.id

    def apply() -> None:
        if shape_ is None:
            fence.remove(zone_id)
        else:
            fence.upsert(shape_)

    after_commit(session, apply)


def _geometry(data: Any, kind: ZoneKind, aoi: BBox, field: str) -> BaseGeometry:
    return parse_geometry(
        data.geometry,
        field=field,
        aoi=aoi,
        outside_aoi=data.outside_aoi,
        areas_only=kind in ALERTING_KINDS,
    )


def create_zone(
    session: Session,
    principal: Principal,
    data: ZoneCreate,
    *,
    aoi: BBox,
    fence: GeofenceEngine | None,
    field: str = "body.geometry",
) -> Zone:
    require(principal, Permission.WRITE_ZONES)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can create records")
    return create_derived_zone(session, principal.org_id, data, aoi=aoi, fence=fence, field=field)


def create_derived_zone(
    session: Session,
    owner_org_id: int,
    data: ZoneCreate,
    *,
    aoi: BBox,
    fence: GeofenceEngine | None,
    field: str = "body.geometry",
    derived_from: str | None = None,
) -> Zone:
    """A zone; with `derived_from` (`<table>:<id>`), one that follows from another module's
    record (a cleared area from a hazard handed over), owned by that record's organization and
    marked like it (`follow_marking` keeps it so). The calling service has checked its own
    permission (write_hazards); the audit log names the caller of that service."""
    valid_from = data.valid_from or utcnow()
    if data.valid_to is not None and data.valid_to <= valid_from:
        raise InvalidInput.field("body.valid_to", "must be after valid_from")
    zone = Zone(
        name=data.name,
        kind=data.kind.value,
        valid_from=valid_from,
        valid_to=data.valid_to,
        notional=data.notional,
        description=data.description,
        source=data.source,
        owner_org_id=owner_org_id,
        derived_from=derived_from,
    )
    zone.geometry = _geometry(data, data.kind, aoi, field)
    zone.marking = resolve_marking(session, data.releasability)
    session.add(zone)
    session.flush()
    _refresh(session, fence, zone)
    picture_changed(session, "zone", zone.id)
    return zone


def follow_marking(session: Session, source: str, marking: Marking) -> None:
    """Give the zones derived from `source` (`<table>:<id>`), every version, its new marking."""
    for zone in session.scalars(select(Zone).where(Zone.derived_from == source)):
        if zone.marking != marking:
            zone.marking = marking
    session.flush()


def get_zone(session: Session, principal: Principal, zone_id: int) -> Zone:
    return get_visible(session, Zone, zone_id, principal.viewer)


def update_zone(
    session: Session,
    principal: Principal,
    zone_id: int,
    data: ZoneUpdate,
    fence: GeofenceEngine | None,
) -> Zone:
    require(principal, Permission.WRITE_ZONES)
    zone = get_zone(session, principal, zone_id)
    check_version(zone, data.version)
    changes = data.model_dump(exclude_unset=True, exclude={"version", "releasability"})
    if data.releasability is not None:
        if zone.derived_from is not None:
            raise InvalidInput.field(
                "body.releasability",
                f"this zone is derived from {zone.derived_from.replace(':', ' ')} and carries "
                "its marking: change the marking of that record",
            )
        zone.marking = resolve_marking(session, data.releasability)
    if changes.get("valid_to") is not None and changes["valid_to"] <= zone.valid_from:
        raise InvalidInput.field("body.valid_to", "must be after valid_from")
    apply_changes(zone, changes)
    session.flush()
    _refresh(session, fence, zone)
    picture_changed(session, "zone", zone.id)
    return zone


def move_zone(
    session: Session,
    principal: Principal,
    zone_id: int,
    data: ZoneMove,
    *,
    aoi: BBox,
    fence: GeofenceEngine | None,
) -> Zone:
    """Close the current version at `valid_from` and start a new one with the new geometry."""
    require(principal, Permission.WRITE_ZONES)
    old = get_zone(session, principal, zone_id)
    check_version(old, data.version)
    if old.valid_to is not None:
        raise InvalidInput.field("path.zone_id", "this version is closed; move the newest one")
    if data.valid_from <= old.valid_from:
        raise InvalidInput.field("body.valid_from", f"must be after {old.valid_from.isoformat()}")
    geom = _geometry(data, ZoneKind(old.kind), aoi, "body.geometry")
    new = Zone(
        lineage=old.lineage_id,
        name=old.name,
        kind=old.kind,
        valid_from=data.valid_from,
        notional=old.notional,
        description=old.description,
        source=old.source,
        owner_org_id=old.owner_org_id,
        derived_from=old.derived_from,
    )
    new.geometry = geom
    new.marking = old.marking
    old.valid_to = data.valid_from
    session.add(new)
    session.flush()
    _refresh(session, fence, old)
    _refresh(session, fence, new)
    picture_changed(session, "zone", old.id)
    picture_changed(session, "zone", new.id)
    return new


def zone_statement(
    principal: Principal,
    spatial: SpatialBackend,
    *,
    kind: ZoneKind | None = None,
    as_of: dt.datetime | None = None,
    history: bool = False,
    bbox: BBox | None = None,
    lineage: int | None = None,
) -> Select[Zone]:
    """Zones visible to the caller; valid at `as_of` (default now) unless `history`."""
    stmt = visible(Zone, principal.viewer)
    if kind is not None:
        stmt = stmt.where(Zone.kind == kind.value)
    if lineage is not None:
        stmt = stmt.where(func.coalesce(Zone.lineage, Zone.id) == lineage)
    if not history:
        moment = as_of or utcnow()
        stmt = stmt.where(
            Zone.valid_from <= moment, or_(Zone.valid_to.is_(None), Zone.valid_to > moment)
        )
    if bbox is not None:
        stmt = stmt.where(spatial.bbox_filter(Zone, bbox))
    return stmt


def import_zones(
    session: Session,
    principal: Principal,
    collection: dict[str, Any],
    *,
    aoi: BBox,
    fence: GeofenceEngine | None,
) -> list[Zone]:
    """A GeoJSON FeatureCollection of zones, all or nothing; errors name the feature."""
    features = collection.get("features") if isinstance(collection, dict) else None
    if collection.get("type") != "FeatureCollection" or not isinstance(features, list):
        raise InvalidInput.field("body", "expected a GeoJSON FeatureCollection")
    made = []
    for i, feature in enumerate(features):
        where = f"body.features[{i}]"
        props = dict((feature or {}).get("properties") or {})
        try:
            data = ZoneCreate.model_validate({**props, "geometry": feature.get("geometry")})
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise InvalidInput.field(f"{where}.properties.{loc}", first["msg"]) from None
        made.append(
            create_zone(session, principal, data, aoi=aoi, fence=fence, field=f"{where}.geometry")
        )
    return made


def feature(zone: Zone) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": zone.id,
        "geometry": zone.geojson,
        "properties": {
            "name": zone.name,
            "kind": zone.kind,
            "lineage": zone.lineage_id,
            "valid_from": zone.valid_from.isoformat(),
            "valid_to": zone.valid_to.isoformat() if zone.valid_to else None,
            "notional": zone.notional,
            "description": zone.description,
            "source": zone.source,
            "releasability": zone.marking_text,
            "owner": zone.owner_code,
        },
    }


def zone_titles(session: Session, ids: set[int]) -> dict[int, str]:
    """How an alert names each zone: its kind and name (`civilian safe zone "Al-Mawasi"`). An
    alert is released only to readers who may also see its zone (cmcc.incidents.models.Alert)."""
    if not ids:
        return {}
    rows = session.execute(select(Zone.id, Zone.kind, Zone.name).where(Zone.id.in_(ids)))
    return {row.id: domain.zone_title(row.kind, row.name) for row in rows}


def end_derived_zone(
    session: Session, zone_id: int, at: dt.datetime, fence: GeofenceEngine | None
) -> None:
    """Close a zone derived from another module's record at `at` (that record ended: a
    humanitarian notification completed, withdrawn or replaced by a new version)."""
    zone = session.get(Zone, zone_id)
    if zone is None or zone.derived_from is None:
        return
    if zone.valid_to is None or zone.valid_to > at:
        zone.valid_to = max(at, zone.valid_from)
        session.flush()
        _refresh(session, fence, zone)
