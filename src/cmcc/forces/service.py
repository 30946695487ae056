"""Force generation services: the one path by which the API, the CLI and the scenario loader
read and change states, pledges, requirements, targets and contributions."""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require, require_write
from cmcc.access.policy import get_visible, release_filter, visible
from cmcc.access.service import resolve_marking
from cmcc.core.codes import is_currency_code
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import Conflict, Forbidden, InvalidInput, NotFound, TransitionRefused
from cmcc.core.pagination import Page, paginate
from cmcc.core.releasability import Marking, Viewer
from cmcc.forces import domain
from cmcc.forces.models import (
    Contribution,
    ForceTarget,
    Pledge,
    ReadinessVisit,
    Requirement,
    State,
    StateTransition,
)
from cmcc.forces.schemas import (
    ContributionCreate,
    ContributionUpdate,
    PledgeCreate,
    PledgeUpdate,
    ReadinessChange,
    Renewal,
    RequirementCreate,
    RequirementUpdate,
    StateUpdate,
    TargetCreate,
    TargetUpdate,
    TransitionCreate,
)

WRITE = (Permission.WRITE_FORCES, Permission.WRITE_OWN_FORCES)


def _owner(principal: Principal) -> int:
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can create records")
    return principal.org_id


def _new_marking(session: Session, text: str) -> Marking:
    return resolve_marking(session, text)


def _update_common(
    session: Session, record: Any, data: Any, principal: Principal
) -> dict[str, Any]:
    require_write(principal, record.owner_org_id, *WRITE)
    check_version(record, data.version)
    changes: dict[str, Any] = data.model_dump(
        exclude_unset=True, exclude={"version", "releasability"}
    )
    if data.releasability is not None:
        record.marking = _new_marking(session, data.releasability)
    return changes


# --- states -----------------------------------------------------------------------------------


