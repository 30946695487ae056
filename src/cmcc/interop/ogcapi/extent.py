"""The extent of a collection of `Spatial` records, as its provider's `extent` returns it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmcc.access.policy import release_filter
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import Interval, as_aware
from cmcc.interop.ogcapi.provider import BBox


def spatial_extent(
    session: Session,
    model: Any,
    viewer: Viewer,
    start: Any,
    end: Any,
    *,
    open_end: bool = False,
    moment: Callable[[Any], dt.datetime | None] = as_aware,
    where: Sequence[Any] = (),
) -> tuple[BBox | None, Interval | None]:
    """The bounding box and time span of the records `viewer` may see (of those that meet the
    conditions `where`, when the collection is a part of the table). `start` and `end` are
    the columns (or expressions) of each record's time; with `open_end`, a record whose end is
    null is still going on, and so is the span."""
    columns: list[Any] = [
        func.min(model.min_x),
        func.min(model.min_y),
        func.max(model.max_x),
        func.max(model.max_y),
        func.min(start),
        func.max(end),
    ]
    if open_end:
        columns.append(func.count(end) < func.count())
    row = session.execute(select(*columns).where(release_filter(model, viewer), *where)).one()
    if row[0] is None:
        return None, None
    first = moment(row[4])
    last = None if open_end and row[6] else moment(row[5])
    span = None if first is None and last is None else (first, last)
    return (row[0], row[1], row[2], row[3]), span
