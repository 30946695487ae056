"""The `incidents` collection of the OGC API - Features endpoint (through the release policy)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cmcc.access.policy import visible
from cmcc.core.errors import NotFound
from cmcc.core.pagination import count_matches
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import Interval
from cmcc.geo.backend import backend_for
from cmcc.incidents import readout
from cmcc.incidents.domain import IncidentType, VerificationStatus
from cmcc.incidents.models import Incident
from cmcc.interop.ogcapi.extent import spatial_extent
from cmcc.interop.ogcapi.provider import BBox, ItemPage, ItemQuery, record_id


class IncidentCollection:
    id = "incidents"
    title = "Incidents"
    description = "Incidents of the operational picture with their verification status."
    returnables = frozenset(readout.SELECTABLE)

    def extent(self, session: Session, viewer: Viewer) -> tuple[BBox | None, Interval | None]:
        i = Incident
        return spatial_extent(session, i, viewer, i.occurred_at, i.occurred_at)

    def query(self, session: Session, viewer: Viewer, q: ItemQuery) -> ItemPage:
        stmt = visible(Incident, viewer)
        start, end = q.interval or (None, None)
        if q.bbox is not None:
            stmt = stmt.where(
                backend_for(session.get_bind()).bbox_time_filter(
                    Incident, q.bbox, Incident.occurred_at, start, end, viewer
                )
            )
        else:
            if start is not None:
                stmt = stmt.where(Incident.occurred_at >= start)
            if end is not None:
                stmt = stmt.where(Incident.occurred_at <= end)
        selection = q.properties
        columns = readout.COLUMNS if selection is None else readout.selected_columns(selection)
        page = stmt.with_only_columns(*columns).order_by(Incident.id)
        rows = session.execute(page.offset(q.offset).limit(q.limit)).all()
        if q.offset == 0 and len(rows) < q.limit:  # the first page holds every match
            matched = len(rows)
        else:
            matched = count_matches(session, stmt)
        return ItemPage(readout.features(session, rows, q.properties), matched)

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        stmt = visible(Incident, viewer).where(Incident.id == record_id(feature_id))
        rows = session.execute(stmt.with_only_columns(*readout.COLUMNS)).all()
        if not rows:
            raise NotFound(f"feature {feature_id!r} not found")
        return readout.features(session, rows)[0]

    def queryables(self) -> dict[str, dict[str, Any]]:
        return {
            "type": {"type": "string", "enum": [t.value for t in IncidentType]},
            "status": {"type": "string", "enum": [s.value for s in VerificationStatus]},
            "severity": {"type": "integer", "minimum": 1, "maximum": 5},
            "occurred_at": {"type": "string", "format": "date-time"},
        }
