"""One page of a collection of `Spatial` records, as its provider's `query` returns it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from cmcc.access.policy import visible
from cmcc.core.pagination import count_matches
from cmcc.core.releasability import Viewer
from cmcc.geo.backend import backend_for
from cmcc.interop.ogcapi.provider import ItemPage, ItemQuery

During = Callable[[dt.datetime | None, dt.datetime | None], list[ColumnElement[bool]]]
"""The conditions for a record's time to meet the interval (start, end); None = open end."""


def spatial_items(
    session: Session,
    viewer: Viewer,
    model: Any,
    q: ItemQuery,
    during: During,
    feature: Callable[[Any], dict[str, Any]],
) -> ItemPage:
    """The records `viewer` may see whose shape intersects `q.bbox` (the index first, then the
    exact test: a box that meets only a polygon's bounding box does not select it) and whose
    time meets `q.interval`, by id, one page, with the count of all that match."""
    stmt = visible(model, viewer)
    if q.interval is not None:
        stmt = stmt.where(*during(*q.interval))
    if q.bbox is not None:
        spatial = backend_for(session.get_bind())
        stmt = stmt.where(spatial.shape_bbox_filter(session, model, q.bbox, stmt))
    matched = count_matches(session, stmt)
    rows = session.scalars(stmt.order_by(model.id).offset(q.offset).limit(q.limit))
    return ItemPage([feature(r) for r in rows], int(matched))
