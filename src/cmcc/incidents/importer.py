"""Bulk import of incidents from GeoJSON, CSV or HXL-tagged CSV files.

Guarantees (docs/modules/incident-exchange.md):
- every row is checked by the rules of the API (taxonomy, RFC 3339 times with a zone,
  reported >= occurred, severity, counts, grading, geometry and the area of interest); a bad
  row is reported by line and reason and not stored, the good rows are;
- rows are stored in batches, each batch one transaction (all or nothing);
- every row carries an `external_ref` (the file's own, else `<file sha256, 12 hex>:<line>`)
  and rows whose ref is already stored are skipped, so running the same file again resumes
  where a stopped run ended;
- one hash-chained audit entry per batch (bulk inserts do not pass the per-row audit hook);
- alerts for rows inside an alerting zone valid when they occurred, as for the API.

Speed: rows are checked column by column (numpy and shapely for coordinates and WKB), then
written without the ORM: `executemany` on SQLite (the R*Tree triggers still fire), COPY on
PostgreSQL. Memory stays bounded by the batch size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import operator
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, TextIO, cast

import numpy as np
import orjson
import shapely
from annotated_types import Ge, Le, MaxLen
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.audit.service import record_entries
from cmcc.bootstrap import Platform
from cmcc.core.clock import utcnow
from cmcc.core.db import raw_cursor
from cmcc.core.dbfaults import DatabaseFault, database_fault
from cmcc.core.errors import DomainError, InvalidInput
from cmcc.core.releasability import Marking
from cmcc.core.timeparse import parse_instant
from cmcc.core.uow import after_commit
from cmcc.core.written import note_written
from cmcc.geo.geofence import GeofenceEngine
from cmcc.geo.geometry import BBox, parse_geometry
from cmcc.incidents.domain import IncidentType, Reliability, alert_message
from cmcc.incidents.exporter import COLUMNS
from cmcc.incidents.models import Alert, Incident
from cmcc.incidents.schemas import IncidentCreate
from cmcc.interop.tabular import (
    FORMULA_START,
    Column,
    FormatError,
    TableReader,
    file_sha256,
    iter_features,
    read_ahead,
)
from cmcc.zones import service as zones
from cmcc.zones.domain import ALERTING_KINDS
from cmcc.zones.models import Zone

ImportFormat = Literal["geojson", "csv", "hxl"]
FIELDS = (
    "external_ref",
    "type",
    "occurred_at",
    "reported_at",
    "lat",
    "lon",
    "geometry",
    "severity",
    "killed_civilian",
    "killed_other",
    "injured_civilian",
    "injured_other",
    "source_reliability",
    "info_credibility",
    "narrative",
    "source",
    "outside_aoi",
)
COUNTS = ("killed_civilian", "killed_other", "injured_civilian", "injured_other")
REQUIRED = ("type", "occurred_at", "severity")
TYPES = frozenset(t.value for t in IncidentType)
GRADES = frozenset(r.value for r in Reliability)
TRUE = frozenset({"true", "t", "yes", "y", "1"})
FALSE = frozenset({"false", "f", "no", "n", "0", ""})
FUTURE_SLACK = dt.timedelta(minutes=10)  # as IncidentCreate
KEEP_ERRORS = 1000  # kept in the report; all go to `on_error`
SQLITE_BATCH_CACHE_KIB = 256 * 1024  # SQLite page cache while a batch is written

# The export's columns (those not listed in FIELDS are read and not applied), and one more.
IMPORT_COLUMNS = (*COLUMNS, Column("outside_aoi", "outside_aoi", "#meta+outside_aoi"))


def _bounds(name: str) -> tuple[int | None, int | None]:
    """The API's limits for a field of IncidentCreate (one source of truth)."""
    lo = hi = None
    for rule in IncidentCreate.model_fields[name].metadata:
        if isinstance(rule, Ge):
            lo = int(rule.ge)  # type: ignore[call-overload]
        elif isinstance(rule, Le):
            hi = int(rule.le)  # type: ignore[call-overload]
        elif isinstance(rule, MaxLen):
            hi = rule.max_length
    return lo, hi


# --- options and report -----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    owner_org_id: int
    marking: Marking
    actor: str
    aoi: BBox
    fmt: ImportFormat | None = None  # None: by the file name, or by the content
    batch_size: int = 5000
    outside_aoi: bool = False  # accept every row outside the area of interest


@dataclass(frozen=True)
class RowError:
    """A bad row: its line (GeoJSON: the feature's position, from 1), the field, the reason."""

    line: int
    field: str
    reason: str


