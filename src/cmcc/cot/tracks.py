"""Tracks: one row per position report of a TAK device, stored in batches.

`store_batch` writes a whole batch with the driver's bulk path (PostgreSQL: COPY into a
temporary table, then one INSERT ... SELECT; SQLite: one executemany INSERT) and appends ONE
audit entry for it instead of one per row: the entry names the table, the number of rows, the
first and last id and a SHA-256 over the stored values (`batch_digest`), so the batch stays in
the hash chain and a changed or removed track row is provable by recomputing the digest from
the table (`verify_batch`).

A row may carry an idempotent key (`event_key`, unique; see `cmcc.cot.stream`): a row whose
key is already stored is skipped, so a batch delivered twice is stored once. Rows without a
key (the gateway of a single process) are always stored.

The writers of tracks take the audit chain's head first (`lock_writers`, held to the commit):
on PostgreSQL several `cmcc worker` processes then allocate their ids in turn, so each batch's
ids are one range that holds its rows and no other's, and each sees the batches committed
before it (the caveat alerts compare a unit's position with its previous one)."""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Select,
    String,
    Table,
    Uuid,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from cmcc.access.policy import release_filter, visible
from cmcc.audit.models import AuditHead
from cmcc.audit.service import record_entries
from cmcc.core.clock import utcnow
from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Releasable, marking_checks
from cmcc.core.releasability import Viewer
from cmcc.geo.backend import backend_for
from cmcc.geo.columns import Spatial
from cmcc.geo.geometry import BBox

_POINT = struct.Struct("<BIdd")  # WKB of a 2-D point, little-endian (as shapely writes it)


class Track(Releasable, Spatial, Base):
    """A position report. The point is the `Spatial` geometry (lon, lat)."""

    __tablename__ = "tracks"
    __table_args__: tuple[Any, ...] = (
        *marking_checks(),
        Index("ix_tracks_uid_time", "uid", "time"),
        Index("ux_tracks_event_key", "event_key", unique=True),
    )

    uid: Mapped[str] = mapped_column(String(200))
    callsign: Mapped[str | None] = mapped_column(String(120), default=None)
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledges.id"), default=None)
    type: Mapped[str] = mapped_column(String(64))
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    stale: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    hae: Mapped[float | None] = mapped_column(Float, default=None)
    speed: Mapped[float | None] = mapped_column(Float, default=None)  # m/s
    course: Mapped[float | None] = mapped_column(Float, default=None)  # degrees from north
    # The idempotent key of a report that came through the stream (cmcc.cot.stream), or None.
    event_key: Mapped[str | None] = mapped_column(Uuid(as_uuid=False), default=None)

    @property
    def lon(self) -> float:
        return self.min_x

    @property
    def lat(self) -> float:
        return self.min_y


TRACKS: Table = Track.__table__  # type: ignore[assignment]


class TrackRow(NamedTuple):
    """A track to store (a tuple: a batch makes thousands)."""

    uid: str
    type: str
    time: dt.datetime
    stale: dt.datetime
    lon: float
    lat: float
    owner_org_id: int
    releasability: str = "mission"
    release_to: str | None = None
    callsign: str | None = None
    pledge_id: int | None = None
    hae: float | None = None
    speed: float | None = None
    course: float | None = None
    event_key: str | None = None  # 32 hex digits (cmcc.cot.stream.event_key)


def point_wkb(lon: float, lat: float) -> bytes:
    return _POINT.pack(1, 1, lon, lat)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is dt.UTC else moment.astimezone(dt.UTC)


def _hex(key: str) -> str:
    """An event key as 32 hex digits (the database gives it back as a uuid's text)."""
    return key.replace("-", "")


def _digest_values(ident: int, r: Any) -> list[Any]:
    values = [
        ident,
        r.uid,
        r.callsign,
        r.type,
        _utc(r.time),
        _utc(r.stale),
        r.min_x if isinstance(r, Track) else r.lon,
        r.min_y if isinstance(r, Track) else r.lat,
        r.hae,
        r.speed,
        r.course,
        r.owner_org_id,
        r.pledge_id,
        r.releasability,
        r.release_to,
    ]
    if r.event_key is not None:  # rows of the stream (entries from before it stay as they were)
        values.append(_hex(r.event_key))
    return values


def batch_digest(ids: Sequence[int], rows: Sequence[Any]) -> str:
    """SHA-256 over the stored values of a batch (TrackRow or Track objects, in id order;
    times as orjson writes aware UTC datetimes)."""
    body = orjson.dumps([_digest_values(i, r) for i, r in zip(ids, rows, strict=True)])
    return hashlib.sha256(body).hexdigest()


