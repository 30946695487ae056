"""TAK devices and their ORBAT units: which unit a device belongs to, and the unit's symbol
(SIDC, and its CoT type) with which the device's positions are shown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.policy import release_filter
from cmcc.command.models import Unit, unit_lineage_col
from cmcc.command.orbat import valid_at
from cmcc.command.sidc import cot_type
from cmcc.core.clock import utcnow
from cmcc.core.releasability import MarkingKind, Viewer
from cmcc.cot.devices import CotDevice


class UnitSymbol(NamedTuple):
    unit_id: int  # the version's id
    lineage: int
    name: str
    short_name: str
    sidc: str
    cot_type: str | None
    releasability: str


def device_units(session: Session, uids: Collection[str]) -> dict[str, int]:
    """The unit (lineage) of each of these devices that is linked to one."""
    if not uids:
        return {}
    stmt = select(CotDevice.uid, CotDevice.unit_lineage).where(
        CotDevice.uid.in_(set(uids)), CotDevice.unit_lineage.is_not(None)
    )
    return {uid: lineage for uid, lineage in session.execute(stmt) if lineage is not None}


def unit_symbols(
    session: Session,
    lineages: Collection[int],
    viewer: Viewer,
    at: dt.datetime | None = None,
) -> dict[int, UnitSymbol]:
    """The symbol of each unit (its version valid at `at`, default now) that `viewer` may see;
    a unit the viewer may not see is left out, so its symbol never shows on a track."""
    if not lineages:
        return {}
    lineage = unit_lineage_col(Unit)
    stmt = select(
        Unit.id, lineage, Unit.name, Unit.short_name, Unit.sidc, Unit.releasability
    ).where(
        lineage.in_(set(lineages)), valid_at(Unit, at or utcnow()), release_filter(Unit, viewer)
    )
    return {
        int(row[1]): UnitSymbol(
            row[0], int(row[1]), row[2], row[3], row[4], cot_type(row[4]), row[5]
        )
        for row in session.execute(stmt)
    }


def relayed_type(symbol: UnitSymbol | None, *, relay_open: bool) -> str | None:
    """The CoT type to relay a linked device's positions with: the unit's, when every receiver
    may see the unit (public; or released to the mission while only member devices receive);
    None to relay the position as the device sent it."""
    if symbol is None or symbol.cot_type is None:
        return None
    if symbol.releasability == MarkingKind.PUBLIC.value:
        return symbol.cot_type
    if symbol.releasability == MarkingKind.MISSION.value and not relay_open:
        return symbol.cot_type
    return None
