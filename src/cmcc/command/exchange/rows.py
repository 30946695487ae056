"""The ORBAT as rows: one per unit valid at a moment and visible to the reader, with the
fields every exchange format carries."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from cmcc.access.policy import visible
from cmcc.command.models import Unit
from cmcc.command.orbat import units_as_of
from cmcc.core.clock import utcnow
from cmcc.core.errors import InvalidInput
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import parse_instant
from cmcc.forces.models import Pledge

COLUMNS: tuple[str, ...] = (
    "lineage",
    "parent",
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
    "pledge",
    "transfer_of_authority",
    "marking",
)


@dataclass(frozen=True)
class UnitRow:
    lineage: int
    parent: int | None  # shown only when the parent is in the same export
    name: str
    short_name: str
    nation: str
    kind: str
    echelon: str
    sidc: str
    capability: str | None
    strength_authorized: int
    strength_assigned: int
    strength_present: int
    location: str
    lon: float | None
    lat: float | None
    pledge: str | None  # the pledge's ref, when the reader may see the pledge
    transfer_of_authority: dt.date | None
    marking: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def as_of_moment(text: str | None, *, field: str = "as_of") -> dt.datetime:
    """The moment of `--as-of` / `?as_of=`: an RFC 3339 instant, or a date (the ORBAT as it
    stood at the end of that day, UTC); now when not given."""
    if text is None or not text.strip():
        return utcnow()
    value = text.strip()
    if len(value) == 10:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise InvalidInput.field(field, f"{value!r} is not a date (YYYY-MM-DD)") from None
        return dt.datetime.combine(day, dt.time.max, dt.UTC)
    return parse_instant(value, field=field)


def unit_rows(session: Session, viewer: Viewer, as_of: dt.datetime | None = None) -> list[UnitRow]:
    """The units valid at `as_of` that `viewer` may see, parents before their subordinates.
    A parent outside the export (not released to the viewer) is left out, not named; so is a
    pledge the viewer may not see."""
    units = units_as_of(session, viewer, as_of)
    lineages = {u.lineage_id for u in units}
    pledge_ids = {u.pledge_id for u in units if u.pledge_id is not None}
    refs: dict[int, str] = {}
    if pledge_ids:
        stmt = visible(Pledge, viewer, Pledge.id.in_(pledge_ids))
        refs = {p.id: p.ref for p in session.scalars(stmt)}
    return [_row(u, lineages, refs) for u in parents_first(units)]


def parents_first(units: list[Unit]) -> list[Unit]:
    """Depth-first from the roots, siblings in lineage order (a unit whose parent is not among
    them is a root)."""
    by_lineage = {u.lineage_id: u for u in units}
    children: dict[int | None, list[Unit]] = {}
    for u in units:
        parent = u.parent_lineage if u.parent_lineage in by_lineage else None
        children.setdefault(parent, []).append(u)
    out: list[Unit] = []
    todo = sorted(children.get(None, []), key=lambda u: u.lineage_id, reverse=True)
    while todo:
        unit = todo.pop()
        out.append(unit)
        below = children.get(unit.lineage_id, [])
        todo.extend(sorted(below, key=lambda u: u.lineage_id, reverse=True))
    return out


def _row(u: Unit, lineages: set[int], refs: dict[int, str]) -> UnitRow:
    return UnitRow(
        lineage=u.lineage_id,
        parent=u.parent_lineage if u.parent_lineage in lineages else None,
        name=u.name,
        short_name=u.short_name,
        nation=u.nation,
        kind=u.kind,
        echelon=u.echelon,
        sidc=u.sidc,
        capability=u.capability,
        strength_authorized=u.strength_authorized,
        strength_assigned=u.strength_assigned,
        strength_present=u.strength_present,
        location=u.location,
        lon=u.lon,
        lat=u.lat,
        pledge=refs.get(u.pledge_id) if u.pledge_id is not None else None,
        transfer_of_authority=u.transfer_of_authority,
        marking=u.marking_text,
    )
