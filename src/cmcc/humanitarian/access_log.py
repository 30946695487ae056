"""The access constraints log: impediments to humanitarian access, in OCHA's access monitoring
categories, linked to the movement they hit and to the incident they are part of.

Humanitarian partners (`notify_humanitarian`) record and correct their own organization's;
the centre (`coordinate_humanitarian`) records and corrects any it can see. A record is marked
for its organization and the centre unless its author chooses otherwise. A link names a record
the author may see; a reader who may not see the linked record reads the link as empty."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require, require_write
from cmcc.access.policy import get_visible, release_filter, visible
from cmcc.access.service import resolve_marking
from cmcc.core.clock import utcnow
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import Forbidden, InvalidInput, NotFound
from cmcc.core.releasability import Viewer
from cmcc.geo.geometry import BBox, parse_geometry
from cmcc.humanitarian.access_schemas import (
    AccessConstraintCreate,
    AccessConstraintPublic,
    AccessConstraintUpdate,
)
from cmcc.humanitarian.domain import (
    ACCESS_IMPACT_CATEGORY,
    AccessCategory,
    AccessImpact,
    NotificationKind,
    movement_ref,
)
from cmcc.humanitarian.markings import owner_and_centre
from cmcc.humanitarian.models import AccessConstraint, Notification
from cmcc.incidents.models import Incident

WRITERS = (Permission.COORDINATE_HUMANITARIAN, Permission.NOTIFY_HUMANITARIAN)
FUTURE_GRACE = dt.timedelta(minutes=10)


def _movement_lineage() -> Any:
    return func.coalesce(Notification.lineage, Notification.id)


def _movements(viewer: Viewer, lineages: Sequence[int]) -> Select[Any]:
    """The lineages among `lineages` of movement notifications the viewer may see (their
    current version)."""
    return select(_movement_lineage()).where(
        release_filter(Notification, viewer),
        Notification.kind == NotificationKind.MOVEMENT.value,
        Notification.replaced_at.is_(None),
        _movement_lineage().in_(list(lineages)),
    )


def check_movement(session: Session, viewer: Viewer, lineage: int, field: str) -> None:
    if session.scalars(_movements(viewer, [lineage])).first() is None:
        raise InvalidInput.field(
            field, f"no movement notification {movement_ref(lineage)} is released to you"
        )


def _check_incident(session: Session, viewer: Viewer, incident_id: int, field: str) -> None:
    try:
        get_visible(session, Incident, incident_id, viewer)
    except NotFound:
        raise InvalidInput.field(field, f"no incident {incident_id} is released to you") from None


def _check_rules(record: AccessConstraint, *, moment: dt.datetime) -> None:
    """What a record must be, whatever the fields a request sent."""
    if record.occurred_at > moment + FUTURE_GRACE:
        raise InvalidInput.field("body.occurred_at", "is in the future")
    delayed = record.impact == AccessImpact.DELAYED_AT_CHECKPOINT.value
    if delayed and record.delay_minutes is None:
        raise InvalidInput.field("body.delay_minutes", "how long the delay lasted, in minutes")
    if not delayed and record.delay_minutes is not None:
        raise InvalidInput.field("body.delay_minutes", "only for a delay at a checkpoint")
    if (record.lon is None) != (record.lat is None):
        missing = "body.lat" if record.lat is None else "body.lon"
        raise InvalidInput.field(missing, "give lon and lat together, or neither")


def _check_point(lon: float | None, lat: float | None, *, aoi: BBox, outside_aoi: bool) -> None:
    if lon is None or lat is None:
        return
    parse_geometry(
        {"type": "Point", "coordinates": [lon, lat]},
        field="body.lon",
        aoi=aoi,
        outside_aoi=outside_aoi,
    )


def _default_category(impact: AccessImpact) -> str:
    category = ACCESS_IMPACT_CATEGORY.get(impact)
    if category is None:
        raise InvalidInput.field(
            "body.category", f"choose the category of an impact recorded as {impact.value}"
        )
    return category.value


def create(
    session: Session, principal: Principal, data: AccessConstraintCreate, *, aoi: BBox
) -> AccessConstraint:
    require(principal, *WRITERS)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can record access constraints")
    viewer = principal.viewer
    record = AccessConstraint(
        occurred_at=data.occurred_at,
        impact=data.impact.value,
        category=data.category.value if data.category else _default_category(data.impact),
        delay_minutes=data.delay_minutes,
        place=data.place,
        lon=data.lon,
        lat=data.lat,
        description=data.description,
        source=data.source,
        reported_by=principal.actor,
        owner_org_id=principal.org_id,
    )
    _check_rules(record, moment=utcnow())
    _check_point(data.lon, data.lat, aoi=aoi, outside_aoi=data.outside_aoi)
    if data.notification_lineage is not None:
        check_movement(session, viewer, data.notification_lineage, "body.notification_lineage")
        record.notification_lineage = data.notification_lineage
    if data.incident_id is not None:
        _check_incident(session, viewer, data.incident_id, "body.incident_id")
        record.incident_id = data.incident_id
    record.marking = (
        resolve_marking(session, data.releasability)
        if data.releasability is not None
        else owner_and_centre(session, principal.org_id)
    )
    session.add(record)
    session.flush()
    return record


def get(session: Session, principal: Principal, record_id: int) -> AccessConstraint:
    return get_visible(session, AccessConstraint, record_id, principal.viewer)


def update(
    session: Session,
    principal: Principal,
    record_id: int,
    data: AccessConstraintUpdate,
    *,
    aoi: BBox,
) -> AccessConstraint:
    require(principal, *WRITERS)
    record = get(session, principal, record_id)
    require_write(principal, record.owner_org_id, *WRITERS)
    check_version(record, data.version)
    changes: dict[str, Any] = data.model_dump(
        exclude_unset=True, exclude={"version", "releasability", "outside_aoi"}
    )
    for key in ("impact", "category"):
        if changes.get(key) is not None:
            changes[key] = changes[key].value
    if "impact" in changes and "category" not in changes:
        # a category that was the old impact's default follows the impact
        old = ACCESS_IMPACT_CATEGORY.get(AccessImpact(record.impact))
        if old is not None and record.category == old.value and changes["impact"] is not None:
            new = ACCESS_IMPACT_CATEGORY.get(AccessImpact(changes["impact"]))
            changes["category"] = new.value if new else record.category
    viewer = principal.viewer
    lineage = changes.get("notification_lineage")
    if lineage is not None and lineage != record.notification_lineage:
        check_movement(session, viewer, lineage, "body.notification_lineage")
    incident_id = changes.get("incident_id")
    if incident_id is not None and incident_id != record.incident_id:
        _check_incident(session, viewer, incident_id, "body.incident_id")
    apply_changes(record, changes)
    _check_rules(record, moment=utcnow())
    if {"lon", "lat"} & changes.keys():
        _check_point(record.lon, record.lat, aoi=aoi, outside_aoi=data.outside_aoi)
    if data.releasability is not None:
        record.marking = resolve_marking(session, data.releasability)
    session.flush()
    return record


@dataclass(frozen=True)
class Filters:
    month: tuple[dt.datetime, dt.datetime] | None = None  # [start, end)
    category: AccessCategory | None = None
    impact: AccessImpact | None = None
    movement: int | None = None


def statement(session: Session, principal: Principal, filters: Filters) -> Select[Any]:
    """The constraints the caller may see, filtered. A movement filter names a movement the
    caller may see (else 422: the link is not shown to those who may not see it)."""
    stmt = visible(AccessConstraint, principal.viewer)
    if filters.month is not None:
        start, end = filters.month
        stmt = stmt.where(AccessConstraint.occurred_at >= start, AccessConstraint.occurred_at < end)
    if filters.category is not None:
        stmt = stmt.where(AccessConstraint.category == filters.category.value)
    if filters.impact is not None:
        stmt = stmt.where(AccessConstraint.impact == filters.impact.value)
    if filters.movement is not None:
        check_movement(session, principal.viewer, filters.movement, "query.movement")
        stmt = stmt.where(AccessConstraint.notification_lineage == filters.movement)
    return stmt


def public(
    session: Session, principal: Principal, records: Sequence[AccessConstraint]
) -> list[AccessConstraintPublic]:
    """The records as the caller reads them: a link to a movement or an incident the caller
    may not see reads as empty (two queries for the page, whatever its length)."""
    viewer = principal.viewer
    lineages = sorted({r.notification_lineage for r in records if r.notification_lineage})
    incident_ids = sorted({r.incident_id for r in records if r.incident_id})
    movements = set(session.scalars(_movements(viewer, lineages))) if lineages else set()
    incidents = set()
    if incident_ids:
        seen = select(Incident.id).where(
            release_filter(Incident, viewer), Incident.id.in_(incident_ids)
        )
        incidents = set(session.scalars(seen))
    out = []
    for record in records:
        item = AccessConstraintPublic.model_validate(record)
        lineage = record.notification_lineage
        if lineage is not None and lineage in movements:
            item.movement_ref = movement_ref(lineage)
        else:
            item.notification_lineage = None
        if record.incident_id not in incidents:
            item.incident_id = None
        out.append(item)
    return out


def movement_choices(
    session: Session, principal: Principal, limit: int = 100
) -> list[tuple[int, str]]:
    """The movements a form may link: (lineage, "movement_<n> · title"), the latest first
    (the current version of each movement notification the caller may see)."""
    stmt = (
        select(_movement_lineage(), Notification.title)
        .where(
            release_filter(Notification, principal.viewer),
            Notification.kind == NotificationKind.MOVEMENT.value,
            Notification.replaced_at.is_(None),
        )
        .order_by(Notification.valid_from.desc(), Notification.id.desc())
        .limit(limit)
    )
    return [
        (int(lineage), f"{movement_ref(lineage)} · {title}")
        for lineage, title in session.execute(stmt)
    ]
