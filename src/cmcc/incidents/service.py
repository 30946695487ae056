"""Incidents: report, correct, verify, attribute; evidence; possible duplicates; queries by
place and time on both backends. A new incident inside a protected zone raises an alert."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require, require_write
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.core.changes import picture_changed
from cmcc.core.clock import utcnow
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import Forbidden, InvalidInput
from cmcc.core.events import EventBus
from cmcc.core.uow import after_commit
from cmcc.geo.backend import SpatialBackend
from cmcc.geo.geofence import GeofenceEngine
from cmcc.geo.geometry import BBox, parse_geometry
from cmcc.geo.measure import distance_m as great_circle_m
from cmcc.incidents import domain
from cmcc.incidents.models import Alert, Evidence, Incident, VerificationStep
from cmcc.incidents.schemas import (
    EvidenceCreate,
    IncidentCreate,
    IncidentUpdate,
    VerificationCreate,
)
from cmcc.zones import service as zones
from cmcc.zones.domain import ALERTING_KINDS


def _new_incident(
    session: Session, principal: Principal, data: IncidentCreate, *, aoi: BBox, field: str
) -> Incident:
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can report incidents")
    incident = Incident(
        external_ref=data.external_ref,
        type=data.type.value,
        occurred_at=data.occurred_at,
        reported_at=data.reported_at or utcnow(),
        severity=data.severity,
        killed_civilian=data.killed_civilian,
        killed_other=data.killed_other,
        injured_civilian=data.injured_civilian,
        injured_other=data.injured_other,
        source_reliability=data.source_reliability.value,
        info_credibility=data.info_credibility,
        narrative=data.narrative,
        attachments=list(data.attachments),
        source=data.source,
        status=domain.VerificationStatus.REPORTED.value,
        owner_org_id=principal.org_id,
    )
    incident.geometry = parse_geometry(
        data.geometry, field=field, aoi=aoi, outside_aoi=data.outside_aoi
    )
    incident.marking = resolve_marking(session, data.releasability)
    return incident


def create_incident(
    session: Session,
    principal: Principal,
    data: IncidentCreate,
    *,
    aoi: BBox,
    fence: GeofenceEngine | None,
    bus: EventBus | None,
    field: str = "body.geometry",
) -> Incident:
    require(principal, Permission.REPORT_INCIDENTS)
    incident = _new_incident(session, principal, data, aoi=aoi, field=field)
    session.add(incident)
    session.flush()
    raise_zone_alerts(session, [incident], fence, bus)
    return incident


def raise_zone_alerts(
    session: Session,
    incidents: list[Incident],
    fence: GeofenceEngine | None,
    bus: EventBus | None,
) -> list[Alert]:
    """An alert for each incident inside a civilian safe zone, a notified humanitarian site or
    a restricted area valid when it occurred (areas are tested at a representative point).
    The alert is released to whoever may see both the incident and the zone (`Alert`)."""
    if fence is None or not incidents:
        return []
    points = shapely.point_on_surface([i.geometry for i in incidents])
    xs, ys = shapely.get_x(points), shapely.get_y(points)
    alerts: list[Alert] = []
    by_time: dict[dt.datetime, list[int]] = {}
    for idx, inc in enumerate(incidents):
        by_time.setdefault(inc.occurred_at, []).append(idx)
    for moment, idxs in by_time.items():
        sel = np.asarray(idxs)
        pts, zone_ids = fence.check_many(xs[sel], ys[sel], at=moment, kinds=ALERTING_KINDS)
        titles = zones.zone_titles(session, {int(z) for z in zone_ids})
        for p, zone_id in zip(pts.tolist(), zone_ids.tolist(), strict=True):
            inc = incidents[int(sel[p])]
            alerts.append(
                Alert(
                    kind="incident_in_zone",
                    zone_id=int(zone_id),
                    incident_id=inc.id,
                    message=domain.alert_message(
                        inc.type, titles.get(int(zone_id), "a protected zone")
                    ),
                    raised_at=utcnow(),
                    owner_org_id=inc.owner_org_id,
                )
            )
    session.add_all(alerts)
    session.flush()
    if bus is not None and alerts:
        ids = [a.id for a in alerts]

        def publish() -> None:
            for alert_id in ids:
                bus.publish({"type": "alert", "id": alert_id})

        after_commit(session, publish)
    return alerts


def get_incident(session: Session, principal: Principal, incident_id: int) -> Incident:
    return get_visible(session, Incident, incident_id, principal.viewer)


def update_incident(
    session: Session, principal: Principal, incident_id: int, data: IncidentUpdate
) -> Incident:
    require(principal, Permission.VERIFY_INCIDENTS, Permission.REPORT_INCIDENTS)
    incident = get_incident(session, principal, incident_id)
    if not principal.can(Permission.VERIFY_INCIDENTS):
        require_write(
            principal,
            incident.owner_org_id,
            Permission.VERIFY_INCIDENTS,
            Permission.REPORT_INCIDENTS,
        )
    check_version(incident, data.version)
    changes: dict[str, Any] = data.model_dump(
        exclude_unset=True, exclude={"version", "releasability"}, mode="json"
    )
    if data.releasability is not None:
        incident.marking = resolve_marking(session, data.releasability)
    apply_changes(incident, changes)
    session.flush()
    picture_changed(session, "incident", incident.id)
    return incident


def verify(
    session: Session, principal: Principal, incident_id: int, data: VerificationCreate
) -> VerificationStep:
    require(principal, Permission.VERIFY_INCIDENTS)
    incident = get_incident(session, principal, incident_id)
    check_version(incident, data.version)
    current = domain.VerificationStatus(incident.status)
    domain.check_verification_step(current, data.to, attribution=data.attribution)
    if data.finding is not None and data.to not in domain.CONCLUDED:
        raise InvalidInput.field("body.finding", "a finding comes with a concluding step")
    step = VerificationStep(
        incident_id=incident.id,
        from_status=current.value,
        to_status=data.to.value,
        note=data.note,
        attribution=data.attribution,
        by=principal.actor,
    )
    session.add(step)
    incident.status = data.to.value
    if data.attribution is not None:
        incident.attribution = data.attribution
    if data.to is not domain.VerificationStatus.VERIFIED and incident.attribution is not None:
        incident.attribution = None  # only a verified incident carries an attribution
    if data.finding is not None:
        incident.finding = data.finding
    if data.releasability is not None:
        incident.marking = resolve_marking(session, data.releasability)
    session.flush()
    picture_changed(session, "incident", incident.id)
    return step


def steps(session: Session, principal: Principal, incident_id: int) -> list[VerificationStep]:
    incident = get_incident(session, principal, incident_id)
    stmt = select(VerificationStep).where(VerificationStep.incident_id == incident.id)
    return list(session.scalars(stmt.order_by(VerificationStep.id)))


def add_evidence(
    session: Session, principal: Principal, incident_id: int, data: EvidenceCreate
) -> Evidence:
    require(principal, Permission.REPORT_INCIDENTS)
    incident = get_incident(session, principal, incident_id)
    item = Evidence(incident_id=incident.id, **data.model_dump(), added_by=principal.actor)
    session.add(item)
    session.flush()
    return item


def evidence(session: Session, principal: Principal, incident_id: int) -> list[Evidence]:
    incident = get_incident(session, principal, incident_id)
    stmt = select(Evidence).where(Evidence.incident_id == incident.id).order_by(Evidence.id)
    return list(session.scalars(stmt))


def incident_statement(
    session: Session,
    principal: Principal,
    spatial: SpatialBackend,
    *,
    bbox: BBox | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    types: list[domain.IncidentType] | None = None,
    status: domain.VerificationStatus | None = None,
    min_severity: int | None = None,
    zone_id: int | None = None,
    near: tuple[float, float, float] | None = None,
) -> Select[Incident]:
    """Visible incidents filtered by place (bbox, inside a zone, within a distance), time
    window, type, status and severity."""
    stmt = visible(Incident, principal.viewer)
    if bbox is not None:
        stmt = stmt.where(
            spatial.bbox_time_filter(
                Incident, bbox, Incident.occurred_at, start, end, principal.viewer
            )
        )
    else:
        if start is not None:
            stmt = stmt.where(Incident.occurred_at >= start)
        if end is not None:
            stmt = stmt.where(Incident.occurred_at <= end)
    if types:
        stmt = stmt.where(Incident.type.in_([t.value for t in types]))
    if status is not None:
        stmt = stmt.where(Incident.status == status.value)
    if min_severity is not None:
        stmt = stmt.where(Incident.severity >= min_severity)
    if zone_id is not None:
        zone = zones.get_zone(session, principal, zone_id)
        stmt = stmt.where(spatial.intersects_filter(session, Incident, zone.geometry, stmt))
    if near is not None:
        lon, lat, metres = near
        stmt = stmt.where(spatial.within_distance_filter(session, Incident, lon, lat, metres, stmt))
    return stmt


def duplicates(
    session: Session,
    principal: Principal,
    spatial: SpatialBackend,
    incident_id: int,
    *,
    distance_m: float,
    window: dt.timedelta,
) -> list[tuple[Incident, float, float]]:
    """Possible duplicates: the same type, within the distance and the time window."""
    inc = get_incident(session, principal, incident_id)
    point = shapely.point_on_surface(inc.geometry)
    stmt = incident_statement(
        session,
        principal,
        spatial,
        start=inc.occurred_at - window,
        end=inc.occurred_at + window,
        types=[domain.IncidentType(inc.type)],
        near=(point.x, point.y, distance_m),
    ).where(Incident.id != inc.id)
    out = []
    for other in session.scalars(stmt.order_by(Incident.occurred_at)):
        q = shapely.point_on_surface(other.geometry)
        hours = abs((other.occurred_at - inc.occurred_at).total_seconds()) / 3600
        out.append((other, great_circle_m(point.x, point.y, q.x, q.y), hours))
    return out


# --- alerts -----------------------------------------------------------------------------------


def alert_statement(principal: Principal, status: str | None = None) -> Select[Alert]:
    stmt = visible(Alert, principal.viewer)
    if status:
        stmt = stmt.where(Alert.status == status)
    return stmt


def get_alert(session: Session, principal: Principal, alert_id: int) -> Alert:
    return get_visible(session, Alert, alert_id, principal.viewer)


def act_on_alert(
    session: Session, principal: Principal, alert_id: int, action: str, version: int
) -> Alert:
    require(principal, Permission.MANAGE_ALERTS)
    alert = get_alert(session, principal, alert_id)
    check_version(alert, version)
    now = utcnow()
    if action == "acknowledge":
        if alert.status != "open":
            raise InvalidInput.field("path.alert_id", f"the alert is {alert.status}")
        alert.status, alert.acknowledged_by, alert.acknowledged_at = (
            "acknowledged",
            principal.actor,
            now,
        )
    else:
        if alert.status == "closed":
            raise InvalidInput.field("path.alert_id", "the alert is closed already")
        alert.status, alert.closed_by, alert.closed_at = "closed", principal.actor, now
    session.flush()
    return alert
