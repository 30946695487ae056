"""REST routes of the ORBAT: /api/v1/units, /api/v1/orbat, /api/v1/pledges/{id}/units."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime

from cmcc.api.deps import CurrentPrincipal, Cursor, Limit, LoggedIn, RecordId, SessionDep
from cmcc.command import areas, orbat
from cmcc.command.models import Unit
from cmcc.command.schemas import (
    OrbatNodePublic,
    PledgeUnits,
    UnitChange,
    UnitClose,
    UnitCreate,
    UnitPublic,
)
from cmcc.command.tree_json import orbat_json
from cmcc.core.clock import utcnow
from cmcc.core.errors import NotFound
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic

router = APIRouter(prefix="/api/v1", tags=["command"])
AsOf = Annotated[
    AwareDatetime | None, Query(description="The force as it stood then (default now)")
]


def unit_public(session: Any, principal: Any, units: list[Unit]) -> list[UnitPublic]:
    """Units as the caller sees them: a parent they may not see is not named."""
    parents = orbat.shown_parents(session, principal.viewer, units)
    return [
        UnitPublic.model_validate(u).model_copy(update={"parent": parents[u.lineage_id]})
        for u in units
    ]


@router.get("/orbat", response_model=list[OrbatNodePublic])
def get_orbat(session: SessionDep, principal: CurrentPrincipal, as_of: AsOf = None) -> Any:
    """The whole force as a tree as of a moment: each node with its strength totals over its
    subtree. A unit whose parent the caller may not see is a root."""
    body = orbat_json(session, principal.viewer, as_of)
    return Response(body, media_type="application/json")


@router.get("/units", response_model=ListPublic[UnitPublic])
def list_units(
    session: SessionDep,
    principal: CurrentPrincipal,
    as_of: AsOf = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = orbat.orbat_statement(principal.viewer, as_of)
    page = paginate(session, stmt, Unit.id, cursor, limit)
    data = unit_public(session, principal, list(page.items))
    return {"data": data, "count": page.count, "next_cursor": page.next_cursor}


@router.post("/units", response_model=UnitPublic, status_code=status.HTTP_201_CREATED)
def create_unit(body: UnitCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return unit_public(session, principal, [orbat.create_unit(session, principal, body)])[0]


@router.get("/units/{lineage}", response_model=UnitPublic)
def get_unit(
    lineage: RecordId, session: SessionDep, principal: CurrentPrincipal, as_of: AsOf = None
) -> Any:
    """The unit (by lineage) as of a moment; without `as_of`, its current or last version."""
    unit = orbat.get_unit(session, principal.viewer, lineage, as_of)
    return unit_public(session, principal, [unit])[0]


@router.get("/units/{lineage}/history", response_model=list[UnitPublic])
def unit_history(lineage: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    """Every version of the unit the caller may see, oldest first."""
    units = orbat.unit_history(session, principal.viewer, lineage)
    if not units:
        raise NotFound(f"unit {lineage} not found")
    return unit_public(session, principal, units)


@router.get("/units/{lineage}/area", response_model=list[int])
def unit_area(
    lineage: RecordId, session: SessionDep, principal: CurrentPrincipal, as_of: AsOf = None
) -> Any:
    """The lineages of the zones of the unit's area of responsibility at `as_of` (default now):
    its own, else its nearest headquarters' (only zones the caller may see)."""
    unit = orbat.get_unit(session, principal.viewer, lineage, as_of)
    moment = as_of or utcnow()
    zones = areas.area_of(session, unit.lineage_id, moment)
    return areas.visible_zone_lineages(session, principal.viewer, zones)


@router.post("/units/{lineage}/versions", response_model=UnitPublic, status_code=201)
def change_unit(
    lineage: RecordId, body: UnitChange, session: SessionDep, principal: LoggedIn
) -> Any:
    """A new version from `valid_from` (moved, re-subordinated, strength changed); the current
    version closes then and stays in the history."""
    unit = orbat.change_unit(session, principal, lineage, body)
    return unit_public(session, principal, [unit])[0]


@router.post("/units/{lineage}/close", response_model=UnitPublic)
def close_unit(lineage: RecordId, body: UnitClose, session: SessionDep, principal: LoggedIn) -> Any:
    unit = orbat.close_unit(session, principal, lineage, body)
    return unit_public(session, principal, [unit])[0]


@router.post("/pledges/{pledge_id}/units", response_model=list[UnitPublic], status_code=201)
def pledge_to_units(
    pledge_id: RecordId, body: PledgeUnits, session: SessionDep, principal: LoggedIn
) -> Any:
    """The explicit step by which a deployed pledge becomes units, from its transfer of
    authority."""
    units = orbat.units_from_pledge(session, principal, pledge_id, body)
    return unit_public(session, principal, units)