def load_state_list() -> list[dict[str, str]]:
    """UN member states, observers and Kosovo, shipped with the package."""
    text = resources.files("cmcc.forces").joinpath("data/states.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def seed_states(session: Session, owner_org_id: int, marking: Marking) -> int:
    """Add every state of the shipped list that is not stored yet; return how many were added."""
    have = set(session.scalars(select(State.iso3)))
    added = 0
    for row in load_state_list():
        if row["iso3"] in have:
            continue
        state = State(
            iso3=row["iso3"],
            name=row["name"],
            un_member=row["un_member"] == "true",
            owner_org_id=owner_org_id,
        )
        state.marking = marking
        session.add(state)
        added += 1
    session.flush()
    return added


def state_by_iso3(session: Session, iso3: str, viewer: Viewer) -> State:
    state = session.scalars(visible(State, viewer, State.iso3 == iso3.upper())).first()
    if state is None:
        raise NotFound(f"state {iso3!r} not found")
    return state


def list_states(
    session: Session,
    viewer: Viewer,
    *,
    status: domain.StateStatus | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[State]:
    stmt = visible(State, viewer)
    if status is not None:
        stmt = stmt.where(State.status == status.value)
    if q:
        stmt = stmt.where(State.name.icontains(q, autoescape=True) | (State.iso3 == q.upper()))
    return paginate(session, stmt, State.id, cursor, limit)


def update_state(session: Session, principal: Principal, iso3: str, data: StateUpdate) -> State:
    require(principal, Permission.WRITE_FORCES)
    state = state_by_iso3(session, iso3, principal.viewer)
    apply_changes(state, _update_common(session, state, data, principal))
    session.flush()
    return state


def transition_state(
    session: Session, principal: Principal, iso3: str, data: TransitionCreate
) -> StateTransition:
    """Move a state along the outreach pipeline, one dated and reasoned step at a time."""
    require(principal, Permission.WRITE_FORCES)
    if data.force:
        require(principal, Permission.FORCE_TRANSITION)
    state = state_by_iso3(session, iso3, principal.viewer)
    current = domain.StateStatus(state.status)
    domain.check_transition(
        current, data.to, on=data.date, last_on=state.status_since, force=data.force
    )
    forced = domain.transition_problem(current, data.to) is not None
    transition = StateTransition(
        state_id=state.id,
        from_status=current.value,
        to_status=data.to.value,
        date=data.date,
        reason=data.reason,
        source=data.source,
        forced=forced,
        by=principal.actor,
    )
    session.add(transition)
    state.status = data.to.value
    state.status_since = data.date
    session.flush()
    return transition


def list_transitions(session: Session, viewer: Viewer, iso3: str) -> list[StateTransition]:
    state = state_by_iso3(session, iso3, viewer)
    stmt = (
        select(StateTransition)
        .where(StateTransition.state_id == state.id)
        .order_by(StateTransition.date, StateTransition.id)
    )
    return list(session.scalars(stmt))


# --- pledges ----------------------------------------------------------------------------------


def _state_for_write(session: Session, principal: Principal, iso3: str, field: str) -> State:
    try:
        state = state_by_iso3(session, iso3, principal.viewer)
    except NotFound:
        raise InvalidInput.field(field, f"unknown state {iso3!r}") from None
    if not principal.can(Permission.WRITE_FORCES) and principal.org_code != state.iso3:
        raise Forbidden(
            "a liaison officer records pledges and contributions of its own nation only"
        )
    return state


def create_pledge(session: Session, principal: Principal, data: PledgeCreate) -> Pledge:
    require(principal, Permission.WRITE_OWN_FORCES)
    state = _state_for_write(session, principal, data.state, "body.state")
    pledge = Pledge(
        ref=data.ref,
        state_id=state.id,
        capability=data.capability.value,
        units=data.units,
        strength=data.strength,
        equipment=data.equipment,
        readiness=domain.ReadinessLevel.LEVEL_1.value,
        registered_on=data.registered_on,
        renewal_due=domain.renewal_due(data.registered_on, None),
        earliest_deployment=data.earliest_deployment,
        deployed_on=data.deployed_on,
        duration_months=data.duration_months,
        tour_months=data.tour_months,
        caveats=data.caveats.model_dump(mode="json"),
        notes=data.notes,
        source=data.source,
        owner_org_id=_owner(principal),
    )
    pledge.state = state
    pledge.marking = _new_marking(session, data.releasability)
    session.add(pledge)
    session.flush()
    session.add(
        ReadinessVisit(
            pledge_id=pledge.id,
            kind=domain.VisitKind.REGISTRATION.value,
            date=data.registered_on,
            from_level=domain.ReadinessLevel.LEVEL_1.value,
            to_level=domain.ReadinessLevel.LEVEL_1.value,
            notes="pledge registered",
            by=principal.actor,
        )
    )
    session.flush()
    return pledge


def pledge_statement(
    viewer: Viewer,
    *,
    state: str | None = None,
    capability: domain.Capability | None = None,
    readiness: domain.ReadinessLevel | None = None,
    matched: bool | None = None,
    renewal_overdue: bool | None = None,
) -> Select[Pledge]:
    stmt = visible(Pledge, viewer)
    if state:
        stmt = stmt.join(State, State.id == Pledge.state_id).where(State.iso3 == state.upper())
    if capability is not None:
        stmt = stmt.where(Pledge.capability == capability.value)
    if readiness is not None:
        stmt = stmt.where(Pledge.readiness == readiness.value)
    if matched is not None:
        stmt = stmt.where(
            Pledge.requirement_id.is_not(None) if matched else Pledge.requirement_id.is_(None)
        )
    if renewal_overdue is not None:
        today = dt.datetime.now(dt.UTC).date()
        stmt = stmt.where(
            Pledge.renewal_due < today if renewal_overdue else Pledge.renewal_due >= today
        )
    return stmt


def get_pledge(session: Session, viewer: Viewer, pledge_id: int) -> Pledge:
    return get_visible(session, Pledge, pledge_id, viewer)


def update_pledge(
    session: Session, principal: Principal, pledge_id: int, data: PledgeUpdate
) -> Pledge:
    require(principal, *WRITE)
    pledge = get_pledge(session, principal.viewer, pledge_id)
    changes = _update_common(session, pledge, data, principal)
    if "caveats" in changes and data.caveats is not None:
        changes["caveats"] = data.caveats.model_dump(mode="json")
    for later, earlier in (
        ("earliest_deployment", "registered_on"),
        ("deployed_on", "registered_on"),
    ):
        value = changes.get(later, getattr(pledge, later))
        base = changes.get(earlier, getattr(pledge, earlier))
        if value is not None and base is not None and value < base:
            raise InvalidInput.field(f"body.{later}", f"{value} is before {earlier} ({base})")
    if "registered_on" in changes and changes["registered_on"] is None:
        raise InvalidInput.field("body.registered_on", "cannot be removed")
    apply_changes(pledge, changes)
    pledge.renewal_due = domain.renewal_due(pledge.registered_on, pledge.last_renewed_on)
    session.flush()
    return pledge


def change_readiness(
    session: Session, principal: Principal, pledge_id: int, data: ReadinessChange
) -> ReadinessVisit:
    """Record the PCRS step (AAV, SUR alignment, verification visit) that changes the level."""
    require(principal, *WRITE)
    pledge = get_pledge(session, principal.viewer, pledge_id)
    require_write(principal, pledge.owner_org_id, *WRITE)
    check_version(pledge, data.version)
    current = domain.ReadinessLevel(pledge.readiness)
    problem = domain.readiness_problem(current, data.level, data.visit)
    if problem:
        raise TransitionRefused(problem)
    if data.date < pledge.registered_on:
        raise InvalidInput.field(
            "body.date", f"before the pledge was registered ({pledge.registered_on})"
        )
    visit = ReadinessVisit(
        pledge_id=pledge.id,
        kind=data.visit.value,
        date=data.date,
        from_level=current.value,
        to_level=data.level.value,
        notes=data.notes,
        by=principal.actor,
    )
    session.add(visit)
    pledge.readiness = data.level.value
    session.flush()
    return visit


def list_visits(session: Session, viewer: Viewer, pledge_id: int) -> list[ReadinessVisit]:
    pledge = get_pledge(session, viewer, pledge_id)
    stmt = select(ReadinessVisit).where(ReadinessVisit.pledge_id == pledge.id)
    return list(session.scalars(stmt.order_by(ReadinessVisit.date, ReadinessVisit.id)))


def renew_pledge(session: Session, principal: Principal, pledge_id: int, data: Renewal) -> Pledge:
    require(principal, *WRITE)
    pledge = get_pledge(session, principal.viewer, pledge_id)
    require_write(principal, pledge.owner_org_id, *WRITE)
    check_version(pledge, data.version)
    last = pledge.last_renewed_on or pledge.registered_on
    if data.date < last:
        raise InvalidInput.field("body.date", f"before the last registration or renewal ({last})")
    pledge.last_renewed_on = data.date
    pledge.renewal_due = domain.renewal_due(pledge.registered_on, data.date)
    session.flush()
    return pledge


# --- requirements and matching ---------------------------------------------------------------


def create_requirement(
    session: Session, principal: Principal, data: RequirementCreate
) -> Requirement:
    require(principal, Permission.WRITE_FORCES)
    req = Requirement(
        **data.model_dump(mode="json", exclude={"releasability", "needed_by"}),
        needed_by=data.needed_by,
        owner_org_id=_owner(principal),
    )
    req.marking = _new_marking(session, data.releasability)
    session.add(req)
    session.flush()
    return req


def get_requirement(session: Session, viewer: Viewer, req_id: int) -> Requirement:
    return get_visible(session, Requirement, req_id, viewer)


def requirement_statement(
    viewer: Viewer, *, capability: domain.Capability | None = None, sector: str | None = None
) -> Select[Requirement]:
    stmt = visible(Requirement, viewer)
    if capability is not None:
        stmt = stmt.where(Requirement.capability == capability.value)
    if sector:
        stmt = stmt.where(Requirement.sector == sector)
    return stmt


def update_requirement(
    session: Session, principal: Principal, req_id: int, data: RequirementUpdate
) -> Requirement:
    require(principal, Permission.WRITE_FORCES)
    req = get_requirement(session, principal.viewer, req_id)
    changes = _update_common(session, req, data, principal)
    for key in ("zone_kinds", "tasks"):
        if key in changes and changes[key] is not None:
            changes[key] = [str(v) for v in changes[key]]
    if "units" in changes and changes["units"] is not None:
        filled = _filled_units(session, req.id)
        if changes["units"] < filled:
            raise Conflict(f"{filled} units are already matched; unmatch pledges first")
    apply_changes(req, changes)
    session.flush()
    return req


def _filled_units(session: Session, req_id: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Pledge.units), 0)).where(Pledge.requirement_id == req_id)
    )
    return int(total or 0)


