"""Recoveries: remains found and recovered at a place, their identification and handover; and
the personal data of the missing and their families, kept apart and shown only to a recovery
officer of the organization that owns the recovery."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.core.clock import utcnow
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import Forbidden, InvalidInput, NotFound
from cmcc.geo.backend import SpatialBackend
from cmcc.geo.geometry import BBox, parse_geometry
from cmcc.remains import domain
from cmcc.remains.models import Recovery, RecoveryPersonalData, SearchTask
from cmcc.remains.schemas import PersonalDataPut, RecoveryCreate, RecoveryUpdate

FUTURE_SLACK = dt.timedelta(minutes=10)


def _point(value: object, aoi: BBox, outside_aoi: bool) -> BaseGeometry:
    geom = parse_geometry(value, field="body.geometry", aoi=aoi, outside_aoi=outside_aoi)
    if geom.geom_type != "Point":
        raise InvalidInput.field("body.geometry", "a recovery is a GeoJSON Point")
    return geom


def _check(values: dict[str, Any]) -> None:
    """The rules across fields, on the record as it would be stored; errors name the field."""
    if values["recovered_at"] > utcnow() + FUTURE_SLACK:
        raise InvalidInput.field("body.recovered_at", "is in the future")
    if values["remains_recovered"] > values["remains_found"]:
        raise InvalidInput.field("body.remains_recovered", "cannot be more than remains_found")
    if (values["handover_to"] is None) != (values["handover_date"] is None):
        missing = "handover_date" if values["handover_date"] is None else "handover_to"
        raise InvalidInput.field(f"body.{missing}", "a handover needs both to whom and the date")
    if (
        values["handover_date"] is not None
        and values["handover_date"] < values["recovered_at"].date()
    ):
        raise InvalidInput.field("body.handover_date", "is before the recovery")
    problem = domain.identification_problem(
        values["identification_status"], values["identification_method"], values["handover_to"]
    )
    if problem is not None:
        raise InvalidInput.field(f"body.{problem[0]}", problem[1])


def _task_for_recovery(session: Session, principal: Principal, task_id: int) -> SearchTask:
    try:
        task = get_visible(session, SearchTask, task_id, principal.viewer)
    except NotFound:
        raise InvalidInput.field("body.task_id", f"search task {task_id} not found") from None
    domain.check_recovery_on(domain.TaskStatus(task.status))
    return task


def create_recovery(
    session: Session, principal: Principal, data: RecoveryCreate, *, aoi: BBox
) -> Recovery:
    require(principal, Permission.WRITE_SEARCH)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can create records")
    values = data.model_dump(exclude={"releasability", "geometry", "outside_aoi"}, mode="python")
    for key in ("identification_status", "identification_method", "handover_to"):
        values[key] = values[key].value if values[key] is not None else None
    _check(values)
    geom = _point(data.geometry, aoi, data.outside_aoi)
    if data.task_id is not None:
        _task_for_recovery(session, principal, data.task_id)
    recovery = Recovery(**values, owner_org_id=principal.org_id)
    recovery.geometry = geom
    recovery.marking = resolve_marking(session, data.releasability)
    session.add(recovery)
    session.flush()
    return recovery


def get_recovery(session: Session, principal: Principal, recovery_id: int) -> Recovery:
    return get_visible(session, Recovery, recovery_id, principal.viewer)


def update_recovery(
    session: Session, principal: Principal, recovery_id: int, data: RecoveryUpdate, *, aoi: BBox
) -> Recovery:
    require(principal, Permission.WRITE_SEARCH)
    recovery = get_recovery(session, principal, recovery_id)
    check_version(recovery, data.version)
    changes = data.model_dump(
        exclude_unset=True, exclude={"version", "releasability", "geometry", "outside_aoi"}
    )
    for key in ("identification_status", "identification_method", "handover_to"):
        if changes.get(key) is not None:
            changes[key] = changes[key].value
    for key in ("recovered_at", "place", "remains_found", "remains_recovered", "notes"):
        if key in changes and changes[key] is None:
            raise InvalidInput.field(f"body.{key}", "may not be null")
    current = {
        key: getattr(recovery, key)
        for key in (
            "recovered_at",
            "remains_found",
            "remains_recovered",
            "identification_status",
            "identification_method",
            "handover_to",
            "handover_date",
        )
    }
    _check({**current, **changes})
    if data.geometry is not None:
        geom = _point(data.geometry, aoi, data.outside_aoi)
        if not geom.equals(recovery.geometry):
            recovery.geometry = geom
    if data.releasability is not None:
        recovery.marking = resolve_marking(session, data.releasability)
    apply_changes(recovery, changes)
    session.flush()
    return recovery


def recovery_statement(
    principal: Principal,
    spatial: SpatialBackend,
    *,
    bbox: BBox | None = None,
    task_id: int | None = None,
) -> Select[Recovery]:
    stmt = visible(Recovery, principal.viewer)
    if bbox is not None:
        stmt = stmt.where(spatial.bbox_filter(Recovery, bbox))
    if task_id is not None:
        stmt = stmt.where(Recovery.task_id == task_id)
    return stmt


# --- personal data ----------------------------------------------------------------------------


def _stored(session: Session, recovery_id: int) -> RecoveryPersonalData | None:
    stmt = select(RecoveryPersonalData).where(RecoveryPersonalData.recovery_id == recovery_id)
    return session.scalars(stmt).one_or_none()


def personal_data_of(
    session: Session, principal: Principal, recovery: Recovery
) -> tuple[bool, RecoveryPersonalData | None]:
    """(may the caller read it, the data if any). Nothing is read for anyone else."""
    if not domain.may_read_personal_data(principal, recovery.owner_org_id):
        return False, None
    return True, _stored(session, recovery.id)


def _officer_of_owner(session: Session, principal: Principal, recovery_id: int) -> Recovery:
    require(principal, Permission.READ_PERSONAL_DATA)  # before the lookup: 403 for any id
    recovery = get_recovery(session, principal, recovery_id)
    if not domain.may_read_personal_data(principal, recovery.owner_org_id):
        raise Forbidden(
            "only a recovery officer of the organization that owns the recovery may read or "
            "write the personal data of the missing and their families"
        )
    return recovery


def read_personal_data(
    session: Session, principal: Principal, recovery_id: int
) -> RecoveryPersonalData:
    recovery = _officer_of_owner(session, principal, recovery_id)
    data = _stored(session, recovery.id)
    if data is None:
        raise NotFound(f"no personal data is recorded for recovery {recovery_id}")
    return data


def put_personal_data(
    session: Session, principal: Principal, recovery_id: int, data: PersonalDataPut
) -> RecoveryPersonalData:
    """Create or replace the personal data. The audit log records that it changed (which
    columns, by whom, when), never the values (see RecoveryPersonalData.__audit_redact__)."""
    require(principal, Permission.WRITE_SEARCH)
    recovery = _officer_of_owner(session, principal, recovery_id)
    if data.date_of_birth is not None and data.date_of_birth > utcnow().date():
        raise InvalidInput.field("body.date_of_birth", "is in the future")
    stored = _stored(session, recovery.id)
    if stored is None:
        stored = RecoveryPersonalData(recovery_id=recovery.id, updated_by=principal.actor)
        session.add(stored)
    apply_changes(stored, {**data.model_dump(), "updated_by": principal.actor})
    session.flush()
    return stored
