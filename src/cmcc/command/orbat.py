"""The ORBAT: units created, changed in versions (history kept), read as of any moment, and
made from a deployed pledge at its transfer of authority."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Select, and_, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.command.domain import Echelon, UnitKind, default_sidc
from cmcc.command.models import Unit, is_lineage, unit_lineage_col
from cmcc.command.schemas import PledgeUnits, UnitChange, UnitClose, UnitCreate
from cmcc.core.clock import utcnow
from cmcc.core.crud import check_version
from cmcc.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from cmcc.core.releasability import Viewer
from cmcc.forces.domain import Capability
from cmcc.forces.models import Pledge

SYSTEM_VIEWER = Viewer(None, None, False, sees_all=True)


def valid_at(model: Any, moment: dt.datetime) -> Any:
    return and_(model.valid_from <= moment, or_(model.valid_to.is_(None), model.valid_to > moment))


def orbat_statement(viewer: Viewer, as_of: dt.datetime | None = None) -> Select[Unit]:
    """The visible units valid at `as_of` (default now), one version per lineage."""
    moment = as_of or utcnow()
    return visible(Unit, viewer, valid_at(Unit, moment)).order_by(unit_lineage_col(Unit))


def units_as_of(session: Session, viewer: Viewer, as_of: dt.datetime | None = None) -> list[Unit]:
    return list(session.scalars(orbat_statement(viewer, as_of)))


def current_version(
    session: Session, viewer: Viewer, lineage: int, as_of: dt.datetime | None = None
) -> Unit | None:
    stmt = orbat_statement(viewer, as_of).where(is_lineage(Unit, lineage))
    return session.scalars(stmt).first()


def get_unit(
    session: Session, viewer: Viewer, lineage: int, as_of: dt.datetime | None = None
) -> Unit:
    """The unit's version valid at `as_of` (default now), or its newest visible version."""
    unit = current_version(session, viewer, lineage, as_of)
    if unit is None and as_of is None:
        history = unit_history(session, viewer, lineage)
        unit = history[-1] if history else None
    if unit is None:
        raise NotFound(f"unit {lineage} not found")
    return unit


def unit_history(session: Session, viewer: Viewer, lineage: int) -> list[Unit]:
    stmt = visible(Unit, viewer, is_lineage(Unit, lineage)).order_by(Unit.valid_from)
    return list(session.scalars(stmt))


def _parent(session: Session, principal: Principal, lineage: int | None, at: dt.datetime) -> None:
    if lineage is None:
        return
    if current_version(session, principal.viewer, lineage, at) is None:
        raise InvalidInput.field("body.parent", f"no unit {lineage} you may see at {at:%Y-%m-%d}")


def create_unit(
    session: Session, principal: Principal, data: UnitCreate, *, owner_org_id: int | None = None
) -> Unit:
    require(principal, Permission.WRITE_ORBAT)
    owner = owner_org_id or principal.org_id
    if owner is None:
        raise Forbidden("only a member of an organization can create records")
    valid_from = data.valid_from or utcnow()
    _parent(session, principal, data.parent, valid_from)
    if data.pledge_id is not None:
        get_visible(session, Pledge, data.pledge_id, principal.viewer)
    unit = Unit(
        name=data.name,
        short_name=data.short_name or "",
        nation=data.nation or "",
        kind=data.kind.value,
        echelon=data.echelon.value,
        sidc=data.sidc or default_sidc(data.kind, data.echelon, data.capability),
        capability=data.capability.value if data.capability else None,
        strength_authorized=data.strength_authorized or 0,
        strength_assigned=data.strength_assigned or 0,
        strength_present=data.strength_present or 0,
        location=data.location or "",
        lon=data.lon,
        lat=data.lat,
        parent_lineage=data.parent,
        pledge_id=data.pledge_id,
        transfer_of_authority=data.transfer_of_authority,
        area_zone_lineage=data.area_zone,
        valid_from=valid_from,
        illustrative=data.illustrative,
        source=data.source or "",
        owner_org_id=owner,
    )
    unit.marking = resolve_marking(session, data.releasability)
    session.add(unit)
    session.flush()
    return unit


_COPIED = (
    "name",
    "short_name",
    "nation",
    "kind",
    "echelon",
    "sidc",
    "capability",
    "strength_authorized",
    "strength_assigned",
    "strength_present",
    "location",
    "lon",
    "lat",
    "parent_lineage",
    "pledge_id",
    "transfer_of_authority",
    "area_zone_lineage",
    "illustrative",
    "source",
    "owner_org_id",
    "releasability",
    "release_to",
)