def match_problems(pledge: Pledge, req: Requirement) -> list[str]:
    """Why this pledge cannot fill this requirement (empty when it can)."""
    problems = []
    if pledge.capability != req.capability:
        problems.append(f"the pledge offers {pledge.capability}, the SUR needs {req.capability}")
    caveats = domain.Caveats.from_dict(pledge.caveats)
    tasks: list[str | None] = list(req.tasks) or [None]
    for task in tasks:
        problems.extend(domain.caveats_permit(caveats, req.zone_kinds, task).reasons)
    if domain.StateStatus(pledge.state.status) in domain.INACTIVE_STEPS:
        problems.append(f"the state has {pledge.state.status}")
    return list(dict.fromkeys(problems))


def match_pledge(session: Session, principal: Principal, req_id: int, pledge_id: int) -> Pledge:
    require(principal, Permission.WRITE_FORCES)
    req = get_requirement(session, principal.viewer, req_id)
    pledge = get_pledge(session, principal.viewer, pledge_id)
    if pledge.requirement_id == req.id:
        return pledge
    if pledge.requirement_id is not None:
        raise Conflict(f"pledge {pledge.ref} already fills requirement {pledge.requirement_id}")
    problems = match_problems(pledge, req)
    if problems:
        raise Conflict("cannot match: " + "; ".join(problems))
    filled = _filled_units(session, req.id)
    if filled + pledge.units > req.units:
        raise Conflict(f"the SUR needs {req.units} units and {filled} are matched already")
    pledge.requirement_id = req.id
    session.flush()
    return pledge


