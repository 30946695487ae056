"""The `units` collection of the OGC API - Features endpoint: the ORBAT's units that have a
location, as points, through the release policy.

Without `datetime` the units as they stand now; with it, as they stood at the instant (or at
the end of the interval). Feature ids are the units' lineages, stable across their versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cmcc.command.domain import Echelon
from cmcc.command.models import Unit, unit_lineage_col
from cmcc.command.orbat import orbat_statement
from cmcc.core.clock import utcnow
from cmcc.core.errors import NotFound
from cmcc.core.pagination import count_matches
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import Interval
from cmcc.interop.ogcapi.provider import BBox, ItemPage, ItemQuery, record_id


class UnitCollection:
    id = "units"
    title = "Units (ORBAT)"
    description = (
        "The force's units with their base or current location: name, nation, echelon, "
        "symbol code (SIDC, MIL-STD-2525C) and strength (authorized, assigned, present)."
    )

    def extent(self, session: Session, viewer: Viewer) -> tuple[BBox | None, Interval | None]:
        sub = _located(viewer, utcnow()).subquery()
        row = session.execute(
            select(
                func.min(sub.c.lon), func.min(sub.c.lat), func.max(sub.c.lon), func.max(sub.c.lat)
            )
        ).one()
        if row[0] is None:
            return None, None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3])), None

    def query(self, session: Session, viewer: Viewer, q: ItemQuery) -> ItemPage:
        moment = (q.interval[1] or q.interval[0]) if q.interval else None
        stmt = _located(viewer, moment or utcnow())
        if q.bbox is not None:
            minx, miny, maxx, maxy = q.bbox
            stmt = stmt.where(Unit.lon.between(minx, maxx), Unit.lat.between(miny, maxy))
        matched = count_matches(session, stmt)
        rows = session.scalars(stmt.offset(q.offset).limit(q.limit))
        return ItemPage([feature(u) for u in rows], int(matched))

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        lineage = record_id(feature_id)
        stmt = _located(viewer, utcnow()).where(unit_lineage_col(Unit) == lineage)
        unit = session.scalars(stmt).first()
        if unit is None:
            raise NotFound(f"feature {feature_id!r} not found")
        return feature(unit)

    def queryables(self) -> dict[str, dict[str, Any]]:
        return {
            "name": {"type": "string"},
            "short_name": {"type": "string"},
            "nation": {"type": "string", "description": "ISO 3166 alpha-3"},
            "echelon": {"type": "string", "enum": [e.value for e in Echelon]},
            "sidc": {"type": "string", "description": "MIL-STD-2525C symbol code"},
            "strength_authorized": {"type": "integer"},
            "strength_assigned": {"type": "integer"},
            "strength_present": {"type": "integer"},
        }


def _located(viewer: Viewer, moment: dt.datetime) -> Select[Unit]:
    return orbat_statement(viewer, moment).where(Unit.lon.is_not(None), Unit.lat.is_not(None))


def feature(unit: Unit) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": str(unit.lineage_id),
        "geometry": {"type": "Point", "coordinates": [unit.lon, unit.lat]},
        "properties": {
            "lineage": unit.lineage_id,
            "name": unit.name,
            "short_name": unit.short_name,
            "nation": unit.nation,
            "kind": unit.kind,
            "echelon": unit.echelon,
            "sidc": unit.sidc,
            "strength_authorized": unit.strength_authorized,
            "strength_assigned": unit.strength_assigned,
            "strength_present": unit.strength_present,
            "valid_from": unit.valid_from.isoformat(),
            "releasability": unit.marking_text,
        },
    }
