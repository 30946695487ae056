"""Areas of responsibility (sectors assigned to headquarters over time), what a unit's area
is (its own, or its headquarters'), the zone kinds an area or point touches, and the
deployment phases."""

from __future__ import annotations

import datetime as dt

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import release_filter, visible
from cmcc.access.service import resolve_marking
from cmcc.command.domain import UnitKind
from cmcc.command.models import AreaAssignment, DeploymentPhase, is_lineage
from cmcc.command.orbat import ancestors, current_version, valid_at
from cmcc.command.schemas import AreaAssign, PhaseCreate
from cmcc.core.errors import Forbidden, InvalidInput
from cmcc.core.releasability import Viewer
from cmcc.geo.backend import backend_for
from cmcc.zones.domain import ZoneKind
from cmcc.zones.models import Zone


def zone_at(session: Session, lineage: int, at: dt.datetime) -> Zone | None:
    """The zone's version valid at `at` (every marking: for the platform's checks)."""
    stmt = select(Zone).where(is_lineage(Zone, lineage), valid_at(Zone, at))
    return session.scalars(stmt).first()


def assign_area(session: Session, principal: Principal, data: AreaAssign) -> AreaAssignment:
    require(principal, Permission.WRITE_ORBAT)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can create records")
    if data.valid_to is not None and data.valid_to <= data.valid_from:
        raise InvalidInput.field("body.valid_to", "must be after valid_from")
    hq = current_version(session, principal.viewer, data.headquarters, data.valid_from)
    if hq is None or hq.kind != UnitKind.HEADQUARTERS.value:
        raise InvalidInput.field("body.headquarters", f"no headquarters {data.headquarters}")
    visible_zone = session.scalars(
        visible(Zone, principal.viewer, is_lineage(Zone, data.zone))
    ).first()
    if visible_zone is None:
        raise InvalidInput.field("body.zone", f"no zone {data.zone} you may see")
    row = AreaAssignment(
        hq_lineage=data.headquarters,
        zone_lineage=data.zone,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        notes=data.notes,
        owner_org_id=principal.org_id,
    )
    row.marking = resolve_marking(session, data.releasability)
    session.add(row)
    session.flush()
    return row


def assigned_zones(session: Session, hq_lineage: int, at: dt.datetime) -> list[int]:
    stmt = select(AreaAssignment.zone_lineage).where(
        AreaAssignment.hq_lineage == hq_lineage, valid_at(AreaAssignment, at)
    )
    return list(session.scalars(stmt))


def area_of(session: Session, unit_lineage: int, at: dt.datetime) -> list[int]:
    """The zone lineages of the unit's area at `at`: its own if it has one, else its nearest
    headquarters' (a unit inherits its headquarters' area unless given its own)."""
    for unit in ancestors(session, unit_lineage, at):
        if unit.area_zone_lineage is not None:
            return [unit.area_zone_lineage]
        zones = assigned_zones(session, unit.lineage_id, at)
        if zones:
            return zones
    return []


def area_geometry(
    session: Session, zone_lineages: list[int], at: dt.datetime
) -> BaseGeometry | None:
    shapes = [z.geometry for lin in zone_lineages if (z := zone_at(session, lin, at)) is not None]
    return unary_union(shapes) if shapes else None


def kinds_touching(
    session: Session, geom: BaseGeometry, at: dt.datetime, viewer: Viewer
) -> frozenset[str]:
    """Every zone kind, of the zones valid at `at` that `viewer` may see, that `geom` touches:
    what caveats are checked against. Only visible zones count, so that a refusal never tells
    the caller of a zone it may not see (the positions of the unit are still checked against
    every zone by the geofence, whose alerts go to those who may see the zone)."""
    conditions = (valid_at(Zone, at), release_filter(Zone, viewer))
    spatial = backend_for(session.get_bind())
    touching = spatial.intersects_filter(session, Zone, geom, select(Zone.id).where(*conditions))
    return frozenset(session.scalars(select(Zone.kind).where(touching, *conditions).distinct()))


def area_kinds(
    session: Session, hq_lineage: int, at: dt.datetime, viewer: Viewer
) -> frozenset[str]:
    """The zone kinds the headquarters' area of responsibility touches (none if it has none),
    of the zones `viewer` may see."""
    geom = area_geometry(session, area_of(session, hq_lineage, at), at)
    return kinds_touching(session, geom, at, viewer) if geom is not None else frozenset()


def point(lon: float, lat: float) -> Point:
    return Point(lon, lat)


def create_phase(session: Session, principal: Principal, data: PhaseCreate) -> DeploymentPhase:
    require(principal, Permission.WRITE_ORBAT)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can create records")
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise InvalidInput.field("body.ends_on", "must not be before starts_on")
    for i, kind in enumerate(data.zone_kinds):
        if kind not in set(ZoneKind):
            raise InvalidInput.field(f"body.zone_kinds.{i}", f"unknown zone kind {kind!r}")
    phase = DeploymentPhase(
        number=data.number,
        name=data.name,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        zone_kinds=list(data.zone_kinds),
        description=data.description,
        source=data.source,
        owner_org_id=principal.org_id,
    )
    phase.marking = resolve_marking(session, data.releasability)
    session.add(phase)
    session.flush()
    return phase


def phase_on(session: Session, on: dt.date) -> DeploymentPhase | None:
    """The deployment phase in force on `on` (the latest started; every marking: for checks)."""
    stmt = (
        select(DeploymentPhase)
        .where(DeploymentPhase.starts_on <= on)
        .where((DeploymentPhase.ends_on.is_(None)) | (DeploymentPhase.ends_on >= on))
        .order_by(DeploymentPhase.starts_on.desc(), DeploymentPhase.number.desc())
    )
    return session.scalars(stmt).first()


def phase_statement(viewer: Viewer) -> Select[DeploymentPhase]:
    return visible(DeploymentPhase, viewer).order_by(DeploymentPhase.number)


def area_statement(viewer: Viewer, headquarters: int | None = None) -> Select[AreaAssignment]:
    stmt = visible(AreaAssignment, viewer)
    if headquarters is not None:
        stmt = stmt.where(AreaAssignment.hq_lineage == headquarters)
    return stmt.order_by(AreaAssignment.valid_from, AreaAssignment.id)


def visible_zone_lineages(session: Session, viewer: Viewer, lineages: list[int]) -> list[int]:
    """The lineages among `lineages` of which the viewer may see some version."""
    if not lineages:
        return []
    lineage = func.coalesce(Zone.lineage, Zone.id)
    seen = set(
        session.scalars(visible(Zone, viewer, lineage.in_(lineages)).with_only_columns(lineage))
    )
    return [z for z in lineages if z in seen]
