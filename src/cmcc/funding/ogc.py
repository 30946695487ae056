"""The `projects` collection of the OGC API - Features endpoint (reconstruction projects,
through the release policy). A project's time span runs from its actual (else planned) start to
its actual (else planned) end; `datetime` selects the projects whose span meets it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.orm import Session

from cmcc.access.policy import get_visible
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import Interval
from cmcc.funding.domain import ProjectStatus
from cmcc.funding.models import Project
from cmcc.funding.projects import feature
from cmcc.interop.ogcapi.extent import spatial_extent
from cmcc.interop.ogcapi.items import spatial_items
from cmcc.interop.ogcapi.provider import BBox, ItemPage, ItemQuery, record_id

START = func.coalesce(Project.actual_start, Project.planned_start)
END = func.coalesce(Project.actual_end, Project.planned_end)


def _moment(value: dt.date | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)


class ProjectCollection:
    id = "projects"
    title = "Reconstruction projects"
    description = (
        "Projects of the reconstruction plan, a point or an area each, with their programme's "
        "DAC sector, implementing organization, status, budget in USD and dates."
    )

    def extent(self, session: Session, viewer: Viewer) -> tuple[BBox | None, Interval | None]:
        return spatial_extent(session, Project, viewer, START, END, open_end=True, moment=_moment)

    def query(self, session: Session, viewer: Viewer, q: ItemQuery) -> ItemPage:
        return spatial_items(session, viewer, Project, q, _during, feature)

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        return feature(get_visible(session, Project, record_id(feature_id), viewer))

    def queryables(self) -> dict[str, dict[str, Any]]:
        return {
            "title": {"type": "string"},
            "status": {"type": "string", "enum": [s.value for s in ProjectStatus]},
            "dac_code": {"type": "string"},
            "implementing_org": {"type": "string"},
            "budget_usd": {"type": "string"},
            "iati_identifier": {"type": "string"},
            "adm1": {"type": "string"},
        }


def _during(start: dt.datetime | None, end: dt.datetime | None) -> list[ColumnElement[bool]]:
    """The projects whose span (an open end where a date is unknown) meets the interval."""
    conditions = []
    if end is not None:
        conditions.append(or_(START.is_(None), end.date() >= START))
    if start is not None:
        conditions.append(or_(END.is_(None), start.date() <= END))
    return conditions
