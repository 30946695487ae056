"""Tracks: one row per position report of a TAK device, stored in batches.

`store_batch` writes a whole batch with one INSERT (SQLAlchemy Core, a list of parameter sets,
ids returned) and appends ONE audit entry for it instead of one per row: the entry names the
table, the number of rows, the first and last id and a SHA-256 over the stored values
(`batch_digest`), so the batch stays in the hash chain and a changed or removed track row is
provable by recomputing the digest from the table (`verify_batch`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Select,
    String,
    Table,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from cmcc.access.policy import release_filter, visible
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

    @property
    def lon(self) -> float:
        return self.min_x

    @property
    def lat(self) -> float:
        return self.min_y


TRACKS: Table = Track.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class TrackRow:
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


def point_wkb(lon: float, lat: float) -> bytes:
    return _POINT.pack(1, 1, lon, lat)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is dt.UTC else moment.astimezone(dt.UTC)


def _digest_values(ident: int, r: Any) -> list[Any]:
    return [
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


def batch_digest(ids: Sequence[int], rows: Sequence[Any]) -> str:
    """SHA-256 over the stored values of a batch (TrackRow or Track objects, in id order;
    times as orjson writes aware UTC datetimes)."""
    body = orjson.dumps([_digest_values(i, r) for i, r in zip(ids, rows, strict=True)])
    return hashlib.sha256(body).hexdigest()


def _allocate_ids(session: Session, count: int) -> list[int]:
    """Ids for `count` new rows, known before the insert (so the INSERT needs no RETURNING,
    which SQLite would answer row by row). PostgreSQL: from the table's sequence. SQLite: after
    the largest id, which is safe because a write unit of work holds the database's write lock
    (BEGIN IMMEDIATE) from its start."""
    if session.get_bind().dialect.name == "postgresql":
        stmt = text(
            "SELECT nextval(pg_get_serial_sequence('tracks', 'id')) FROM generate_series(1, :n)"
        )
        return sorted(session.scalars(stmt, {"n": count}))
    last = session.scalar(select(func.max(Track.id))) or 0
    return list(range(last + 1, last + 1 + count))


def store_batch(session: Session, rows: Sequence[TrackRow]) -> list[int]:
    """Insert the rows with one executemany INSERT; one audit entry for the batch. Call it in a
    write unit of work. Returns the ids, in the order of the rows."""
    if not rows:
        return []
    now = utcnow()
    ids = _allocate_ids(session, len(rows))
    params = [
        {
            "id": i,
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
    ]
    session.connection().execute(insert(TRACKS), params)
    doc = {
        "batch": True,
        "count": len(ids),
        "first_id": ids[0],
        "last_id": ids[-1],
        "sha256": batch_digest(ids, rows),
    }
    record_entries(session, [("create", Track.__tablename__, f"{ids[0]}-{ids[-1]}", doc)])
    return ids


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
