"""The plan tree: plans, their phases and their sector programmes (create, read, correct,
list), and the look-ups the other funding services share."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.models import Organization
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import Conflict, Forbidden, InvalidInput
from cmcc.core.records import Releasable
from cmcc.funding import domain
from cmcc.funding.dac import is_dac_code
from cmcc.funding.models import Phase, Plan, Programme
from cmcc.funding.schemas import (
    PhaseCreate,
    PhaseUpdate,
    PlanCreate,
    PlanUpdate,
    ProgrammeCreate,
    ProgrammeUpdate,
)

R = TypeVar("R", bound=Releasable)


def writer(principal: Principal) -> int:
    """Writes need write_funding and an organization to own the record; its id."""
    require(principal, Permission.WRITE_FUNDING)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can create records")
    return principal.org_id


def referenced(
    session: Session, principal: Principal, model: type[R], record_id: int, field: str
) -> R:
    """A record named in a request body: missing or not released to the caller is a 422 on
    that field (the same answer for both)."""
    obj = session.scalars(visible(model, principal.viewer, model.id == record_id)).one_or_none()
    if obj is None:
        name = model.__name__.lower()
        raise InvalidInput.field(field, f"no {name} {record_id} that you may see")
    return obj


def organization(session: Session, code: str, field: str) -> Organization:
    org = session.scalars(
        select(Organization).where(Organization.code == code.upper())
    ).one_or_none()
    if org is None:
        raise InvalidInput.field(field, f"no organization {code!r}")
    return org


def _unique(session: Session, model: Any, column: Any, value: str, field: str) -> None:
    if session.scalar(select(model.id).where(column == value).limit(1)) is not None:
        raise Conflict(f"{field.removeprefix('body.')} {value!r} is taken", [])


def _changes(data: Any) -> dict[str, Any]:
    changes: dict[str, Any] = data.model_dump(
        exclude_unset=True, exclude={"version", "releasability"}
    )
    return changes


def _update(session: Session, record: Any, data: Any) -> dict[str, Any]:
    """The changes of an update, once the caller's permission is checked and the record found."""
    check_version(record, data.version)
    changes = _changes(data)
    for key, value in changes.items():
        if value is None:
            raise InvalidInput.field(f"body.{key}", "may be changed but not cleared")
    if data.releasability is not None:
        record.marking = resolve_marking(session, data.releasability)
    return changes


# ---- plans ----------------------------------------------------------------------------------


def create_plan(session: Session, principal: Principal, data: PlanCreate) -> Plan:
    owner = writer(principal)
    domain.check_period(data.start_date, data.end_date, "body.end_date")
    _unique(session, Plan, Plan.code, data.code, "body.code")
    _unique(session, Plan, Plan.iati_identifier, data.iati_identifier, "body.iati_identifier")
    plan = Plan(**data.model_dump(exclude={"releasability"}), owner_org_id=owner)
    plan.marking = resolve_marking(session, data.releasability)
    session.add(plan)
    session.flush()
    return plan


def get_plan(session: Session, principal: Principal, plan_id: int) -> Plan:
    return get_visible(session, Plan, plan_id, principal.viewer)


def update_plan(session: Session, principal: Principal, plan_id: int, data: PlanUpdate) -> Plan:
    require(principal, Permission.WRITE_FUNDING)
    plan = get_plan(session, principal, plan_id)
    changes = _update(session, plan, data)
    domain.check_period(
        changes.get("start_date", plan.start_date),
        changes.get("end_date", plan.end_date),
        "body.end_date",
    )
    apply_changes(plan, changes)
    session.flush()
    return plan


def plan_statement(principal: Principal) -> Select[Plan]:
    return visible(Plan, principal.viewer)


# ---- phases ---------------------------------------------------------------------------------


def create_phase(session: Session, principal: Principal, data: PhaseCreate) -> Phase:
    owner = writer(principal)
    plan = referenced(session, principal, Plan, data.plan_id, "body.plan_id")
    domain.check_period(data.start_date, data.end_date, "body.end_date")
    taken = select(Phase.id).where(Phase.plan_id == plan.id, Phase.number == data.number)
    if session.scalar(taken) is not None:
        raise Conflict(f"plan {plan.code} has a phase {data.number} already")
    phase = Phase(**data.model_dump(exclude={"releasability"}), owner_org_id=owner)
    phase.marking = resolve_marking(session, data.releasability)
    session.add(phase)
    session.flush()
    return phase


def get_phase(session: Session, principal: Principal, phase_id: int) -> Phase:
    return get_visible(session, Phase, phase_id, principal.viewer)


def update_phase(session: Session, principal: Principal, phase_id: int, data: PhaseUpdate) -> Phase:
    require(principal, Permission.WRITE_FUNDING)
    phase = get_phase(session, principal, phase_id)
    changes = _update(session, phase, data)
    domain.check_period(
        changes.get("start_date", phase.start_date),
        changes.get("end_date", phase.end_date),
        "body.end_date",
    )
    apply_changes(phase, changes)
    session.flush()
    return phase


def phase_statement(principal: Principal, plan_id: int | None = None) -> Select[Phase]:
    stmt = visible(Phase, principal.viewer)
    if plan_id is not None:
        stmt = stmt.where(Phase.plan_id == plan_id)
    return stmt


# ---- programmes -----------------------------------------------------------------------------


def _dac(code: str, field: str) -> str:
    if not is_dac_code(code):
        raise InvalidInput.field(
            field, f"{code!r} is not a DAC CRS purpose code of the plan (cmcc.funding.dac)"
        )
    return code


def create_programme(session: Session, principal: Principal, data: ProgrammeCreate) -> Programme:
    owner = writer(principal)
    referenced(session, principal, Phase, data.phase_id, "body.phase_id")
    _dac(data.dac_code, "body.dac_code")
    programme = Programme(**data.model_dump(exclude={"releasability"}), owner_org_id=owner)
    programme.marking = resolve_marking(session, data.releasability)
    session.add(programme)
    session.flush()
    return programme


def get_programme(session: Session, principal: Principal, programme_id: int) -> Programme:
    return get_visible(session, Programme, programme_id, principal.viewer)


def update_programme(
    session: Session, principal: Principal, programme_id: int, data: ProgrammeUpdate
) -> Programme:
    require(principal, Permission.WRITE_FUNDING)
    programme = get_programme(session, principal, programme_id)
    changes = _update(session, programme, data)
    if "dac_code" in changes:
        _dac(changes["dac_code"], "body.dac_code")
    apply_changes(programme, changes)
    session.flush()
    return programme


def programme_statement(
    principal: Principal, phase_id: int | None = None, dac_code: str | None = None
) -> Select[Programme]:
    stmt = visible(Programme, principal.viewer)
    if phase_id is not None:
        stmt = stmt.where(Programme.phase_id == phase_id)
    if dac_code is not None:
        stmt = stmt.where(Programme.dac_code == dac_code)
    return stmt