@dataclass
class ImportReport:
    file_sha256: str
    fmt: str = ""
    rows_read: int = 0
    stored: int = 0
    skipped: int = 0  # the ref was stored already (a resumed run), or repeats in the file
    bad_rows: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first KEEP_ERRORS
    alerts: int = 0
    batches: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the import stopped before the end of the file
    fault: DatabaseFault | None = None  # the database's fault that stopped it, if that was it
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.stopped is None

    def count_batch(self, result: BatchResult, started: float) -> None:
        """A batch stored (`started`: its perf_counter when its storing began)."""
        self.add_time("store", time.perf_counter() - started)
        self.add_time("insert", result.insert_seconds)
        self.batches += 1
        self.stored += result.stored
        self.skipped += result.skipped
        self.alerts += result.alerts

    def add_time(self, key: str, seconds: float) -> None:
        self.timings[key] = self.timings.get(key, 0.0) + seconds


@dataclass(frozen=True)
class Progress:
    bytes_read: int
    total_bytes: int
    report: ImportReport


# --- reading ----------------------------------------------------------------------------------


@dataclass
class Chunk:
    """Up to one batch of rows as read: text values of `fields` per row; for GeoJSON the
    geometry object of each feature; rows that could not be read at all in `unreadable`."""

    fields: tuple[str, ...]
    lines: list[int] = field(default_factory=list)
    values: list[tuple[str, ...]] = field(default_factory=list)
    shapes: list[Any] | None = None
    unreadable: list[RowError] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.lines) + len(self.unreadable)


def detect_format(name: str, head: bytes) -> ImportFormat:
    """By the file name, else by the first character (`{`: GeoJSON)."""
    lower = name.lower()
    if lower.endswith((".geojson", ".json")):
        return "geojson"
    if lower.endswith((".hxl", ".hxl.csv")):
        return "hxl"
    if lower.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    return "geojson" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


def _csv_chunks(reader: TableReader, size: int) -> Iterator[Chunk]:
    positions = reader.layout.positions
    present = tuple(f for f in FIELDS if f in positions)
    width = max(positions[f] for f in present) + 1
    pick = operator.itemgetter(*(positions[f] for f in present))
    pad = [""] * width
    chunk = Chunk(present)
    for record in reader:
        if record.error is not None:
            chunk.unreadable.append(RowError(record.line, "row", record.error))
        else:
            cells = record.cells
            if len(cells) < width:
                cells = cells + pad[len(cells) :]
            chunk.lines.append(record.line)
            chunk.values.append(pick(cells))
        if chunk.size >= size:
            yield chunk
            chunk = Chunk(present)
    if chunk.size:
        yield chunk


