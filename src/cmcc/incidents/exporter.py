"""Export of incidents as GeoJSON (RFC 7946), CSV, or HXL-tagged CSV, streamed.

The caller passes the statement that selects the incidents (always built on
`cmcc.access.policy.visible`, normally by `service.incident_statement`): the export shows only
what the release policy lets the reader see. Rows are fetched in chunks (`yield_per`) and
written as they come, so a large export never sits in memory as a whole.

The columns below are also the ones the importer reads (`importer.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import orjson
from sqlalchemy import Select
from sqlalchemy.orm import Session

from cmcc.incidents.models import Incident
from cmcc.incidents.readout import COLUMNS as QUERY_COLUMNS
from cmcc.incidents.readout import JSON_OPTIONS, Chunk, Context, properties, rfc3339
from cmcc.interop.tabular import Column, csv_text, spreadsheet_safe

Format = Literal["geojson", "csv", "hxl"]
FORMATS: tuple[Format, ...] = ("geojson", "csv", "hxl")
MEDIA_TYPES: dict[str, str] = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "hxl": "text/csv; charset=utf-8",
}
FILE_NAMES: dict[str, str] = {
    "geojson": "incidents.geojson",
    "csv": "incidents.csv",
    "hxl": "incidents.hxl.csv",
}
CHUNK_ROWS = 2000
FREE_TEXT = ("external_ref", "attribution", "narrative", "finding", "source")  # spreadsheet-safe

# Plain header, HXL 1.1 hashtag, and other names accepted on import.
COLUMNS: tuple[Column, ...] = (
    Column("id", "id", "#meta+id"),
    Column("external_ref", "external_ref", "#meta+ref", ("ref", "#event+id")),
    Column("type", "type", "#event+type"),
    Column("acled_event_type", "acled_event_type", "#event+type+acled"),
    Column("acled_sub_event_type", "acled_sub_event_type", "#event+subtype+acled"),
    Column("occurred_at", "occurred_at", "#date+occurred", ("#date",)),
    Column("reported_at", "reported_at", "#date+reported"),
    Column("lat", "lat", "#geo+lat", ("latitude",)),
    Column("lon", "lon", "#geo+lon", ("longitude", "lng")),
    Column("geometry", "geometry", "#geo+bounds"),
    Column("severity", "severity", "#severity"),
    Column("killed_civilian", "killed_civilian", "#affected+killed+civilian"),
    Column("killed_other", "killed_other", "#affected+killed+other"),
    Column("injured_civilian", "injured_civilian", "#affected+injured+civilian"),
    Column("injured_other", "injured_other", "#affected+injured+other"),
    Column("source_reliability", "source_reliability", "#meta+reliability"),
    Column("info_credibility", "info_credibility", "#meta+credibility"),
    Column("status", "status", "#status"),
    Column("attribution", "attribution", "#org+attributed"),
    Column("narrative", "narrative", "#description"),
    Column("finding", "finding", "#description+finding"),
    Column("source", "source", "#meta+source"),
    Column("releasability", "releasability", "#meta+releasability"),
    Column("owner", "owner", "#org+owner"),
)


def _geojson_chunk(chunk: Chunk, ctx: Context, first: bool) -> str:
    parts = []
    for i, row in enumerate(chunk.rows):
        feature = {
            "type": "Feature",
            "id": row.id,
            "geometry": chunk.geometry(i),
            "properties": properties(row, ctx),
        }
        parts.append(orjson.dumps(feature, option=JSON_OPTIONS).decode())
    return ("" if first else ",\n") + ",\n".join(parts)


def _csv_row(chunk: Chunk, i: int, ctx: Context) -> list[Any]:
    row = chunk.rows[i]
    shape = chunk.shapes[i]
    values = properties(row, ctx)
    values.update(
        id=row.id,
        external_ref=row.external_ref or "",
        attribution=row.attribution or "",
        occurred_at=rfc3339(row.occurred_at),
        reported_at=rfc3339(row.reported_at),
        lat=chunk.ys[i],
        lon=chunk.xs[i],
        geometry=orjson.dumps(shape).decode() if shape is not None else "",
    )
    for name in FREE_TEXT:
        values[name] = spreadsheet_safe(values[name])
    return [values[c.field] for c in COLUMNS]


def _chunks(session: Session, stmt: Select[Any]) -> Iterator[Chunk]:
    query = (
        stmt.with_only_columns(*QUERY_COLUMNS)
        .order_by(None)
        .order_by(Incident.id)
        .execution_options(yield_per=CHUNK_ROWS)
    )
    for rows in session.execute(query).partitions():
        yield Chunk(rows)


def export_text(session: Session, stmt: Select[Any], fmt: Format) -> Iterator[str]:
    """The export as pieces of text, one chunk of rows at a time."""
    ctx = Context(session)
    if fmt == "geojson":
        yield '{"type":"FeatureCollection","features":[\n'
        first = True
        for chunk in _chunks(session, stmt):
            yield _geojson_chunk(chunk, ctx, first)
            first = False
        yield "\n]}\n"
        return
    heads: list[list[str]] = [[c.header for c in COLUMNS]]
    if fmt == "hxl":
        heads.append([c.hashtag for c in COLUMNS])
    yield csv_text(heads)
    for chunk in _chunks(session, stmt):
        yield csv_text(_csv_row(chunk, i, ctx) for i in range(len(chunk.rows)))


def export_bytes(session: Session, stmt: Select[Any], fmt: Format) -> Iterator[bytes]:
    """The export as UTF-8 bytes, for files and HTTP responses."""
    for text in export_text(session, stmt, fmt):
        yield text.encode()
