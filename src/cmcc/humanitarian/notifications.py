"""Notifications of humanitarian sites and movements: submit, new versions, the centre's
acknowledgement and sharing, completion and withdrawal; reads as each caller may see them.

Each version is protected by a zone derived from it (`notified_humanitarian_site` around a
site, `notified_movement` along a route during its window), so an incident reported there
raises an alert through the geofence like any protected zone, released to whoever may see both
the incident and the notification."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import visible
from cmcc.core.clock import utcnow
from cmcc.core.crud import check_version
from cmcc.core.errors import Forbidden, InvalidInput, NotFound, TransitionRefused
from cmcc.core.releasability import Marking, Viewer
from cmcc.geo.backend import SpatialBackend
from cmcc.geo.geofence import GeofenceEngine
from cmcc.geo.geometry import BBox, parse_geometry, to_geojson
from cmcc.geo.measure import buffer_m
from cmcc.humanitarian import advisories, markings, sharing
from cmcc.humanitarian.domain import (
    ACTIVE_STATUSES,
    CENTRE_STEPS,
    NotificationKind,
    NotificationStatus,
    status_step_problem,
)
from cmcc.humanitarian.models import (
    Advisory,
    Crossing,
    Notification,
    NotificationContact,
    NotificationStatusChange,
)
from cmcc.humanitarian.rules import Rules
from cmcc.humanitarian.schemas import NotificationContent, NotificationCreate, StatusStep
from cmcc.zones import service as zones
from cmcc.zones.domain import ZoneKind
from cmcc.zones.schemas import ZoneCreate

SOURCE = "humanitarian_notifications"
SITE_TYPES = frozenset({"Point", "Polygon", "MultiPolygon"})
ROUTE_TYPES = frozenset({"LineString"})


def lineage_col() -> Any:
    return func.coalesce(Notification.lineage, Notification.id)


def current_statement(viewer: Viewer) -> Select[Notification]:
    """The current version of every notification the viewer may see."""
    return visible(Notification, viewer, Notification.replaced_at.is_(None))


def active_at(moment: dt.datetime) -> Any:
    """Active (not completed or withdrawn) and valid at `moment`."""
    return (
        Notification.status.in_([s.value for s in ACTIVE_STATUSES]),
        Notification.valid_from <= moment,
        or_(Notification.valid_to.is_(None), Notification.valid_to > moment),
    )


def list_statement(
    viewer: Viewer,
    spatial: SpatialBackend,
    *,
    kind: NotificationKind | None = None,
    status: NotificationStatus | None = None,
    active: dt.datetime | None = None,
    bbox: BBox | None = None,
) -> Select[Notification]:
    stmt = current_statement(viewer)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind.value)
    if status is not None:
        stmt = stmt.where(Notification.status == status.value)
    if active is not None:
        stmt = stmt.where(*active_at(active))
    if bbox is not None:
        stmt = stmt.where(spatial.bbox_filter(Notification, bbox))
    return stmt


def get_current(session: Session, viewer: Viewer, lineage: int) -> Notification:
    stmt = current_statement(viewer).where(lineage_col() == lineage)
    found = session.scalars(stmt).one_or_none()
    if found is None:
        raise NotFound(f"notification {lineage} not found")
    return found


def versions(session: Session, viewer: Viewer, lineage: int) -> list[Notification]:
    stmt = visible(Notification, viewer, lineage_col() == lineage).order_by(Notification.id)
    found = list(session.scalars(stmt))
    if not found:
        raise NotFound(f"notification {lineage} not found")
    return found


def history(session: Session, viewer: Viewer, lineage: int) -> list[NotificationStatusChange]:
    ids = [n.id for n in versions(session, viewer, lineage)]
    stmt = select(NotificationStatusChange).where(NotificationStatusChange.notification_id.in_(ids))
    return list(session.scalars(stmt.order_by(NotificationStatusChange.id)))


def contacts(
    session: Session, viewer: Viewer, lineages: list[int]
) -> dict[int, NotificationContact]:
    """The contacts of these notifications that the viewer may see (the submitting
    organization's and the centre's only), by lineage."""
    if not lineages:
        return {}
    stmt = visible(
        NotificationContact, viewer, NotificationContact.notification_lineage.in_(lineages)
    )
    return {c.notification_lineage: c for c in session.scalars(stmt)}


def crossing_codes(session: Session, viewer: Viewer, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    stmt = visible(Crossing, viewer, Crossing.id.in_(ids)).with_only_columns(
        Crossing.id, Crossing.code
    )
    return {row.id: row.code for row in session.execute(stmt)}


def short_notice(n: Notification, hours: float) -> bool:
    """A movement notified less than `hours` before it starts."""
    if n.kind != NotificationKind.MOVEMENT.value:
        return False
    return (n.valid_from - n.created_at).total_seconds() < hours * 3600


# ---- writes ------------------------------------------------------------------------------


def _crossing(session: Session, principal: Principal, code: str | None) -> int | None:
    if code is None:
        return None
    stmt = visible(Crossing, principal.viewer, Crossing.code == code.upper())
    found = session.scalars(stmt).one_or_none()
    if found is None:
        raise InvalidInput.field("body.crossing", f"no crossing {code!r} you may see")
    return found.id


def _check_content(kind: NotificationKind, data: NotificationContent) -> None:
    gtype = data.geometry.get("type") if isinstance(data.geometry, dict) else None
    if kind is NotificationKind.SITE:
        if data.site_type is None:
            raise InvalidInput.field("body.site_type", "a site needs its type")
        if data.movement_type is not None:
            raise InvalidInput.field("body.movement_type", "only a movement has a movement type")
        if gtype not in SITE_TYPES:
            raise InvalidInput.field(
                "body.geometry", f"a site is a Point or a Polygon, not {gtype!r}"
            )
        for name in ("crossing", "vehicles", "cargo_category", "personnel_count"):
            if getattr(data, name) not in (None, []):
                raise InvalidInput.field(f"body.{name}", "a site has no " + name.replace("_", " "))
        if data.waypoints:
            raise InvalidInput.field("body.waypoints", "a site has no waypoints")
    else:
        if data.movement_type is None:
            raise InvalidInput.field("body.movement_type", "a movement needs its type")
        if data.site_type is not None:
            raise InvalidInput.field("body.site_type", "only a site has a site type")
        if gtype not in ROUTE_TYPES:
            raise InvalidInput.field(
                "body.geometry", f"a movement's route is a LineString, not {gtype!r}"
            )
        if data.valid_to is None:
            raise InvalidInput.field("body.valid_to", "a movement needs the end of its window")
        if data.valid_to - data.valid_from > dt.timedelta(days=31):
            raise InvalidInput.field(
                "body.valid_to", "a movement's window is at most 31 days; notify each movement"
            )


def _fill(
    session: Session,
    principal: Principal,
    n: Notification,
    kind: NotificationKind,
    data: NotificationContent,
    rules: Rules,
) -> None:
    _check_content(kind, data)
    n.kind = kind.value
    n.title = data.title
    n.site_type = data.site_type.value if data.site_type else None
    n.movement_type = data.movement_type.value if data.movement_type else None
    n.geometry = parse_geometry(
        data.geometry, field="body.geometry", aoi=rules.aoi, outside_aoi=data.outside_aoi
    )
    n.hours = data.hours
    n.waypoints = [w.model_dump() for w in data.waypoints]
    n.crossing_id = _crossing(session, principal, data.crossing)
    n.valid_from = data.valid_from
    n.valid_to = data.valid_to
    n.vehicles = data.vehicles
    n.cargo_category = data.cargo_category.value if data.cargo_category else None
    n.personnel_count = data.personnel_count
    default = rules.site_buffer_m if kind is NotificationKind.SITE else rules.route_buffer_m
    n.buffer_m = data.buffer_m or default
    n.description = data.description


def _protect(session: Session, n: Notification, fence: GeofenceEngine | None) -> None:
    """The zone derived from this version: its footprint and buffer, over its validity."""
    kind = (
        ZoneKind.NOTIFIED_HUMANITARIAN_SITE
        if n.kind == NotificationKind.SITE.value
        else ZoneKind.NOTIFIED_MOVEMENT
    )
    zone = zones.create_derived_zone(
        session,
        n.owner_org_id,
        ZoneCreate(
            name=n.title,
            kind=kind,
            geometry=to_geojson(buffer_m(n.geometry, n.buffer_m)),
            valid_from=n.valid_from,
            valid_to=n.valid_to,
            description=f"Within {n.buffer_m:.0f} m of the notified "
            f"{'site' if kind is ZoneKind.NOTIFIED_HUMANITARIAN_SITE else 'route'}",
            source=f"humanitarian notification {n.lineage_id}",
            releasability=str(n.marking),
            outside_aoi=True,
        ),
        aoi=(-180.0, -90.0, 180.0, 90.0),
        fence=fence,
        derived_from=f"{SOURCE}:{n.lineage_id}",
    )
    n.zone_id = zone.id


def _log(
    session: Session,
    n: Notification,
    from_status: str,
    to: NotificationStatus,
    by: str,
    note: str = "",
) -> None:
    session.add(
        NotificationStatusChange(
            notification_id=n.id,
            from_status=from_status,
            to_status=to.value,
            audiences=list(n.audiences),
            note=note,
            by=by,
            at=n.status_at,
        )
    )


def submit(
    session: Session,
    principal: Principal,
    data: NotificationCreate,
    *,
    rules: Rules,
    fence: GeofenceEngine | None,
) -> Notification:
    require(principal, Permission.NOTIFY_HUMANITARIAN)
    if principal.org_id is None or principal.org_code is None:
        raise Forbidden("only a member of an organization can notify")
    now = utcnow()
    n = Notification(
        owner_org_id=principal.org_id,
        status=NotificationStatus.SUBMITTED.value,
        status_at=now,
        status_by=principal.actor,
        submitted_by=principal.actor,
        audiences=[],
    )
    _fill(session, principal, n, data.kind, data, rules)
    n.marking = markings.owner_and_centre(session, principal.org_id)
    session.add(n)
    session.flush()
    contact = NotificationContact(
        notification_lineage=n.id, owner_org_id=principal.org_id, **data.contact.model_dump()
    )
    contact.marking = markings.owner_and_centre(session, principal.org_id)
    session.add(contact)
    _log(session, n, NotificationStatus.SUBMITTED.value, NotificationStatus.SUBMITTED, n.status_by)
    _protect(session, n, fence)
    _advise(session, n, rules)
    return n


def _own(principal: Principal, n: Notification) -> None:
    if n.owner_org_id != principal.org_id:
        raise Forbidden("only the organization that submitted the notification may do this")


def new_version(
    session: Session,
    principal: Principal,
    lineage: int,
    data: Any,
    *,
    rules: Rules,
    fence: GeofenceEngine | None,
) -> Notification:
    """A changed notification: the current version is replaced (kept in the history) by a new
    one with the same status, audiences and marking, re-checked for advisories."""
    require(principal, Permission.NOTIFY_HUMANITARIAN)
    old = get_current(session, principal.viewer, lineage)
    _own(principal, old)
    check_version(old, data.version)
    if NotificationStatus(old.status) not in ACTIVE_STATUSES:
        raise TransitionRefused(f"the notification is {old.status}; submit a new one")
    now = utcnow()
    new = Notification(
        lineage=old.lineage_id,
        owner_org_id=old.owner_org_id,
        status=old.status,
        status_at=old.status_at,
        status_by=old.status_by,
        submitted_by=principal.actor,
        audiences=list(old.audiences),
    )
    _fill(session, principal, new, NotificationKind(old.kind), data, rules)
    new.marking = old.marking
    old.replaced_at = now
    session.add(new)
    session.flush()
    if old.zone_id is not None:
        zones.end_derived_zone(session, old.zone_id, now, fence)
    contact = session.scalars(
        select(NotificationContact).where(NotificationContact.notification_lineage == lineage)
    ).one_or_none()
    if contact is not None:
        for key, value in data.contact.model_dump().items():
            if getattr(contact, key) != value:
                setattr(contact, key, value)
    _protect(session, new, fence)
    _advise(session, new, rules)
    return new


def step(
    session: Session,
    principal: Principal,
    lineage: int,
    data: StatusStep,
    *,
    fence: GeofenceEngine | None,
) -> Notification:
    """Acknowledge or share (the centre), complete (the partner or the centre), withdraw (the
    partner). Sharing sets the marking of every version to the audiences'."""
    if data.to in CENTRE_STEPS:
        require(principal, Permission.COORDINATE_HUMANITARIAN)
    else:
        require(principal, Permission.NOTIFY_HUMANITARIAN, Permission.COORDINATE_HUMANITARIAN)
    n = get_current(session, principal.viewer, lineage)
    if data.to is NotificationStatus.WITHDRAWN or not principal.can(
        Permission.COORDINATE_HUMANITARIAN
    ):
        _own(principal, n)
    check_version(n, data.version)
    current = NotificationStatus(n.status)
    problem = status_step_problem(current, data.to)
    if problem:
        raise TransitionRefused(problem)
    if data.to is NotificationStatus.SHARED:
        if not data.audiences and not n.audiences:
            raise InvalidInput.field(
                "body.audiences", "say whom to share it with: 'force' and/or organization codes"
            )
        audiences = sharing.check_audiences(session, data.audiences)
        n.audiences = list(dict.fromkeys([*n.audiences, *audiences]))
        marking = sharing.shared_marking(session, n.owner_code, n.audiences)
        set_marking(session, n.lineage_id, marking)
    elif data.audiences:
        raise InvalidInput.field("body.audiences", "audiences go with the step 'shared'")
    now = utcnow()
    n.status = data.to.value
    n.status_at = now
    n.status_by = principal.actor
    if data.to not in ACTIVE_STATUSES and n.zone_id is not None:
        zones.end_derived_zone(session, n.zone_id, now, fence)
    session.flush()
    _log(session, n, current.value, data.to, principal.actor, data.note)
    session.flush()
    return n


def set_marking(session: Session, lineage: int, marking: Marking) -> None:
    """Every version of the notification, and the zones derived from it, get this marking."""
    stmt = select(Notification).where(lineage_col() == lineage)
    for version in session.scalars(stmt):
        if version.marking != marking:
            version.marking = marking
    zones.follow_marking(session, f"{SOURCE}:{lineage}", marking)


def advisory_counts(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    stmt = (
        select(Advisory.notification_id, func.count())
        .where(Advisory.notification_id.in_(ids))
        .group_by(Advisory.notification_id)
    )
    return {row[0]: row[1] for row in session.execute(stmt)}


def _advise(session: Session, n: Notification, rules: Rules) -> None:
    session.flush()
    advisories.refresh_notification(session, n, rules)
