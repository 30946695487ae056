"""The `zones` collection of the OGC API - Features endpoint (through the release policy).

`datetime` selects the zone versions valid during the instant or interval; without it, every
version is returned (the picture's history)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cmcc.access.policy import get_visible, visible
from cmcc.core.errors import NotFound
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import Interval
from cmcc.geo.backend import backend_for
from cmcc.interop.ogcapi.extent import spatial_extent
from cmcc.interop.ogcapi.provider import BBox, ItemPage, ItemQuery
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
        stmt = visible(Zone, viewer)
        if q.bbox is not None:
            stmt = stmt.where(backend_for(session.get_bind()).bbox_filter(Zone, q.bbox))
        if q.interval is not None:
            start, end = q.interval
            if end is not None:
                stmt = stmt.where(Zone.valid_from <= end)
            if start is not None:
                stmt = stmt.where(or_(Zone.valid_to.is_(None), Zone.valid_to > start))
        matched = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(stmt.order_by(Zone.id).offset(q.offset).limit(q.limit))
        return ItemPage([_feature(z) for z in rows], int(matched))

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        if not feature_id.isdigit():
            raise NotFound(f"feature {feature_id!r} not found")
        return _feature(get_visible(session, Zone, int(feature_id), viewer))

    def queryables(self) -> dict[str, dict[str, Any]]:
        return {
            "kind": {"type": "string", "enum": [k.value for k in ZoneKind]},
            "name": {"type": "string"},
            "valid_from": {"type": "string", "format": "date-time"},
            "valid_to": {"type": "string", "format": "date-time"},
        }


def _feature(zone: Zone) -> dict[str, Any]:
    out = feature(zone)
    out["id"] = str(zone.id)
    return out