def _text(value: Any) -> str:
    """A GeoJSON property value as the text a CSV cell would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


GEOJSON_FIELDS = tuple(f for f in FIELDS if f not in ("lat", "lon", "geometry"))


def _geojson_chunks(stream: TextIO, size: int) -> Iterator[Chunk]:
    shapes: list[Any] = []
    chunk = Chunk(GEOJSON_FIELDS, shapes=shapes)
    for position, feature in iter_features(stream):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            chunk.unreadable.append(RowError(position, "feature", "not a GeoJSON Feature"))
        else:
            props = feature.get("properties") or {}
            if not isinstance(props, dict):
                props = {}
            chunk.lines.append(position)
            chunk.values.append(tuple(_text(props.get(f)) for f in GEOJSON_FIELDS))
            shapes.append(feature.get("geometry"))
        if chunk.size >= size:
            yield chunk
            shapes = []
            chunk = Chunk(GEOJSON_FIELDS, shapes=shapes)
    if chunk.size:
        yield chunk


def _point_xy(value: Any) -> tuple[float, float] | None:
    """lon, lat of a plain GeoJSON Point (2 or 3 numbers), for the column-wise check; None for
    anything else, which `parse_geometry` checks on its own."""
    if type(value) is not dict or value.get("type") != "Point":
        return None
    c = value.get("coordinates")
    if type(c) is not list or not 2 <= len(c) <= 3 or any(type(v) not in (int, float) for v in c):
        return None
    try:
        return float(c[0]), float(c[1])
    except OverflowError:  # an integer beyond any float
        return None


def _missing_columns(positions: dict[str, int]) -> list[str]:
    names = {c.field: f"{c.field} (header '{c.header}' or hashtag '{c.hashtag}')" for c in COLUMNS}
    missing = [names[f] for f in REQUIRED if f not in positions]
    if "geometry" not in positions and not {"lat", "lon"} <= positions.keys():
        missing.append("lat and lon (or geometry)")
    return missing


# --- checking ---------------------------------------------------------------------------------


def _unquote(text: str) -> str:
    """Undo the export's protection of spreadsheet cells (`'=...` -> `=...`)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


UTC_RE = re.compile(r"(?:(?!0000)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z\n)*")


def _utc_texts(col: tuple[str, ...]) -> list[str] | None:
    """Fast path for a column of `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (what exports hold): parsed
    and formatted by numpy at once. None when any cell is otherwise (the caller then checks
    cell by cell, with the API's messages)."""
    if not col or UTC_RE.fullmatch("\n".join(col) + "\n") is None:
        return None
    try:
        moments = np.array([c[:-1] for c in col], dtype="datetime64[us]")
    except ValueError:  # e.g. 2026-02-30
        return None
    return [t.replace("T", " ") for t in np.datetime_as_string(moments, unit="us").tolist()]


def utc_text(value: dt.datetime) -> str:
    """An instant as stored: UTC, `YYYY-MM-DD HH:MM:SS.ffffff` (the SQLite storage format of
    SQLAlchemy; PostgreSQL reads it with `+00` appended). Such texts sort as the instants."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ", "microseconds")[:26]


@dataclass
class Rows:
    """Checked rows, column by column, ready to store."""

    lines: list[int]
    refs: list[str]
    types: list[str]
    occurred: list[str]
    reported: list[str]
    ints: dict[str, list[int]]
    grades: list[str]
    narratives: list[str]
    sources: list[str]
    wkb: list[bytes]
    bounds: np.ndarray[Any, np.dtype[np.float64]]  # n x 4: min_x, min_y, max_x, max_y
    points: np.ndarray[Any, np.dtype[np.float64]]  # n x 2: representative point (geofence)

    def __len__(self) -> int:
        return len(self.lines)

    def take(self, idx: list[int]) -> Rows:
        def pick(col: list[Any]) -> list[Any]:
            return [col[i] for i in idx]

        return Rows(
            pick(self.lines),
            pick(self.refs),
            pick(self.types),
            pick(self.occurred),
            pick(self.reported),
            {k: pick(v) for k, v in self.ints.items()},
            pick(self.grades),
            pick(self.narratives),
            pick(self.sources),
            pick(self.wkb),
            self.bounds[idx],
            self.points[idx],
        )


class Checker:
    """Checks the rows of one chunk column by column; collects problems per row."""

    def __init__(self, chunk: Chunk, options: ImportOptions, sha12: str, now: dt.datetime) -> None:
        self.chunk, self.options, self.sha12 = chunk, options, sha12
        self.now_text = utc_text(now)
        self.latest = utc_text(now + FUTURE_SLACK)
        self.n = len(chunk.lines)
        columns = list(zip(*chunk.values, strict=True)) if chunk.values else []
        blank = ("",) * self.n
        self.cols: dict[str, tuple[str, ...]] = dict.fromkeys(FIELDS, blank)
        self.cols.update(zip(chunk.fields, columns, strict=True))
        self.problems: dict[int, list[tuple[str, str]]] = {}
        self.tabular = chunk.shapes is None  # CSV or HXL, not GeoJSON
        self.given_points: dict[int, tuple[float, float]] = {}  # plain GeoJSON Points

    def bad(self, i: int, name: str, reason: str) -> None:
        self.problems.setdefault(i, []).append((name, reason))

    def errors(self) -> list[RowError]:
        lines = self.chunk.lines
        out = list(self.chunk.unreadable)
        for i in sorted(self.problems):
            out.extend(RowError(lines[i], name, reason) for name, reason in self.problems[i])
        return out

    # -- columns

    def refs(self) -> list[str]:
        _, hi = _bounds("external_ref")
        out = []
        refs = self.cols["external_ref"]
        if self.tabular:
            refs = tuple(_unquote(r) for r in refs)
        for i, (raw, line) in enumerate(zip(refs, self.chunk.lines, strict=True)):
            ref = raw.strip()
            if not ref:
                ref = f"{self.sha12}:{line}"
            elif hi is not None and len(ref) > hi:
                self.bad(i, "external_ref", f"longer than {hi} characters")
            elif "\x00" in ref:
                self.bad(i, "external_ref", "contains a NUL character")
            out.append(ref)
        return out

    def types(self) -> list[str]:
        out = [t.strip() for t in self.cols["type"]]
        for i, value in enumerate(out):
            if value not in TYPES:
                reason = (
                    "required"
                    if not value
                    else f"{value!r} is not an incident type; use one of "
                    + ", ".join(sorted(TYPES))
                )
                self.bad(i, "type", reason)
        return out

    def instants(self, name: str, default: str | None) -> list[str]:
        col = self.cols[name]
        if default is not None and not any(col):
            return [default] * self.n
        fast = _utc_texts(col)
        if fast is not None:
            return fast
        out = []
        for i, raw in enumerate(col):
            value = raw.strip()
            if not value:
                if default is None:
                    self.bad(i, name, "required")
                out.append(default or "")
                continue
            try:
                moment = parse_instant(value, field=name)  # the API's parser and messages
            except InvalidInput as exc:
                self.bad(i, name, exc.errors[0].message)
                out.append("")
                continue
            out.append(utc_text(moment))
        return out

    def integers(self, name: str, default: int | None) -> list[int]:
        lo, hi = _bounds(name)
        col = self.cols[name]
        unread: set[int] = set()
        try:  # fast path: every cell a number (or empty where a default exists)
            values: list[Any] = [int(v) if v else default for v in col]
            if default is None and None in values:
                raise ValueError
        except ValueError:
            values = []
            for i, raw in enumerate(col):
                cell = raw.strip()
                try:
                    values.append(int(cell) if cell else default)
                except ValueError:
                    values.append(None)
                    self.bad(i, name, f"{raw!r} is not a whole number")
                if values[-1] is None:
                    if not cell:
                        self.bad(i, name, "required")
                    unread.add(i)
                    values[-1] = 0
        if lo is not None and hi is not None and values:
            array = np.array(values)  # object dtype if a value does not fit in 64 bits
            for i in np.flatnonzero((array < lo) | (array > hi)).tolist():
                if i not in unread:
                    self.bad(i, name, f"must be {lo} to {hi}, not {values[i]}")
        return values

    def grades(self) -> list[str]:
        out = [g.strip() or "F" for g in self.cols["source_reliability"]]
        for i, value in enumerate(out):
            if value not in GRADES:
                self.bad(i, "source_reliability", f"{value!r} is not a grade A-F")
        return out

    def texts(self, name: str) -> list[str]:
        _, hi = _bounds(name)
        col = [_unquote(v) for v in self.cols[name]] if self.tabular else list(self.cols[name])
        for i, value in enumerate(col):
            if hi is not None and len(value) > hi:
                self.bad(i, name, f"longer than {hi} characters")
            elif "\x00" in value:
                self.bad(i, name, "contains a NUL character")
        return col

    def outside(self) -> list[bool]:
        if "outside_aoi" not in self.chunk.fields:
            return [self.options.outside_aoi] * self.n
        out = []
        for i, raw in enumerate(self.cols["outside_aoi"]):
            value = raw.strip().lower()
            if value not in TRUE and value not in FALSE:
                self.bad(i, "outside_aoi", f"{raw!r} is not true or false")
            out.append(self.options.outside_aoi or value in TRUE)
        return out

    def geometries(self, outside: list[bool]) -> tuple[list[bytes], Any, Any]:
        """WKB, bounds (n x 4) and representative points (n x 2) of every row."""
        n = self.n
        shapes: list[Any] = [None] * n
        shaped = self._shapes(outside, shapes)
        xy = self._points(outside, shaped)
        if not any(shaped):  # points only (CSV): the bounds are the points themselves
            wkb = shapely.to_wkb(shapely.points(xy)).tolist()
            return wkb, np.hstack([xy, xy]), xy
        geoms = np.empty(n, dtype=object)
        plain = np.array([not s for s in shaped], dtype=bool)
        geoms[plain] = shapely.points(xy[plain])
        for i in np.flatnonzero(~plain).tolist():
            geoms[i] = shapes[i] if shapes[i] is not None else shapely.Point(0.0, 0.0)
        reps = shapely.point_on_surface(geoms[~plain])
        xy[~plain, 0], xy[~plain, 1] = shapely.get_x(reps), shapely.get_y(reps)
        return shapely.to_wkb(geoms).tolist(), shapely.bounds(geoms), xy

    def _shapes(self, outside: list[bool], shapes: list[Any]) -> list[bool]:
        """Rows that come with a GeoJSON geometry (GeoJSON files; `geometry` column)."""
        given = self.chunk.shapes
        texts = self.cols["geometry"]
        shaped = [False] * self.n
        if given is None and "geometry" not in self.chunk.fields:
            return shaped
        for i in range(self.n):
            value: Any = given[i] if given is not None else texts[i].strip()
            if given is None and not value:
                continue
            point = _point_xy(value) if given is not None else None
            if point is not None:  # checked with the lat/lon columns, all at once
                self.given_points[i] = point
                continue
            shaped[i] = True
            name = "geometry"
            if value is None:
                self.bad(i, name, "the feature has no geometry")
                continue
            if isinstance(value, str):
                try:
                    value = orjson.loads(value)
                except orjson.JSONDecodeError:
                    self.bad(i, name, "not a GeoJSON geometry object")
                    continue
            try:
                shapes[i] = parse_geometry(
                    value, field=name, aoi=self.options.aoi, outside_aoi=outside[i]
                )
            except InvalidInput as exc:
                self.bad(i, name, exc.errors[0].message)
        return shaped

    def _points(self, outside: list[bool], shaped: list[bool]) -> Any:
        """lon/lat of the rows without a geometry, checked at once; a row that fails the fast
        test gets the reason from `parse_geometry` itself (same message as the API)."""
        xy = np.zeros((self.n, 2))
        todo = [i for i in range(self.n) if not shaped[i]]
        unread = set()
        given = self.given_points
        if given:
            xy[list(given)] = np.array(list(given.values()), dtype=np.float64)
            todo_cells = [i for i in todo if i not in given]
        elif len(todo) == self.n:
            try:  # fast path: every cell a number
                xy[:, 0] = np.fromiter(map(float, self.cols["lon"]), np.float64, self.n)
                xy[:, 1] = np.fromiter(map(float, self.cols["lat"]), np.float64, self.n)
                todo_cells = []
            except ValueError:
                todo_cells = todo
        else:
            todo_cells = todo
        for i in todo_cells:
            lat, lon = self.cols["lat"][i].strip(), self.cols["lon"][i].strip()
            try:
                xy[i] = float(lon), float(lat)
            except ValueError:
                unread.add(i)
                reason = (
                    f"not a number: lat {lat!r}, lon {lon!r}"
                    if lat and lon
                    else "lat and lon are required (or a geometry)"
                )
                self.bad(i, "lat/lon", reason)
        if not todo:
            return xy
        idx = np.array(todo)
        x, y = xy[idx, 0], xy[idx, 1]
        minx, miny, maxx, maxy = self.options.aoi
        ok = np.isfinite(x) & np.isfinite(y) & (x >= -180) & (x <= 180) & (y >= -90) & (y <= 90)
        inside = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
        allowed = np.array([outside[i] for i in todo], dtype=bool)
        for i in idx[~(ok & (inside | allowed))].tolist():
            if i in unread:
                continue
            name, point = "lat/lon", {"type": "Point", "coordinates": [*xy[i].tolist()]}
            if i in given and self.chunk.shapes is not None:
                name, point = "geometry", self.chunk.shapes[i]
            try:
                parse_geometry(point, field=name, aoi=self.options.aoi, outside_aoi=outside[i])
            except InvalidInput as exc:
                self.bad(i, name, exc.errors[0].message)
        return xy

    def run(self) -> Rows:
        refs, types = self.refs(), self.types()
        occurred = self.instants("occurred_at", None)
        reported = self.instants("reported_at", self.now_text)
        for i, (occ, rep) in enumerate(zip(occurred, reported, strict=True)):
            if occ and occ > self.latest:
                self.bad(i, "occurred_at", "occurred_at is in the future")
            elif occ and rep and rep < occ:
                self.bad(i, "reported_at", "reported_at is before occurred_at")
        ints = {"severity": self.integers("severity", None)}
        ints.update({c: self.integers(c, 0) for c in COUNTS})
        ints["info_credibility"] = self.integers("info_credibility", 6)
        grades, narratives, sources = self.grades(), self.texts("narrative"), self.texts("source")
        wkb, bounds, points = self.geometries(self.outside())
        rows = Rows(
            self.chunk.lines,
            refs,
            types,
            occurred,
            reported,
            ints,
            grades,
            narratives,
            sources,
            wkb,
            bounds,
            points,
        )
        if not self.problems:
            return rows
        return rows.take([i for i in range(self.n) if i not in self.problems])


# --- storing ----------------------------------------------------------------------------------

INSERT_COLUMNS = (
    "id",
    "external_ref",
    "type",
    "occurred_at",
    "reported_at",
    "severity",
    *COUNTS,
    "info_credibility",
    "source_reliability",
    "narrative",
    "source",
    "geom_wkb",
    "min_x",
    "min_y",
    "max_x",
    "max_y",
    # the same for every row of an import
    "attachments",
    "status",
    "attribution",
    "finding",
    "owner_org_id",
    "releasability",
    "release_to",
    "version",
    "created_at",
    "updated_at",
)
_NAMES = ", ".join(INSERT_COLUMNS)
SQLITE_INSERT = f"INSERT INTO incidents ({_NAMES}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"  # noqa: S608 - constant names
PG_COPY = f"COPY incidents ({_NAMES}) FROM STDIN"


def _stored_refs(session: Session, refs: list[str], dialect: str) -> set[str]:
    """Refs already in the table, asked with one parameter (a JSON list on SQLite, an array on
    PostgreSQL). Not a read of records for a viewer, so no release filter: refs are unique
    across the table, whoever owns the incidents (as for the API's 409 on a duplicate ref)."""
    if dialect == "postgresql":
        stmt = text("SELECT external_ref FROM incidents WHERE external_ref = ANY(:refs)")
        return set(session.scalars(stmt, {"refs": refs}))
    stmt = text(
        "SELECT external_ref FROM incidents "
        "WHERE external_ref IN (SELECT value FROM json_each(:refs))"
    )
    return set(session.scalars(stmt, {"refs": orjson.dumps(refs).decode()}))


def _new_ids(session: Session, n: int, dialect: str) -> list[int]:
    """Ids for n new incidents: from the sequence on PostgreSQL (safe beside other writers);
    after the highest on SQLite, where the write lock is held (BEGIN IMMEDIATE)."""
    if dialect == "postgresql":
        seq = session.scalar(text("SELECT pg_get_serial_sequence('incidents', 'id')"))
        # a constant regclass: resolved once, not for every value
        stmt = text("SELECT array_agg(nextval(CAST(:seq AS regclass))) FROM generate_series(1, :n)")
        return sorted(session.scalar(stmt, {"seq": seq, "n": n}) or [])
    top = session.scalar(select(Incident.id).order_by(Incident.id.desc()).limit(1)) or 0
    return list(range(top + 1, top + n + 1))


def _constants(options: ImportOptions, now: str) -> tuple[Any, ...]:
    """attachments, status, attribution, finding, owner, marking, version, created, updated."""
    m = options.marking
    return ("[]", "reported", None, "", options.owner_org_id, m.kind.value, m.stored_list, 1,
            now, now)  # fmt: skip


def _copy_constants(consts: tuple[Any, ...]) -> str:
    """The same values in COPY text form, as the tail of every line."""
    *head, created, updated = consts
    cells = ["\\N" if v is None else str(v) for v in head]
    return "\t".join([*cells, created + "+00", updated + "+00"]) + "\n"


def _write_sqlite(session: Session, rows: Rows, ids: list[int], consts: tuple[Any, ...]) -> None:
    """One executemany on the driver's cursor. The page cache is enlarged for the batch: the
    R*Tree and the indexes touch pages all over the file, and with the default 2 MB cache
    SQLite spills and re-reads them (measured: about 40% faster at 300,000 rows). It is put
    back afterwards, so pooled connections keep their usual size."""
    b = rows.bounds
    values = zip(
        ids,
        rows.refs,
        rows.types,
        rows.occurred,
        rows.reported,
        rows.ints["severity"],
        *(rows.ints[c] for c in COUNTS),
        rows.ints["info_credibility"],
        rows.grades,
        rows.narratives,
        rows.sources,
        rows.wkb,
        *(b[:, k].tolist() for k in range(4)),
        *(itertools.repeat(c) for c in consts),
        strict=False,  # the constants repeat without end
    )
    with raw_cursor(session) as cursor:
        usual = int(cursor.execute("PRAGMA cache_size").fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_BATCH_CACHE_KIB}")
        try:
            cursor.executemany(SQLITE_INSERT, values)
        finally:
            cursor.execute(f"PRAGMA cache_size = {usual}")


def _copy_escape(col: list[str]) -> list[str]:
    """COPY text format: escape backslash, tab, newline, carriage return (NUL is refused
    earlier, so it can separate the values here)."""
    joined = "\x00".join(col)
    if not any(c in joined for c in "\\\t\n\r"):
        return col
    for old, new in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        joined = joined.replace(old, new)
    return joined.split("\x00")


def _write_postgres(session: Session, rows: Rows, ids: list[int], consts: tuple[Any, ...]) -> None:
    suffix = _copy_constants(consts)
    b = rows.bounds
    columns: list[Any] = [
        map(str, ids),
        _copy_escape(rows.refs),
        rows.types,
        [t + "+00" for t in rows.occurred],
        [t + "+00" for t in rows.reported],
        map(str, rows.ints["severity"]),
        *(map(str, rows.ints[c]) for c in COUNTS),
        map(str, rows.ints["info_credibility"]),
        rows.grades,
        _copy_escape(rows.narratives),
        _copy_escape(rows.sources),
        ["\\\\x" + w.hex() for w in rows.wkb],
        *(map(repr, b[:, k].tolist()) for k in range(4)),
        itertools.repeat(suffix),
    ]
    data = "".join(map("\t".join, zip(*columns, strict=False)))
    pg = session.connection().connection.driver_connection
    with pg.cursor() as cursor, cursor.copy(PG_COPY) as copy:  # type: ignore[union-attr]
        copy.write(data)


def rows_sha256(rows: Rows) -> str:
    """SHA-256 of a batch as stored, in the order of the ids: the canonical JSON (orjson) of
    the columns [refs, types, occurred, reported, severity, killed_civilian, killed_other,
    injured_civilian, injured_other, info_credibility, grades, narratives, sources], then the
    WKB of every geometry."""
    columns = [
        rows.refs,
        rows.types,
        rows.occurred,
        rows.reported,
        rows.ints["severity"],
        *(rows.ints[c] for c in COUNTS),
        rows.ints["info_credibility"],
        rows.grades,
        rows.narratives,
        rows.sources,
    ]
    digest = hashlib.sha256(orjson.dumps(columns))
    digest.update(b"".join(rows.wkb))
    return digest.hexdigest()


def _validity_bounds(session: Session) -> np.ndarray[Any, Any]:
    """Every instant at which an alerting zone starts or stops being valid (as stored text)."""
    stmt = select(Zone.valid_from, Zone.valid_to).where(
        Zone.kind.in_([k.value for k in ALERTING_KINDS])
    )
    moments = {utc_text(t) for row in session.execute(stmt) for t in row if t is not None}
    return np.array(sorted(moments), dtype="U26")


def fence_hits(session: Session, fence: GeofenceEngine, rows: Rows) -> tuple[list[int], list[int]]:
    """(row index, zone id) of each row inside an alerting zone valid when it occurred.

    The set of valid zones changes only at the zones' start and end instants, so rows are
    grouped by the interval between two such instants (a row exactly at one is its own group)
    and each group is tested in one vectorized call at one of its rows' times."""
    if not len(rows):
        return [], []
    bounds = _validity_bounds(session)
    occurred = np.array(rows.occurred, dtype="U26")
    pos = np.searchsorted(bounds, occurred) if len(bounds) else np.zeros(len(rows), dtype=int)
    exact = np.zeros(len(rows), dtype=bool)
    if len(bounds):
        inside = pos < len(bounds)
        exact[inside] = bounds[pos[inside]] == occurred[inside]
    keys = pos * 2 + exact
    order = np.argsort(keys, kind="stable")
    splits = np.flatnonzero(np.diff(keys[order])) + 1
    hit_rows: list[int] = []
    hit_zones: list[int] = []
    for group in np.split(order, splits):
        moment = dt.datetime.fromisoformat(rows.occurred[int(group[0])]).replace(tzinfo=dt.UTC)
        xs, ys = rows.points[group, 0], rows.points[group, 1]
        idx, zone_ids = fence.check_many(xs, ys, at=moment, kinds=ALERTING_KINDS)
        hit_rows.extend(group[np.asarray(idx, dtype=int)].tolist())
        hit_zones.extend(int(z) for z in zone_ids)
    return hit_rows, hit_zones


def _raise_alerts(
    session: Session,
    fence: GeofenceEngine,
    rows: Rows,
    ids: list[int],
    options: ImportOptions,
    bus: Any,
) -> int:
    """Alerts as `service.raise_zone_alerts` makes them (released to whoever may see both
    the incident and the zone), inserted in one statement."""
    hit_rows, hit_zones = fence_hits(session, fence, rows)
    if not hit_rows:
        return 0
    titles = zones.zone_titles(session, set(hit_zones))
    now = utcnow()
    values = [
        {
            "kind": "incident_in_zone",
            "zone_id": zone_id,
            "incident_id": ids[i],
            "message": alert_message(rows.types[i], titles.get(zone_id, "a protected zone")),
            "status": "open",
            "raised_at": now,
            "owner_org_id": options.owner_org_id,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for i, zone_id in zip(hit_rows, hit_zones, strict=True)
    ]
    stmt = insert(Alert).returning(Alert.id, sort_by_parameter_order=True)
    alert_ids = list(session.scalars(stmt, values))
    if bus is not None:

        def publish() -> None:
            for alert_id in alert_ids:
                bus.publish({"type": "alert", "id": alert_id})

        after_commit(session, publish)
    return len(alert_ids)


@dataclass
class BatchResult:
    stored: int
    skipped: int
    alerts: int
    insert_seconds: float


def store_batch(
    session: Session,
    rows: Rows,
    options: ImportOptions,
    *,
    file_sha: str,
    lines: str,
    fence: GeofenceEngine | None,
    bus: Any = None,
) -> BatchResult:
    """Store the rows whose ref is new, in the session's transaction: incidents, their alerts,
    one audit entry."""
    dialect = session.get_bind().dialect.name
    stored = _stored_refs(session, rows.refs, dialect)
    keep, seen = [], set(stored)
    for i, ref in enumerate(rows.refs):
        if ref not in seen:
            seen.add(ref)
            keep.append(i)
    skipped = len(rows) - len(keep)
    if len(keep) < len(rows):
        rows = rows.take(keep)
    if not len(rows):
        return BatchResult(0, skipped, 0, 0.0)
    ids = _new_ids(session, len(rows), dialect)
    consts = _constants(options, utc_text(utcnow()))
    started = time.perf_counter()
    (_write_postgres if dialect == "postgresql" else _write_sqlite)(session, rows, ids, consts)
    insert_seconds = time.perf_counter() - started
    alerts = _raise_alerts(session, fence, rows, ids, options, bus) if fence else 0
    changes = {
        "rows": len(rows),
        "file_sha256": file_sha,
        "lines": lines,
        "sha256_of_rows": rows_sha256(rows),
        "alerts": alerts,
    }
    record_entries(session, [("import", "incidents", f"{ids[0]}-{ids[-1]}", changes)])
    note_written(session, "incidents", ids)  # announced on the bus after the commit
    return BatchResult(len(rows), skipped, alerts, insert_seconds)


# --- the whole import -------------------------------------------------------------------------


def _stop_errors() -> tuple[type[BaseException], ...]:
    """What ends an import early: a refused write, or any database or file error (the raw
    drivers' errors too: the bulk writes use the driver connections)."""
    import sqlite3

    import psycopg
    from sqlalchemy.exc import SQLAlchemyError

    return (DomainError, OSError, SQLAlchemyError, sqlite3.Error, psycopg.Error)


def _open(source: Path | bytes) -> tuple[BinaryIO, int]:
    if isinstance(source, bytes):
        return cast(BinaryIO, io.BytesIO(source)), len(source)
    return open(source, "rb", buffering=1 << 20), source.stat().st_size


def _chunks(
    text_stream: TextIO, fmt: ImportFormat, options: ImportOptions, report: ImportReport
) -> Iterator[Chunk]:
    if fmt == "geojson":
        report.fmt = "geojson"
        return _geojson_chunks(text_stream, options.batch_size)
    try:
        reader = TableReader(text_stream, IMPORT_COLUMNS)
    except FormatError as exc:
        raise InvalidInput.field("file", str(exc)) from None
    if fmt == "hxl" and not reader.layout.hxl:
        raise InvalidInput.field("file", "no HXL hashtag row in the first 25 rows")
    missing = _missing_columns(reader.layout.positions)
    if missing:
        raise InvalidInput.field("file", "missing columns: " + "; ".join(missing))
    report.fmt = "hxl" if reader.layout.hxl else "csv"
    report.ignored_columns = reader.layout.ignored
    return _csv_chunks(reader, options.batch_size)


@dataclass
class Checked:
    """A chunk after the checks: the good rows, the problems, where it sits in the file."""

    rows: Rows
    errors: list[RowError]
    size: int
    bad_rows: int
    first_line: int
    last_line: int
    seconds: dict[str, float]


def _checked(chunks: Iterator[Chunk], options: ImportOptions, sha12: str) -> Iterator[Checked]:
    while True:
        tick = time.perf_counter()
        chunk = next(chunks, None)
        if chunk is None:
            return
        read = time.perf_counter() - tick
        checker = Checker(chunk, options, sha12, utcnow())
        rows = checker.run()
        lines = [*chunk.lines, *(e.line for e in chunk.unreadable)]
        yield Checked(
            rows,
            checker.errors(),
            chunk.size,
            len(chunk.unreadable) + len(checker.problems),
            min(lines),
            max(lines),
            {"read": read, "check": time.perf_counter() - tick - read},
        )


class _Run:
    """One import under way: counts into the report, stores batch after batch."""

    def __init__(self, platform: Platform, options: ImportOptions, report: ImportReport) -> None:
        self.platform, self.options, self.report = platform, options, report
        self.fence = platform.fence()

    def count(self, item: Checked, on_error: Callable[[RowError], None] | None) -> None:
        report = self.report
        report.rows_read += item.size
        report.bad_rows += item.bad_rows
        for key, seconds in item.seconds.items():
            report.add_time(key, seconds)
        for error in item.errors:
            report.error_count += 1
            if len(report.errors) < KEEP_ERRORS:
                report.errors.append(error)
            if on_error is not None:
                on_error(error)

    def store(self, item: Checked) -> None:
        report, tick = self.report, time.perf_counter()
        lines = f"{item.first_line}-{item.last_line}"
        with self.platform.unit_of_work(Principal.system_operator(), write=True) as session:
            session.info["actor"] = self.options.actor
            result = store_batch(
                session,
                item.rows,
                self.options,
                file_sha=report.file_sha256,
                lines=lines,
                fence=self.fence,
                bus=self.platform.bus,
            )
        report.count_batch(result, tick)


def import_incidents(
    platform: Platform,
    source: Path | bytes,
    options: ImportOptions,
    *,
    name: str = "",
    on_error: Callable[[RowError], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> ImportReport:
    """Check and store every row of the file; see the module's docstring for the guarantees.

    On PostgreSQL the next batch is read and checked in a second thread while this one is
    written. Raises InvalidInput when the file cannot be read at all (format, missing
    columns). A database failure or an unreadable part of the file stops the import: the
    batches before it stay stored, the failing batch is rolled back whole, and
    `report.stopped` says why."""
    started = time.perf_counter()
    report = ImportReport(file_sha256(source))
    binary, total = _open(source)
    stop_on = _stop_errors()
    with binary:
        head = binary.read(64)
        binary.seek(0)
        label = name or (source.name if isinstance(source, Path) else "")
        fmt = options.fmt or detect_format(label, head)
        stream = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        run = _Run(platform, options, report)
        checked = _checked(_chunks(stream, fmt, options, report), options, report.file_sha256[:12])
        line = 0
        # PostgreSQL works in its own process while the next batch is checked here; SQLite
        # works in this one, and a second thread only competes with it (measured).
        ahead = 1 if platform.engine.dialect.name == "postgresql" else 0
        with read_ahead(checked, ahead) as items:
            while True:
                try:
                    item = next(items, None)
                except (FormatError, UnicodeDecodeError) as exc:
                    if not report.rows_read:
                        raise InvalidInput.field("file", str(exc)) from None
                    report.stopped = f"the file cannot be read after line {line}: {exc}"
                    break
                if item is None:
                    break
                run.count(item, on_error)
                line = item.last_line
                if len(item.rows):
                    try:
                        run.store(item)
                    except stop_on as exc:
                        report.fault = database_fault(exc)
                        report.stopped = (
                            f"batch {report.batches + 1} (lines {item.first_line}-"
                            f"{item.last_line}) failed and was rolled back: {_reason(exc)}"
                        )
                        break
                if on_progress is not None:
                    on_progress(Progress(binary.tell(), total, report))
    report.timings["total"] = time.perf_counter() - started
    return report


def _reason(exc: BaseException) -> str:
    fault = database_fault(exc)
    if fault is not None:
        return fault.detail
    if isinstance(exc, DomainError):
        return exc.detail
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(exc).__name__
