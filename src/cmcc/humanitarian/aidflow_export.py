"""HXL-tagged CSV of the aid flow, as one caller may see it: the daily figures (one row per
crossing, day and cargo category, in the columns the import reads back) and the crossings
with their status history (one row per status change, with the moment it ended).

Free text (names, notes, sources) goes through `spreadsheet_safe`: a cell that a spreadsheet
would run as a formula gets a leading apostrophe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.policy import release_filter
from cmcc.core.releasability import Viewer
from cmcc.humanitarian.crossings import crossing_statement, history_until, status_statement
from cmcc.humanitarian.domain import CargoCategory
from cmcc.humanitarian.models import AidFlowEntry, Crossing, CrossingStatusChange
from cmcc.interop.tabular import Column, csv_text, spreadsheet_safe

Format = Literal["hxl-entries", "hxl-crossings"]
FORMATS: tuple[Format, ...] = ("hxl-entries", "hxl-crossings")
MEDIA_TYPE = "text/csv; charset=utf-8"
FILE_NAMES: dict[str, str] = {
    "hxl-entries": "aid-flow.hxl.csv",
    "hxl-crossings": "crossings.hxl.csv",
}
CHUNK = 2000

ENTRY_COLUMNS: tuple[Column, ...] = (
    Column("crossing", "crossing", "#loc+crossing"),
    Column("crossing_name", "crossing name", "#loc+name"),
    Column("day", "day", "#date"),
    Column("category", "category", "#item+category"),
    Column("trucks", "trucks", "#indicator+trucks"),
    Column("source", "source", "#meta+source"),
    Column("illustrative", "illustrative", "#meta+illustrative"),
)

CROSSING_COLUMNS: tuple[Column, ...] = (
    Column("crossing", "crossing", "#loc+crossing"),
    Column("name", "name", "#loc+name"),
    Column("lat", "latitude", "#geo+lat"),
    Column("lon", "longitude", "#geo+lon"),
    Column("location_approx", "location approximate", "#geo+approx"),
    Column("status", "status", "#status"),
    Column("hours", "hours", "#status+hours"),
    Column("since", "since", "#date+start"),
    Column("until", "until", "#date+end"),
    Column("since_approx", "date approximate", "#date+approx"),
    Column("note", "note", "#description"),
    Column("source", "source", "#meta+source"),
)


def _head(columns: tuple[Column, ...]) -> str:
    return csv_text([[c.header for c in columns], [c.hashtag for c in columns]])


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _moment(value: dt.datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else ""


def entries_hxl(
    session: Session,
    viewer: Viewer,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    crossing_id: int | None = None,
    cargo_category: CargoCategory | None = None,
) -> Iterator[str]:
    """The figures the viewer may see, by day, crossing and category. A figure of a crossing
    the viewer may not see is left out (it could not be read back)."""
    yield _head(ENTRY_COLUMNS)
    stmt = (
        select(
            Crossing.code,
            Crossing.name,
            AidFlowEntry.day,
            AidFlowEntry.cargo_category,
            AidFlowEntry.trucks,
            AidFlowEntry.source,
            AidFlowEntry.illustrative,
        )
        .join(Crossing, Crossing.id == AidFlowEntry.crossing_id)
        .where(release_filter(AidFlowEntry, viewer), release_filter(Crossing, viewer))
    )
    if start is not None:
        stmt = stmt.where(AidFlowEntry.day >= start)
    if end is not None:
        stmt = stmt.where(AidFlowEntry.day <= end)
    if crossing_id is not None:
        stmt = stmt.where(AidFlowEntry.crossing_id == crossing_id)
    if cargo_category is not None:
        stmt = stmt.where(AidFlowEntry.cargo_category == cargo_category.value)
    stmt = stmt.order_by(AidFlowEntry.day, Crossing.code, AidFlowEntry.cargo_category)
    result = session.execute(stmt.execution_options(yield_per=CHUNK))
    for rows in result.partitions():
        yield csv_text(
            [
                code,
                spreadsheet_safe(name),
                day.isoformat(),
                category,
                trucks,
                spreadsheet_safe(source),
                _yes(illustrative),
            ]
            for code, name, day, category, trucks, source, illustrative in rows
        )


def crossings_hxl(session: Session, viewer: Viewer) -> Iterator[str]:
    """Each crossing the viewer may see with its status history as the viewer sees it: one
    row per status change (until: the next change; blank for the one in force), one row
    without a status for a crossing of no visible change."""
    yield _head(CROSSING_COLUMNS)
    crossings = list(session.scalars(crossing_statement(viewer).order_by(Crossing.code)))
    stmt = status_statement(viewer).order_by(
        CrossingStatusChange.crossing_id, CrossingStatusChange.since
    )
    changes = list(session.scalars(stmt))
    untils = history_until(changes)
    by_crossing: dict[int, list[tuple[CrossingStatusChange, dt.datetime | None]]] = {}
    for change, until in zip(changes, untils, strict=True):
        by_crossing.setdefault(change.crossing_id, []).append((change, until))
    rows = []
    for crossing in crossings:
        place = [
            crossing.code,
            spreadsheet_safe(crossing.name),
            f"{crossing.lat:.6f}",
            f"{crossing.lon:.6f}",
            _yes(crossing.approx),
        ]
        history = by_crossing.get(crossing.id, [])
        if not history:
            rows.append([*place, "", "", "", "", "", "", spreadsheet_safe(crossing.source)])
        for change, until in history:
            rows.append(
                [
                    *place,
                    change.status,
                    spreadsheet_safe(change.hours),
                    _moment(change.since),
                    _moment(until),
                    _yes(change.approx),
                    spreadsheet_safe(change.note),
                    spreadsheet_safe(change.source),
                ]
            )
    yield csv_text(rows)
