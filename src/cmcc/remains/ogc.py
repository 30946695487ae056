"""The `search-tasks` collection of the OGC API - Features endpoint (through the release policy).

Search tasks only: recoveries, and the personal data of the missing, are not published to GIS
clients. `datetime` selects the tasks created during the instant or interval."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from cmcc.access.policy import get_visible
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import Interval
from cmcc.interop.ogcapi.extent import spatial_extent
from cmcc.interop.ogcapi.items import spatial_items
from cmcc.interop.ogcapi.provider import BBox, ItemPage, ItemQuery, record_id
from cmcc.remains.domain import TaskStatus
from cmcc.remains.models import SearchTask


def task_feature(t: SearchTask) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": str(t.id),
        "geometry": t.geojson,
        "properties": {
            "sector": t.sector,
            "grid": t.grid,
            "marker": t.marker,
            "team": t.team,
            "status": t.status,
            "status_changed_at": t.status_changed_at.isoformat() if t.status_changed_at else None,
            "eod_escort": t.eod_escort,
            "escort_confirmed_at": (
                t.escort_confirmed_at.isoformat() if t.escort_confirmed_at else None
            ),
            "description": t.description,
            "created_at": t.created_at.isoformat(),
            "releasability": t.marking_text,
            "owner": t.owner_code,
        },
    }


class SearchTaskCollection:
    id = "search-tasks"
    title = "Search tasks"
    description = (
        "Search for remains: places and grid sectors to search, with their status, team, "
        "marking and EOD escort."
    )

    def extent(self, session: Session, viewer: Viewer) -> tuple[BBox | None, Interval | None]:
        t = SearchTask
        return spatial_extent(session, t, viewer, t.created_at, t.created_at)

    def query(self, session: Session, viewer: Viewer, q: ItemQuery) -> ItemPage:
        return spatial_items(session, viewer, SearchTask, q, _during, task_feature)

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        return task_feature(get_visible(session, SearchTask, record_id(feature_id), viewer))

    def queryables(self) -> dict[str, dict[str, Any]]:
        return {
            "sector": {"type": "string"},
            "grid": {"type": "string"},
            "status": {"type": "string", "enum": [s.value for s in TaskStatus]},
            "team": {"type": "string"},
            "marker": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        }


def _during(start: dt.datetime | None, end: dt.datetime | None) -> list[ColumnElement[bool]]:
    """The tasks created during the interval."""
    conditions = []
    if start is not None:
        conditions.append(SearchTask.created_at >= start)
    if end is not None:
        conditions.append(SearchTask.created_at <= end)
    return conditions