def change_unit(session: Session, principal: Principal, lineage: int, data: UnitChange) -> Unit:
    """A new version of the unit from `valid_from` on; the current one closes at that moment."""
    require(principal, Permission.WRITE_ORBAT)
    current = current_version(session, principal.viewer, lineage)
    if current is None:
        raise NotFound(f"unit {lineage} not found")
    check_version(current, data.version)
    moment = data.valid_from or utcnow()
    if moment <= current.valid_from:
        raise InvalidInput.field(
            "body.valid_from", f"must be after the current version's start {current.valid_from}"
        )
    new = Unit(**{k: getattr(current, k) for k in _COPIED})
    new.lineage = current.lineage_id
    new.valid_from = moment
    new.valid_to = current.valid_to
    changes = data.model_dump(exclude_unset=True, exclude={"version", "valid_from", "clear_parent"})
    renames = {"parent": "parent_lineage", "area_zone": "area_zone_lineage"}
    for key, value in changes.items():
        if key == "releasability":
            if value is not None:
                new.marking = resolve_marking(session, value)
            continue
        if hasattr(value, "value"):
            value = value.value
        setattr(new, renames.get(key, key), value)
    if data.clear_parent:
        new.parent_lineage = None
    if new.parent_lineage is not None and new.parent_lineage != current.parent_lineage:
        if new.parent_lineage in subtree_lineages(session, lineage, moment):
            raise InvalidInput.field("body.parent", "a unit cannot be placed under itself")
        _parent(session, principal, new.parent_lineage, moment)
    if "sidc" not in changes and ("echelon" in changes or "capability" in changes):
        new.sidc = default_sidc(UnitKind(new.kind), Echelon(new.echelon), new.capability)
    current.valid_to = moment
    session.add(new)
    session.flush()
    return new


def close_unit(session: Session, principal: Principal, lineage: int, data: UnitClose) -> Unit:
    """The unit leaves the ORBAT at `valid_to` (repatriated, disbanded); its history stays."""
    require(principal, Permission.WRITE_ORBAT)
    current = current_version(session, principal.viewer, lineage)
    if current is None:
        raise NotFound(f"unit {lineage} not found")
    check_version(current, data.version)
    moment = data.valid_to or utcnow()
    if moment <= current.valid_from:
        raise InvalidInput.field("body.valid_to", "must be after the current version's start")
    current.valid_to = moment
    session.flush()
    return current


def subtree_lineages(session: Session, lineage: int, at: dt.datetime) -> set[int]:
    """The unit and every unit below it at `at` (all units, whatever their marking: for the
    platform's own checks, never shown)."""
    rows = session.execute(
        select(unit_lineage_col(Unit), Unit.parent_lineage).where(valid_at(Unit, at))
    ).all()
    children: dict[int, list[int]] = {}
    for child, parent in rows:
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found, todo = {lineage}, [lineage]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


MAX_DEPTH = 64  # deeper than any ORBAT (team to corps is ten echelons); stops a cycle


def ancestors(session: Session, lineage: int, at: dt.datetime) -> list[Unit]:
    """The unit valid at `at` and its parents up to the root, nearest first (every marking:
    for the platform's checks, never shown); empty when the unit did not exist then.

    One recursive query, each step through the indexed `id` and `lineage` columns: a task's
    acceptance checks walk the chain several times (bench/command_bench.py). A cycle in the
    parents stops at its first repetition."""
    step = aliased(Unit)
    first = select(
        step.id.label("unit_id"),
        step.parent_lineage.label("up"),
        literal(0, Integer).label("depth"),
    ).where(is_lineage(step, lineage), valid_at(step, at))
    chain = first.cte("chain", recursive=True)
    above = aliased(Unit)
    chain = chain.union_all(
        select(above.id, above.parent_lineage, chain.c.depth + 1)
        .join(chain, is_lineage(above, chain.c.up))
        .where(valid_at(above, at), chain.c.depth < MAX_DEPTH)
    )
    stmt = select(Unit).join(chain, Unit.id == chain.c.unit_id).order_by(chain.c.depth)
    out: list[Unit] = []
    seen: set[int] = set()
    for unit in session.scalars(stmt):
        if unit.lineage_id in seen:
            break
        seen.add(unit.lineage_id)
        out.append(unit)
    return out


