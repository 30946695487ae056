"""Projects: create (located inside the mission area), correct, list by place and status, and
the status workflow with the mission's rule: a project starts (in_progress) only where its
location lies inside cleared areas valid now and touches no open hazard area. The check asks
the picture's service (zones of kind cleared_area) and the hazards service, as the system
operator so that an area or hazard not released to the caller still counts; the refusal names
only what the caller may see."""

from __future__ import annotations

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.core.clock import utcnow
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import Conflict, InvalidInput
from cmcc.core.releasability import may_see
from cmcc.funding import domain
from cmcc.funding.domain import ProjectStatus
from cmcc.funding.models import Programme, Project
from cmcc.funding.schemas import ProjectCreate, ProjectStatusChange, ProjectUpdate
from cmcc.funding.service import organization, referenced, writer
from cmcc.geo.backend import SpatialBackend
from cmcc.geo.geometry import AREA_TYPES, BBox, parse_geometry
from cmcc.hazards.service import open_hazards_touching
from cmcc.zones.domain import ZoneKind
from cmcc.zones.service import zone_statement

PROJECT_TYPES = AREA_TYPES | {"Point"}


def _location(value: object, aoi: BBox, field: str) -> BaseGeometry:
    """A point or an area inside the mission's area of interest (no override: a project of
    this plan lies in the mission area)."""
    geom = parse_geometry(value, field=field, aoi=aoi)
    if geom.geom_type not in PROJECT_TYPES:
        raise InvalidInput.field(
            field, "a project is a Point (a site) or a Polygon/MultiPolygon (an area)"
        )
    return geom


def create_project(
    session: Session, principal: Principal, data: ProjectCreate, *, aoi: BBox
) -> Project:
    owner = writer(principal)
    referenced(session, principal, Programme, data.programme_id, "body.programme_id")
    implementer = organization(session, data.implementing_org, "body.implementing_org")
    domain.check_period(data.planned_start, data.planned_end, "body.planned_end")
    geom = _location(data.geometry, aoi, "body.geometry")
    taken = select(Project.id).where(Project.iati_identifier == data.iati_identifier)
    if session.scalar(taken.limit(1)) is not None:
        raise Conflict(f"iati_identifier {data.iati_identifier!r} is taken")
    project = Project(
        **data.model_dump(exclude={"releasability", "implementing_org", "geometry"}),
        implementing_org_id=implementer.id,
        status=ProjectStatus.PIPELINE.value,
        owner_org_id=owner,
    )
    project.geometry = geom
    project.marking = resolve_marking(session, data.releasability)
    session.add(project)
    session.flush()
    return project


def get_project(session: Session, principal: Principal, project_id: int) -> Project:
    return get_visible(session, Project, project_id, principal.viewer)


def update_project(
    session: Session,
    principal: Principal,
    spatial: SpatialBackend,
    project_id: int,
    data: ProjectUpdate,
    *,
    aoi: BBox,
) -> Project:
    require(principal, Permission.WRITE_FUNDING)
    project = get_project(session, principal, project_id)
    check_version(project, data.version)
    changes = data.model_dump(
        exclude_unset=True, exclude={"version", "releasability", "implementing_org", "geometry"}
    )
    for key in ("title", "description", "budget_usd"):
        if key in changes and changes[key] is None:
            raise InvalidInput.field(f"body.{key}", "may be changed but not cleared")
    domain.check_period(
        changes.get("planned_start", project.planned_start),
        changes.get("planned_end", project.planned_end),
        "body.planned_end",
    )
    if data.implementing_org is not None:
        org = organization(session, data.implementing_org, "body.implementing_org")
        changes["implementing_org_id"] = org.id
    if data.releasability is not None:
        project.marking = resolve_marking(session, data.releasability)
    if data.geometry is not None:
        geom = _location(data.geometry, aoi, "body.geometry")
        if not geom.equals(project.geometry):
            if project.status == ProjectStatus.IN_PROGRESS.value:
                check_start_site(session, principal, spatial, geom)
            project.geometry = geom
    apply_changes(project, changes)
    session.flush()
    return project


def check_start_site(
    session: Session, principal: Principal, spatial: SpatialBackend, geom: BaseGeometry
) -> None:
    """The mission's rule (see the module's docstring); TransitionRefused (409) names the
    cleared areas and hazards the caller may see, and counts the others."""
    system = Principal.system_operator()
    stmt = zone_statement(system, spatial, kind=ZoneKind.CLEARED_AREA, bbox=geom.bounds)
    cleared = [z for z in session.scalars(stmt) if z.geometry.geom_type in AREA_TYPES]
    shapely.prepare(geom)
    touching = [z for z in cleared if geom.intersects(z.geometry)]
    covered = bool(touching) and shapely.union_all([z.geometry for z in touching]).covers(geom)
    partly = [z.name for z in touching if may_see(z.marking, z.owner_org_id, principal.viewer)]
    hazards = open_hazards_touching(session, system, spatial, geom)
    shown = [h.ref for h in hazards if may_see(h.marking, h.owner_org_id, principal.viewer)]
    domain.check_start_site(covered, partly, shown, len(hazards) - len(shown))


def change_status(
    session: Session,
    principal: Principal,
    spatial: SpatialBackend,
    project_id: int,
    data: ProjectStatusChange,
) -> Project:
    require(principal, Permission.WRITE_FUNDING)
    project = get_project(session, principal, project_id)
    check_version(project, data.version)
    current = ProjectStatus(project.status)
    domain.check_step(current, data.to)
    on = data.on or utcnow().date()
    if data.to is ProjectStatus.IN_PROGRESS:
        check_start_site(session, principal, spatial, project.geometry)
        if project.actual_start is None:
            project.actual_start = on
    if data.to in (ProjectStatus.COMPLETED, ProjectStatus.CANCELLED):
        if project.actual_start is not None and on < project.actual_start:
            raise InvalidInput.field("body.on", f"before the actual start {project.actual_start}")
        if data.to is ProjectStatus.COMPLETED:
            project.actual_end = on
    project.status = data.to.value
    session.flush()
    return project


def project_statement(
    principal: Principal,
    spatial: SpatialBackend,
    *,
    bbox: BBox | None = None,
    status: ProjectStatus | None = None,
    programme_id: int | None = None,
) -> Select[Project]:
    stmt = visible(Project, principal.viewer)
    if bbox is not None:
        stmt = stmt.where(spatial.bbox_filter(Project, bbox))
    if status is not None:
        stmt = stmt.where(Project.status == status.value)
    if programme_id is not None:
        stmt = stmt.where(Project.programme_id == programme_id)
    return stmt


def feature(project: Project) -> dict[str, object]:
    """The project as a GeoJSON Feature (the OGC collection)."""
    return {
        "type": "Feature",
        "id": str(project.id),
        "geometry": project.geojson,
        "properties": {
            "title": project.title,
            "status": project.status,
            "programme_id": project.programme_id,
            "dac_code": project.programme.dac_code,
            "implementing_org": project.implementing_org_code,
            "budget_usd": str(project.budget_usd),
            "iati_identifier": project.iati_identifier,
            "adm1": project.adm1,
            "planned_start": _iso(project.planned_start),
            "planned_end": _iso(project.planned_end),
            "actual_start": _iso(project.actual_start),
            "actual_end": _iso(project.actual_end),
            "releasability": project.marking_text,
            "owner": project.owner_code,
        },
    }


def _iso(value: object) -> str | None:
    return None if value is None else str(value)