def lock_writers(session: Session) -> None:
    """Hold the audit chain's head from here to the commit, as every audited write does when
    it appends its entries: writers of tracks take it before allocating ids (PostgreSQL;
    SQLite's write transactions hold the whole database already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update())


def _allocate_ids(session: Session, count: int) -> list[int]:
    """Ids for `count` new rows, known before the insert, in one range: `lock_writers` is held,
    so no other writer takes ids in between. PostgreSQL: from the table's sequence, moved on by
    `count` at once. SQLite: after the largest id."""
    if session.get_bind().dialect.name == "postgresql":
        stmt = text(
            "SELECT setval(pg_get_serial_sequence('tracks', 'id'), "
            "nextval(pg_get_serial_sequence('tracks', 'id')) + :n - 1)"
        )
        last = int(session.scalars(stmt, {"n": count}).one())
        return list(range(last - count + 1, last + 1))
    last = session.scalar(select(func.max(Track.id))) or 0
    return list(range(last + 1, last + 1 + count))


_STAGE = """CREATE TEMPORARY TABLE IF NOT EXISTS tracks_in (
    ord integer, event_key text, uid text, callsign text, pledge_id integer, type text,
    time timestamptz, stale timestamptz, hae float8, speed float8, course float8, geom_wkb bytea,
    lon float8, lat float8, owner_org_id integer, releasability text, release_to text
) ON COMMIT DELETE ROWS"""
_STAGE_TYPES = [
    "int4", "text", "text", "text", "int4", "text", "timestamptz", "timestamptz",
    "float8", "float8", "float8", "bytea", "float8", "float8", "int4", "text", "text",
]  # fmt: skip
_COPY = "COPY tracks_in FROM STDIN (FORMAT BINARY)"
_FROM_STAGE = """INSERT INTO tracks (id, event_key, uid, callsign, pledge_id, type, time, stale,
    hae, speed, course, geom_wkb, min_x, max_x, min_y, max_y, owner_org_id, releasability,
    release_to, version, created_at, updated_at)
SELECT %(first)s + ord, event_key::uuid, uid, callsign, pledge_id, type, time, stale, hae, speed,
    course, geom_wkb, lon, lon, lat, lat, owner_org_id, releasability, release_to, 1,
    %(now)s, %(now)s
FROM tracks_in ORDER BY ord
ON CONFLICT (event_key) DO NOTHING RETURNING id"""


def _store_postgresql(
    session: Session, rows: Sequence[TrackRow], now: dt.datetime
) -> list[int | None]:
    """COPY the rows into the connection's temporary table, then insert those whose key is not
    stored yet. The COPY runs before `lock_writers`, the INSERT after it."""
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(_STAGE)  # once per connection (a rolled-back transaction takes it away)
    with cursor.copy(_COPY) as copy:
        copy.set_types(_STAGE_TYPES)
        pack = _POINT.pack
        for n, r in enumerate(rows):
            copy.write_row(
                (
                    n, r.event_key, r.uid, r.callsign, r.pledge_id, r.type, r.time, r.stale,
                    r.hae, r.speed, r.course, pack(1, 1, r.lon, r.lat), r.lon, r.lat,
                    r.owner_org_id, r.releasability, r.release_to,
                )
            )  # fmt: skip
    lock_writers(session)
    first = _allocate_ids(session, len(rows))[0]
    cursor.execute(_FROM_STAGE, {"first": first, "now": now})
    stored = {row[0] for row in cursor.fetchall()}
    return [first + n if first + n in stored else None for n in range(len(rows))]


def _store_sqlite(session: Session, rows: Sequence[TrackRow], now: dt.datetime) -> list[int | None]:
    """Insert the rows whose key is not stored yet (nor earlier in the batch)."""
    keys = [_hex(r.event_key) for r in rows if r.event_key is not None]
    seen: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        found = session.scalars(select(Track.event_key).where(Track.event_key.in_(chunk)))
        seen.update(_hex(k) for k in found if k is not None)
    fresh: list[bool] = []
    for r in rows:
        key = None if r.event_key is None else _hex(r.event_key)
        fresh.append(key is None or key not in seen)
        if key is not None:
            seen.add(key)
    count = sum(fresh)
    if not count:
        return [None] * len(rows)
    allocated = iter(_allocate_ids(session, count))
    ids = [next(allocated) if new else None for new in fresh]
    params = [
        {
            "id": i,
            "event_key": r.event_key,
            "uid": r.uid,
            "callsign": r.callsign,
            "pledge_id": r.pledge_id,
            "type": r.type,
            "time": r.time,
            "stale": r.stale,
            "hae": r.hae,
            "speed": r.speed,
            "course": r.course,
            "geom_wkb": _POINT.pack(1, 1, r.lon, r.lat),
            "min_x": r.lon,
            "max_x": r.lon,
            "min_y": r.lat,
            "max_y": r.lat,
            "owner_org_id": r.owner_org_id,
            "releasability": r.releasability,
            "release_to": r.release_to,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for i, r in zip(ids, rows, strict=True)
        if i is not None
    ]
    session.connection().execute(insert(TRACKS), params)
    return ids


def store_batch(session: Session, rows: Sequence[TrackRow]) -> list[int | None]:
    """Store the rows, skipping those whose key is stored already; one audit entry for what
    was stored. Call it in a write unit of work. Returns, in the order of the rows, each row's
    id, or None for a row skipped."""
    if not rows:
        return []
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        ids = _store_postgresql(session, rows, now)
    else:
        ids = _store_sqlite(session, rows, now)
    stored = [(i, r) for i, r in zip(ids, rows, strict=True) if i is not None]
    if stored:
        doc = {
            "batch": True,
            "count": len(stored),
            "first_id": stored[0][0],
            "last_id": stored[-1][0],
            "sha256": batch_digest([i for i, _ in stored], [r for _, r in stored]),
        }
        span = f"{stored[0][0]}-{stored[-1][0]}"
        record_entries(session, [("create", Track.__tablename__, span, doc)])
    return ids


class Neighbour(NamedTuple):
    """A unit's stored position just before or just after a batch (`neighbours`)."""

    uid: str
    lon: float
    lat: float
    time: dt.datetime


