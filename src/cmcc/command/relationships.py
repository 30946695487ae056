"""Command relationships: proposed by the force, agreed by the contributing nation, effective
from the transfer of authority, ended; refused where the contingent's caveats forbid them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.command import areas
from cmcc.command.domain import (
    RELATIONSHIP_STEPS,
    Relationship,
    RelationshipStatus,
    UnitKind,
    relationship_caveat,
)
from cmcc.command.models import CommandRelationship, Unit, is_lineage
from cmcc.command.orbat import SYSTEM_VIEWER, ancestors, current_version
from cmcc.command.schemas import RelationshipCreate, RelationshipStep
from cmcc.core.clock import utcnow
from cmcc.core.crud import check_version
from cmcc.core.errors import Conflict, Forbidden, InvalidInput, NotFound, TransitionRefused
from cmcc.core.releasability import Viewer
from cmcc.forces.domain import Caveats
from cmcc.forces.models import Pledge


def chain_pledge(session: Session, chain: list[Unit]) -> Pledge | None:
    """The pledge that binds a unit: its own, or the nearest one above it in its chain of
    command (`orbat.ancestors`; a sub-unit of a contingent carries the contingent's caveats)."""
    for unit in chain:
        if unit.pledge_id is not None:
            return session.get(Pledge, unit.pledge_id)
    return None


def chain_caveats(session: Session, chain: list[Unit]) -> Caveats:
    pledge = chain_pledge(session, chain)
    return Caveats.from_dict(pledge.caveats) if pledge is not None else Caveats()


def propose(
    session: Session, principal: Principal, data: RelationshipCreate
) -> CommandRelationship:
    require(principal, Permission.WRITE_ORBAT)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can create records")
    at = data.effective_from
    unit = current_version(session, principal.viewer, data.unit, at)
    if unit is None:
        raise InvalidInput.field("body.unit", f"no unit {data.unit} you may see at {at:%Y-%m-%d}")
    hq = current_version(session, principal.viewer, data.headquarters, at)
    if hq is None or hq.kind != UnitKind.HEADQUARTERS.value:
        raise InvalidInput.field(
            "body.headquarters", f"no headquarters {data.headquarters} you may see at {at:%Y-%m-%d}"
        )
    caveat = relationship_caveat(
        chain_caveats(session, ancestors(session, data.unit, at)),
        data.kind,
        areas.area_kinds(session, data.headquarters, at, principal.viewer),
    )
    if caveat is not None:
        raise Conflict(f"refused: {caveat}")
    rel = CommandRelationship(
        unit_lineage=data.unit,
        hq_lineage=data.headquarters,
        kind=data.kind.value,
        status=RelationshipStatus.PROPOSED.value,
        effective_from=at,
        proposed_by=principal.actor,
        notes=data.notes,
        owner_org_id=principal.org_id,
    )
    # Released by default like the unit: the nation and the force both need it.
    rel.marking = resolve_marking(session, data.releasability)
    session.add(rel)
    session.flush()
    return rel


def _nation_may_decide(principal: Principal, unit: Unit) -> None:
    """Only the contributing nation (the unit's owning organization) agrees or refuses."""
    if principal.system:
        return
    require(principal, Permission.NATIONAL_COMMAND)
    if principal.org_id != unit.owner_org_id:
        raise Forbidden("only the contributing nation of the unit may agree or refuse this")


def step(
    session: Session, principal: Principal, rel_id: int, data: RelationshipStep
) -> CommandRelationship:
    """proposed -> agreed (the nation), agreed -> effective (the force, at the TOA), -> ended."""
    require(principal, Permission.WRITE_ORBAT, Permission.NATIONAL_COMMAND)
    rel = get_visible(session, CommandRelationship, rel_id, principal.viewer)
    check_version(rel, data.version)
    current, target = RelationshipStatus(rel.status), data.status
    if target not in RELATIONSHIP_STEPS[current]:
        raise TransitionRefused(
            f"a relationship that is {current.value} cannot become {target.value}"
        )
    now = utcnow()
    unit = current_version(session, SYSTEM_VIEWER, rel.unit_lineage) or _any_version(session, rel)
    if target is RelationshipStatus.AGREED:
        _nation_may_decide(principal, unit)
        rel.agreed_by, rel.agreed_at = principal.actor, now
    elif target is RelationshipStatus.EFFECTIVE:
        require(principal, Permission.WRITE_ORBAT)
        if rel.agreed_by is None:
            raise TransitionRefused("the contributing nation has not agreed this relationship")
        # Whatever else the force held over the unit ends at this transfer of authority.
        for other in session.scalars(
            select(CommandRelationship).where(
                CommandRelationship.unit_lineage == rel.unit_lineage,
                CommandRelationship.status == RelationshipStatus.EFFECTIVE.value,
                CommandRelationship.id != rel.id,
                CommandRelationship.kind.in_([k.value for k in _TASKING_OR_SAME(rel.kind)]),
            )
        ):
            other.status = RelationshipStatus.ENDED.value
            other.ended_at = max(rel.effective_from, other.effective_from)
    else:  # ended: by the force, or withdrawn by the nation
        if not principal.can(Permission.WRITE_ORBAT):
            _nation_may_decide(principal, unit)
        # Never in force: an empty interval, so it never counts as authority at any date.
        in_force = current is RelationshipStatus.EFFECTIVE
        rel.ended_at = max(now, rel.effective_from) if in_force else rel.effective_from
    if data.note:
        rel.notes = (rel.notes + "\n" if rel.notes else "") + f"{principal.actor}: {data.note}"
    rel.status = target.value
    session.flush()
    return rel


def _TASKING_OR_SAME(kind: str) -> set[Relationship]:
    """Relationships replaced when `kind` takes effect: one tasking authority at a time."""
    k = Relationship(kind)
    if k in (Relationship.OPCON, Relationship.TACON):
        return {Relationship.OPCON, Relationship.TACON}
    return {k}


def _any_version(session: Session, rel: CommandRelationship) -> Unit:
    unit = session.scalars(select(Unit).where(is_lineage(Unit, rel.unit_lineage))).first()
    if unit is None:
        raise NotFound(f"unit {rel.unit_lineage} not found")
    return unit


def authority(
    session: Session, hq_lineage: int, chain: list[Unit], at: dt.datetime, viewer: Viewer
) -> Relationship | None:
    """The strongest effective relationship, of those `viewer` may see, the headquarters holds
    at `at` over the unit or over one of its parents (`chain`, from `orbat.ancestors`: OPCON of
    a contingent reaches its sub-units). A relationship ended before `at` or effective after it
    does not count."""
    if not chain:
        return None
    rows = session.scalars(
        visible(
            CommandRelationship,
            viewer,
            CommandRelationship.hq_lineage == hq_lineage,
            CommandRelationship.unit_lineage.in_([u.lineage_id for u in chain]),
            CommandRelationship.status.in_(
                [RelationshipStatus.EFFECTIVE.value, RelationshipStatus.ENDED.value]
            ),
            CommandRelationship.effective_from <= at,
            or_(CommandRelationship.ended_at.is_(None), CommandRelationship.ended_at > at),
        ).with_only_columns(CommandRelationship.kind)
    ).all()
    order = [Relationship.OPCON, Relationship.TACON, Relationship.ADCON, Relationship.NATIONAL]
    held = {Relationship(k) for k in rows}
    return next((k for k in order if k in held), None)


def relationship_statement(
    viewer: Viewer,
    *,
    unit: int | None = None,
    headquarters: int | None = None,
    status: RelationshipStatus | None = None,
) -> Select[CommandRelationship]:
    stmt = visible(CommandRelationship, viewer)
    if unit is not None:
        stmt = stmt.where(CommandRelationship.unit_lineage == unit)
    if headquarters is not None:
        stmt = stmt.where(CommandRelationship.hq_lineage == headquarters)
    if status is not None:
        stmt = stmt.where(CommandRelationship.status == status.value)
    return stmt.order_by(CommandRelationship.effective_from, CommandRelationship.id)
