"""The `zones` collection of the OGC API - Features endpoint (through the release policy).

`datetime` selects the zone versions valid during the instant or interval; without it, every
version is returned (the picture's history)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import Session

from cmcc.access.policy import get_visible
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import Interval
from cmcc.interop.ogcapi.extent import spatial_extent
from cmcc.interop.ogcapi.items import spatial_items
from cmcc.interop.ogcapi.provider import BBox, ItemPage, ItemQuery, record_id
from cmcc.zones.domain import ZoneKind
from cmcc.zones.models import Zone
from cmcc.zones.service import feature


class ZoneCollection:
    id = "zones"
    title = "Zones"
    description = (
        "Areas under IDF control, ISF sectors, civilian safe zones, cleared and hazard "
        "areas, crossings, notified humanitarian sites, restricted areas; each version "
        "with its validity interval."
    )

    def extent(self, session: Session, viewer: Viewer) -> tuple[BBox | None, Interval | None]:
        return spatial_extent(session, Zone, viewer, Zone.valid_from, Zone.valid_to, open_end=True)

    def query(self, session: Session, viewer: Viewer, q: ItemQuery) -> ItemPage:
        return spatial_items(session, viewer, Zone, q, _during, _feature)

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        return _feature(get_visible(session, Zone, record_id(feature_id), viewer))

    def queryables(self) -> dict[str, dict[str, Any]]:
        return {
            "kind": {"type": "string", "enum": [k.value for k in ZoneKind]},
            "name": {"type": "string"},
            "valid_from": {"type": "string", "format": "date-time"},
            "valid_to": {"type": "string", "format": "date-time"},
        }


def _during(start: dt.datetime | None, end: dt.datetime | None) -> list[ColumnElement[bool]]:
    """The versions valid at some moment of the interval."""
    conditions = []
    if end is not None:
        conditions.append(Zone.valid_from <= end)
    if start is not None:
        conditions.append(or_(Zone.valid_to.is_(None), Zone.valid_to > start))
    return conditions


def _feature(zone: Zone) -> dict[str, Any]:
    out = feature(zone)
    out["id"] = str(zone.id)
    return out