def neighbours(
    session: Session, spans: dict[str, tuple[dt.datetime, dt.datetime]]
) -> tuple[dict[str, Neighbour], dict[str, Neighbour]]:
    """For each uid and (first, last) time of its positions in a batch: its latest stored
    position before `first`, and its earliest stored position after `last` (a batch stored out
    of order has one). Two indexed lookups per uid, 100 uids to a statement."""
    before: dict[str, Neighbour] = {}
    after: dict[str, Neighbour] = {}
    cols = (Track.uid, Track.min_x, Track.min_y, Track.time)
    items = list(spans.items())
    for i in range(0, len(items), 100):
        parts = []
        for uid, (first, last) in items[i : i + 100]:
            earlier = select(*cols, literal(0).label("side")).where(
                Track.uid == uid, Track.time < first
            )
            later = select(*cols, literal(1).label("side")).where(
                Track.uid == uid, Track.time > last
            )
            parts.append(earlier.order_by(Track.time.desc(), Track.id.desc()).limit(1).subquery())
            parts.append(later.order_by(Track.time, Track.id).limit(1).subquery())
        stmt = union_all(*(select(*part.c) for part in parts))
        for uid, lon, lat, time, side in session.execute(stmt):
            (after if side else before)[uid] = Neighbour(uid, lon, lat, time)
    return before, after


def verify_batch(session: Session, first_id: int, last_id: int, sha256: str) -> bool:
    """Do the rows first_id..last_id still hold what the batch's audit entry recorded?"""
    stmt = select(Track).where(Track.id.between(first_id, last_id)).order_by(Track.id)
    tracks = list(session.scalars(stmt))
    return batch_digest([t.id for t in tracks], tracks) == sha256


def _latest_ids(
    viewer: Viewer, at: dt.datetime | None, uids: Sequence[str] | None
) -> Select[tuple[int]]:
    """The id of each uid's newest visible position at or before `at` (ties: the last stored)."""
    rank = (
        func.row_number()
        .over(partition_by=Track.uid, order_by=(Track.time.desc(), Track.id.desc()))
        .label("rank")
    )
    inner = select(Track.id, rank).where(release_filter(Track, viewer))
    if at is not None:
        inner = inner.where(Track.time <= at)
    if uids is not None:
        inner = inner.where(Track.uid.in_(list(uids)))
    sub = inner.subquery()
    return select(sub.c.id).where(sub.c.rank == 1)


def latest_statement(
    session: Session,
    viewer: Viewer,
    *,
    at: dt.datetime | None = None,
    since: dt.datetime | None = None,
    bbox: BBox | None = None,
    uids: Sequence[str] | None = None,
) -> Select[Track]:
    """The latest position per uid that `viewer` may see, at or before `at` (default: all),
    not older than `since`, inside `bbox`."""
    stmt = visible(Track, viewer, Track.id.in_(_latest_ids(viewer, at, uids)))
    if bbox is not None:
        back = backend_for(session.get_bind())
        stmt = stmt.where(back.bbox_time_filter(Track, bbox, Track.time, since, None))
    elif since is not None:
        stmt = stmt.where(Track.time >= since)
    return stmt


def latest(
    session: Session,
    viewer: Viewer,
    *,
    at: dt.datetime | None = None,
    uids: Sequence[str] | None = None,
) -> list[Track]:
    stmt = latest_statement(session, viewer, at=at, uids=uids)
    return list(session.scalars(stmt.order_by(Track.uid)))


def positions(
    session: Session,
    viewer: Viewer,
    uid: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[Track]:
    """The positions of a uid the viewer may see in [start, end], oldest first."""
    stmt = visible(Track, viewer, Track.uid == uid)
    if start is not None:
        stmt = stmt.where(Track.time >= start)
    if end is not None:
        stmt = stmt.where(Track.time <= end)
    return list(session.scalars(stmt.order_by(Track.time, Track.id)))