def units_from_pledge(
    session: Session, principal: Principal, pledge_id: int, data: PledgeUnits
) -> list[Unit]:
    """The explicit step by which a deployed pledge becomes units: one per unit pledged, under
    `parent`, valid from the transfer of authority, with the pledge's capability, strength,
    nation and (by default) marking."""
    require(principal, Permission.WRITE_ORBAT)
    pledge = get_visible(session, Pledge, pledge_id, principal.viewer)
    if pledge.deployed_on is None:
        raise Conflict(
            f"pledge {pledge.ref} is not deployed; record its deployment before it becomes units"
        )
    existing = session.scalar(select(func.count()).where(Unit.pledge_id == pledge.id))
    if existing:
        raise Conflict(f"pledge {pledge.ref} has already become units")
    if data.names and len(data.names) != pledge.units:
        raise InvalidInput.field("body.names", f"give {pledge.units} names, one per unit")
    toa = dt.datetime.combine(data.transfer_of_authority, dt.time(), dt.UTC)
    _parent(session, principal, data.parent, toa)
    label = pledge.capability.replace("_", " ")
    per_unit = pledge.strength // max(pledge.units, 1)
    created = []
    for i in range(pledge.units):
        name = data.names[i] if data.names else f"{pledge.state.name} {label} {i + 1}"
        unit = create_unit(
            session,
            principal,
            UnitCreate(
                name=name,
                short_name=_short_name(pledge, i + 1),
                nation=pledge.state_iso3,
                kind=UnitKind.UNIT,
                echelon=data.echelon,
                capability=Capability(pledge.capability),
                strength_authorized=per_unit,
                strength_assigned=per_unit,
                strength_present=per_unit,
                location=data.location,
                lon=data.lon,
                lat=data.lat,
                parent=data.parent,
                pledge_id=pledge.id,
                transfer_of_authority=data.transfer_of_authority,
                valid_from=toa,
                releasability=data.releasability or str(pledge.marking),
            ),
            owner_org_id=pledge.owner_org_id,
        )
        created.append(unit)
    return created


def _short_name(pledge: Pledge, number: int) -> str:
    """The pledge's reference and the unit's number, led by the nation's code unless the
    reference already starts with it (IDN-2026-01-1, not IDN-IDN-2026-01-1)."""
    ref = (
        pledge.ref
        if pledge.ref.startswith(pledge.state_iso3)
        else f"{pledge.state_iso3}-{pledge.ref}"
    )
    return f"{ref}-{number}"[:40]


@dataclass
class Node:
    """A unit in the tree with its visible subordinates."""

    unit: Unit
    children: list[Node] = field(default_factory=list)

    def totals(self) -> tuple[int, int, int]:
        """(authorized, assigned, present) summed over the subtree."""
        a, s, p = (
            self.unit.strength_authorized,
            self.unit.strength_assigned,
            self.unit.strength_present,
        )
        for child in self.children:
            ca, cs, cp = child.totals()
            a, s, p = a + ca, s + cs, p + cp
        return a, s, p


def build_tree(units: Iterable[Unit]) -> list[Node]:
    """The units as a forest: a unit whose parent is not among them (not visible, or none) is
    a root, so a caller never learns of a parent they may not see."""
    nodes = {u.lineage_id: Node(u) for u in units}
    roots: list[Node] = []
    for node in nodes.values():
        parent = nodes.get(node.unit.parent_lineage) if node.unit.parent_lineage else None
        (parent.children if parent is not None else roots).append(node)
    return roots


def shown_parents(session: Session, viewer: Viewer, units: list[Unit]) -> dict[int, int | None]:
    """Each unit's parent lineage as the viewer may see it: None where the parent is not
    released to them (a hidden headquarters is not named, not even by its number)."""
    wanted = {u.parent_lineage for u in units if u.parent_lineage is not None}
    seen: set[int] = set()
    if wanted:
        lineage = unit_lineage_col(Unit)
        seen = set(
            session.scalars(
                select(lineage).where(lineage.in_(wanted), visible_units_clause(viewer)).distinct()
            )
        )
    return {u.lineage_id: (u.parent_lineage if u.parent_lineage in seen else None) for u in units}


def visible_units_clause(viewer: Viewer) -> Any:
    from cmcc.access.policy import release_filter

    return release_filter(Unit, viewer)