def unmatch_pledge(session: Session, principal: Principal, req_id: int, pledge_id: int) -> None:
    require(principal, Permission.WRITE_FORCES)
    req = get_requirement(session, principal.viewer, req_id)
    pledge = get_pledge(session, principal.viewer, pledge_id)
    if pledge.requirement_id != req.id:
        raise NotFound(f"pledge {pledge_id} is not matched to requirement {req_id}")
    pledge.requirement_id = None
    session.flush()


def candidates(
    session: Session, viewer: Viewer, req_id: int, limit: int = 50
) -> list[tuple[Pledge, list[str]]]:
    """Unmatched pledges of the SUR's capability, readiest and earliest first, with the reasons
    (caveats, state) that would refuse a match."""
    req = get_requirement(session, viewer, req_id)
    order = {level.value: i for i, level in enumerate(reversed(domain.READINESS_ORDER))}
    stmt = pledge_statement(viewer, capability=domain.Capability(req.capability), matched=False)
    pledges = sorted(
        session.scalars(stmt).unique(),
        key=lambda p: (order[p.readiness], p.earliest_deployment or dt.date.max, p.id),
    )
    return [(p, match_problems(p, req)) for p in pledges[:limit]]


# --- targets ----------------------------------------------------------------------------------


def create_target(session: Session, principal: Principal, data: TargetCreate) -> ForceTarget:
    require(principal, Permission.WRITE_FORCES)
    target = ForceTarget(
        name=data.name,
        strength=data.strength,
        due=data.due,
        source=data.source,
        owner_org_id=_owner(principal),
    )
    target.marking = _new_marking(session, data.releasability)
    session.add(target)
    session.flush()
    return target


def list_targets(session: Session, viewer: Viewer) -> list[ForceTarget]:
    return list(session.scalars(visible(ForceTarget, viewer).order_by(ForceTarget.due)))


def update_target(
    session: Session, principal: Principal, target_id: int, data: TargetUpdate
) -> ForceTarget:
    require(principal, Permission.WRITE_FORCES)
    target = get_visible(session, ForceTarget, target_id, principal.viewer)
    apply_changes(target, _update_common(session, target, data, principal))
    session.flush()
    return target


# --- contributions ----------------------------------------------------------------------------


def create_contribution(
    session: Session, principal: Principal, data: ContributionCreate
) -> Contribution:
    require(principal, Permission.WRITE_OWN_FORCES)
    state = _state_for_write(session, principal, data.state, "body.state")
    if not is_currency_code(data.currency):
        raise InvalidInput.field("body.currency", f"{data.currency!r} is not an ISO 4217 currency")
    assert data.usd_amount is not None
    item = Contribution(
        state_id=state.id,
        status=data.status,
        amount=data.amount,
        currency=data.currency,
        usd_amount=data.usd_amount,
        date=data.date,
        purpose=data.purpose,
        source=data.source,
        ref=data.ref,
        owner_org_id=_owner(principal),
    )
    item.state = state
    item.marking = _new_marking(session, data.releasability)
    session.add(item)
    session.flush()
    return item


def contribution_statement(
    viewer: Viewer, *, state: str | None = None, status: str | None = None
) -> Select[Contribution]:
    stmt = visible(Contribution, viewer)
    if state:
        stmt = stmt.join(State, State.id == Contribution.state_id).where(
            State.iso3 == state.upper()
        )
    if status:
        stmt = stmt.where(Contribution.status == status)
    return stmt


def get_contribution(session: Session, viewer: Viewer, item_id: int) -> Contribution:
    return get_visible(session, Contribution, item_id, viewer)


def update_contribution(
    session: Session, principal: Principal, item_id: int, data: ContributionUpdate
) -> Contribution:
    require(principal, *WRITE)
    item = get_contribution(session, principal.viewer, item_id)
    apply_changes(item, _update_common(session, item, data, principal))
    session.flush()
    return item


# --- pipeline summary -------------------------------------------------------------------------


def status_counts(session: Session, viewer: Viewer) -> dict[str, int]:
    stmt = (
        select(State.status, func.count())
        .where(release_filter(State, viewer))
        .group_by(State.status)
    )
    return {status: int(n) for status, n in session.execute(stmt)}
