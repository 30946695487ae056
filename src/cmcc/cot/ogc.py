"""The `tracks` collection of the OGC API - Features endpoint: the latest position of each TAK
device the caller may see (through the release policy).

`datetime` picks the moment: for an instant or an interval, each uid's latest position at or
before its end (an interval, not an instant, also leaves out uids not heard since its start).
Feature ids are the device uids."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cmcc.core.errors import NotFound
from cmcc.core.pagination import count_matches
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import Interval
from cmcc.cot.tracks import Track, latest_statement
from cmcc.cot.units import device_units, unit_symbols
from cmcc.interop.ogcapi.extent import spatial_extent
from cmcc.interop.ogcapi.provider import BBox, ItemPage, ItemQuery


class TrackCollection:
    id = "tracks"
    title = "Unit tracks"
    description = (
        "The latest reported position of each TAK device (ATAK, WinTAK, iTAK) of the "
        "contingents and liaison teams, with speed, course and the time of the report."
    )

    def extent(self, session: Session, viewer: Viewer) -> tuple[BBox | None, Interval | None]:
        return spatial_extent(session, Track, viewer, Track.time, Track.time)

    def query(self, session: Session, viewer: Viewer, q: ItemQuery) -> ItemPage:
        start, end = q.interval or (None, None)
        since = None if start == end else start  # an instant: the latest at or before it
        stmt = latest_statement(session, viewer, at=end, since=since, bbox=q.bbox)
        matched = count_matches(session, stmt)
        rows = list(session.scalars(stmt.order_by(Track.uid).offset(q.offset).limit(q.limit)))
        return ItemPage(with_units(session, viewer, rows), int(matched))

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        track = session.scalars(latest_statement(session, viewer, uids=[feature_id])).first()
        if track is None:
            raise NotFound(f"feature {feature_id!r} not found")
        return with_units(session, viewer, [track])[0]

    def queryables(self) -> dict[str, dict[str, Any]]:
        return {
            "uid": {"type": "string"},
            "callsign": {"type": "string"},
            "type": {"type": "string", "description": "CoT type, e.g. a-f-G-U-C"},
            "time": {"type": "string", "format": "date-time"},
            "stale": {"type": "string", "format": "date-time"},
            "hae": {"type": "number", "description": "height above ellipsoid, metres"},
            "speed": {"type": "number", "description": "metres per second"},
            "course": {"type": "number", "description": "degrees from true north"},
            "unit": {"type": "integer", "description": "the ORBAT unit (lineage) of the device"},
            "sidc": {"type": "string", "description": "the unit's symbol code (MIL-STD-2525C)"},
        }


def with_units(session: Session, viewer: Viewer, tracks: list[Track]) -> list[dict[str, Any]]:
    """The tracks as features; a device linked to a unit the viewer may see shows with the
    unit (lineage, name) and its SIDC."""
    linked = device_units(session, {t.uid for t in tracks})
    symbols = unit_symbols(session, set(linked.values()), viewer)
    out = []
    for track in tracks:
        f = feature(track)
        symbol = symbols.get(linked.get(track.uid, 0))
        if symbol is not None:
            f["properties"] |= {
                "unit": symbol.lineage,
                "unit_name": symbol.name,
                "sidc": symbol.sidc,
            }
        out.append(f)
    return out


def feature(track: Track) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": track.uid,
        "geometry": {"type": "Point", "coordinates": [track.lon, track.lat]},
        "properties": {
            "uid": track.uid,
            "callsign": track.callsign,
            "type": track.type,
            "time": track.time.isoformat(),
            "stale": track.stale.isoformat(),
            "hae": track.hae,
            "speed": track.speed,
            "course": track.course,
            "releasability": track.marking_text,
            "owner": track.owner_code,
        },
    }
