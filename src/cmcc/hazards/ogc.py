"""The `hazards` collection of the OGC API - Features endpoint (hazard areas, through the
release policy). A hazard area's time span runs from its recording to its handover (open-ended
while not handed over); `datetime` selects the areas whose span meets the instant or interval."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import Session

from cmcc.access.policy import get_visible
from cmcc.core.errors import InvalidInput, NotFound
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import Interval
from cmcc.hazards.domain import Classification, DeviceCategory, HazardStatus, RefType, parse_id
from cmcc.hazards.models import HazardArea
from cmcc.hazards.service import feature
from cmcc.interop.ogcapi.extent import spatial_extent
from cmcc.interop.ogcapi.items import spatial_items
from cmcc.interop.ogcapi.provider import BBox, ItemPage, ItemQuery


class HazardCollection:
    id = "hazards"
    title = "Explosive ordnance hazard areas"
    description = (
        "Suspected (SHA) and confirmed (CHA) hazardous areas, open, closed or handed over "
        "after land release, with their device category and area in square metres."
    )

    def extent(self, session: Session, viewer: Viewer) -> tuple[BBox | None, Interval | None]:
        h = HazardArea
        return spatial_extent(session, h, viewer, h.created_at, h.handed_over_at, open_end=True)

    def query(self, session: Session, viewer: Viewer, q: ItemQuery) -> ItemPage:
        return spatial_items(session, viewer, HazardArea, q, _during, feature)

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        try:
            hazard_id = parse_id(feature_id, RefType.HAZARD, "path.featureId")
        except InvalidInput:
            raise NotFound(f"feature {feature_id!r} not found") from None
        return feature(get_visible(session, HazardArea, hazard_id, viewer))

    def queryables(self) -> dict[str, dict[str, Any]]:
        return {
            "ref": {"type": "string"},
            "name": {"type": "string"},
            "classification": {"type": "string", "enum": [c.value for c in Classification]},
            "status": {"type": "string", "enum": [s.value for s in HazardStatus]},
            "device_category": {"type": "string", "enum": [d.value for d in DeviceCategory]},
            "device_type": {"type": "string"},
            "area_m2": {"type": "integer"},
            "handed_over_at": {"type": "string", "format": "date-time"},
        }


def _during(start: dt.datetime | None, end: dt.datetime | None) -> list[ColumnElement[bool]]:
    """The areas recorded before the interval ends and not handed over before it starts."""
    conditions = []
    if end is not None:
        conditions.append(HazardArea.created_at <= end)
    if start is not None:
        conditions.append(
            or_(HazardArea.handed_over_at.is_(None), HazardArea.handed_over_at > start)
        )
    return conditions
