"""Export of incidents as GeoJSON (RFC 7946), CSV, or HXL-tagged CSV, streamed.

The caller passes the statement that selects the incidents (always built on
`cmcc.access.policy.visible`, normally by `service.incident_statement`): the export shows only
what the release policy lets the reader see. Rows are fetched in chunks (`yield_per`) and
written as they come, so a large export never sits in memory as a whole.

The columns below are also the ones the importer reads (`importer.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import orjson
import shapely
from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.core.releasability import Marking
from cmcc.geo.geometry import to_geojson
from cmcc.incidents.domain import ACLED
from cmcc.incidents.models import Incident
from cmcc.interop.tabular import Column, csv_text

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
ACLED_BY_TYPE = {t.value: terms for t, terms in ACLED.items()}
# Spreadsheets run a cell that starts with one of these as a formula ("CSV injection"): in
# CSV and HXL such free-text cells get a leading apostrophe, which the importer takes off.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FREE_TEXT = ("external_ref", "attribution", "narrative", "finding", "source")


def spreadsheet_safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


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

_QUERY_COLUMNS = (
    Incident.id,
    Incident.external_ref,
    Incident.type,
    Incident.occurred_at,
    Incident.reported_at,
    Incident.severity,
    Incident.killed_civilian,
    Incident.killed_other,
    Incident.injured_civilian,
    Incident.injured_other,
    Incident.source_reliability,
    Incident.info_credibility,
    Incident.status,
    Incident.attribution,
    Incident.narrative,
    Incident.finding,
    Incident.source,
    Incident.releasability,
    Incident.release_to,
    Incident.owner_org_id,
    Incident.geom_wkb,
)


def rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class _Context:
    """What every row needs: owner codes and marking texts (looked up once)."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(select(Organization.id, Organization.code))
        self.owners: dict[int, str] = {row.id: row.code for row in rows}
        self._markings: dict[tuple[str, str | None], str] = {}

    def marking(self, kind: str, release_to: str | None) -> str:
        key = (kind, release_to)
        if key not in self._markings:
            self._markings[key] = str(Marking.from_stored(kind, release_to))
        return self._markings[key]


class _Chunk:
    """A chunk of rows with their geometry worked out at once (vectorized): a representative
    point (the point itself, or a point on the surface of an area) and, for anything that is
    not a point, its GeoJSON."""

    def __init__(self, rows: Sequence[Any]) -> None:
        self.rows = rows
        geoms = shapely.from_wkb([r.geom_wkb for r in rows])
        points = shapely.get_type_id(geoms) == 0
        reps = geoms.copy()
        if not points.all():
            reps[~points] = shapely.point_on_surface(geoms[~points])
        self.xs = shapely.get_x(reps).tolist()
        self.ys = shapely.get_y(reps).tolist()
        self.shapes: list[dict[str, Any] | None] = [None] * len(rows)
        for i in np.flatnonzero(~points).tolist():
            self.shapes[i] = to_geojson(geoms[i])

    def geometry(self, i: int) -> dict[str, Any]:
        shape = self.shapes[i]
        if shape is not None:
            return shape
        return {"type": "Point", "coordinates": [self.xs[i], self.ys[i]]}


def _properties(row: Row[Any], ctx: _Context) -> dict[str, Any]:
    acled = ACLED_BY_TYPE[row.type]
    return {
        "external_ref": row.external_ref,
        "type": row.type,
        "acled_event_type": acled[0],
        "acled_sub_event_type": acled[1],
        "occurred_at": rfc3339(row.occurred_at),
        "reported_at": rfc3339(row.reported_at),
        "severity": row.severity,
        "killed_civilian": row.killed_civilian,
        "killed_other": row.killed_other,
        "injured_civilian": row.injured_civilian,
        "injured_other": row.injured_other,
        "source_reliability": row.source_reliability,
        "info_credibility": row.info_credibility,
        "status": row.status,
        "attribution": row.attribution,
        "narrative": row.narrative,
        "finding": row.finding,
        "source": row.source,
        "releasability": ctx.marking(row.releasability, row.release_to),
        "owner": ctx.owners.get(row.owner_org_id, ""),
    }


def _geojson_chunk(chunk: _Chunk, ctx: _Context, first: bool) -> str:
    parts = []
    for i, row in enumerate(chunk.rows):
        feature = {
            "type": "Feature",
            "id": row.id,
            "geometry": chunk.geometry(i),
            "properties": _properties(row, ctx),
        }
        parts.append(orjson.dumps(feature).decode())
    return ("" if first else ",\n") + ",\n".join(parts)


def _csv_row(chunk: _Chunk, i: int, ctx: _Context) -> list[Any]:
    row = chunk.rows[i]
    shape = chunk.shapes[i]
    values = _properties(row, ctx)
    values.update(
        id=row.id,
        external_ref=row.external_ref or "",
        attribution=row.attribution or "",
        lat=chunk.ys[i],
        lon=chunk.xs[i],
        geometry=orjson.dumps(shape).decode() if shape is not None else "",
    )
    for name in FREE_TEXT:
        values[name] = spreadsheet_safe(values[name])
    return [values[c.field] for c in COLUMNS]


def _chunks(session: Session, stmt: Select[Any]) -> Iterator[_Chunk]:
    query = (
        stmt.with_only_columns(*_QUERY_COLUMNS)
        .order_by(None)
        .order_by(Incident.id)
        .execution_options(yield_per=CHUNK_ROWS)
    )
    for rows in session.execute(query).partitions():
        yield _Chunk(rows)


def export_text(session: Session, stmt: Select[Any], fmt: Format) -> Iterator[str]:
    """The export as pieces of text, one chunk of rows at a time."""
    ctx = _Context(session)
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
