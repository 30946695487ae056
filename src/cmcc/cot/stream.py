"""Positions and spot markers on their way to the database: the `Fix`, its wire format on the
JetStream stream, and the names of the stream, its subjects and its consumer. Pure: no I/O.

A `Fix` is what the bridge stores of a report (`cmcc.cot.bridge`): the gateway makes one per
friendly position or spot marker, attributed to the device its connection was identified as.
In one process the fixes go straight to the bridge. With NATS (`CMCC_NATS_URL`) the gateway
publishes them (`cmcc.cot.publisher`) and the `cmcc worker` processes store them
(`cmcc.cot.worker`).

On the wire, a message is one fix per line, each line the orjson array of the fix's fields
(times as RFC 3339 text); orjson never writes a raw newline inside a value, so a line is a
fix. The worker derives each fix's idempotent key (`event_key`) from its line: 6 bytes of
the event's time in milliseconds, then 10 bytes of BLAKE2b over the line's bytes, as 32 hex
digits (a `uuid` on PostgreSQL). The same report, published twice or delivered twice, has the
same key and is stored once; the time prefix keeps the unique index growing at its end, as the
tracks do; two different reports share a key only if they fall in the same millisecond and
their 80-bit digests collide."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import orjson

from cmcc.cot.event import UNKNOWN, Report

MESSAGE_BYTES = 256 * 1024  # a message of the stream stays under this (NATS allows 1 MiB)
SPOT_MARKER = "b-m-p-s-m"
_TRACK = re.compile(r"<track\b([^>]*)>")
_ATTR = re.compile(r'\b(speed|course)\s*=\s*["\']([^"\']*)["\']')
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_FIELDS = 13  # on the wire: every field of Fix but the key


class StreamError(ValueError):
    """A message of the stream that is not a list of fixes; the message says which line."""


class Fix(NamedTuple):
    """A friendly position or a spot marker to store, as the device `device_uid` sent it
    (None: an unregistered or anonymous sender); `own`: its own position, not a marker it
    placed. `key`: the idempotent key, None for fixes that did not come through the stream."""

    device_uid: str | None
    own: bool
    uid: str
    type: str
    time: dt.datetime
    stale: dt.datetime
    lon: float
    lat: float
    hae: float | None
    callsign: str | None
    speed: float | None
    course: float | None
    remarks: str | None
    key: str | None = None

    @property
    def is_spot_marker(self) -> bool:
        return self.type.startswith(SPOT_MARKER)


@dataclass(frozen=True)
class Names:
    """The JetStream names of one platform (`CMCC_NATS_NAMESPACE`)."""

    stream: str
    subjects: str  # what the stream holds
    consumer: str  # the durable consumer every worker shares

    @classmethod
    def of(cls, namespace: str) -> Names:
        return cls(f"{namespace}_POSITIONS", f"{namespace}.positions.>", f"{namespace}_workers")

    def subject(self, gateway: str) -> str:
        """The subject one gateway publishes on."""
        return f"{self.subjects[:-1]}{gateway}"


def track_values(detail_xml: str) -> tuple[float | None, float | None]:
    """speed (m/s) and course (degrees) of a `<track>` detail element, when present."""
    found = _TRACK.search(detail_xml) if "<track" in detail_xml else None
    if found is None:
        return None, None
    values: dict[str, float | None] = {"speed": None, "course": None}
    for name, text in _ATTR.findall(found.group(1)):
        try:
            number = float(text)
        except ValueError:
            continue
        values[name] = number if number - number == 0 else None  # finite
    return values["speed"], values["course"]


def fix_of(report: Report) -> Fix | None:
    """The fix of a report the platform stores (a friendly position or a spot marker); None
    for any other event."""
    ev = report.event
    spot = ev.is_spot_marker
    if not spot and not ev.is_friendly_position:
        return None
    speed, course = (None, None) if spot else track_values(ev.detail_xml)
    hae = ev.hae
    return Fix(
        report.device_uid,
        report.own,
        ev.uid,
        ev.type,
        ev.time,
        ev.stale,
        ev.lon,
        ev.lat,
        None if hae == UNKNOWN or hae - hae != 0 else hae,
        ev.callsign,
        speed,
        course,
        ev.remarks if spot else None,
    )


def fixes_of(reports: Iterable[Report]) -> list[Fix]:
    return [f for r in reports if (f := fix_of(r)) is not None]


def encode(fixes: Sequence[Fix], limit: int = MESSAGE_BYTES) -> list[tuple[bytes, int]]:
    """The messages for the fixes, each under `limit` bytes, with the number of fixes in each.
    A fix alone over the limit is dropped (an event is at most CMCC_COT_MAX_EVENT_BYTES)."""
    messages: list[tuple[bytes, int]] = []
    lines: list[bytes] = []
    size = 0
    dumps, naive_utc = orjson.dumps, orjson.OPT_NAIVE_UTC
    for fix in fixes:
        line = dumps(fix[:_FIELDS], option=naive_utc)
        if len(line) >= limit:
            continue
        if size + len(line) + 1 > limit:
            messages.append((b"\n".join(lines), len(lines)))
            lines, size = [], 0
        lines.append(line)
        size += len(line) + 1
    if lines:
        messages.append((b"\n".join(lines), len(lines)))
    return messages


def event_key(line: bytes, time: dt.datetime) -> str:
    """The idempotent key of a fix from its line on the wire (see the module's description)."""
    ms = ((time - _EPOCH) // _MS) & 0xFFFF_FFFF_FFFF
    return ms.to_bytes(6, "big").hex() + hashlib.blake2b(line, digest_size=10).hexdigest()


def decode(data: bytes) -> list[Fix]:
    """The fixes of a message, each with its key; StreamError names the first bad line."""
    fixes: list[Fix] = []
    parse = dt.datetime.fromisoformat
    for n, line in enumerate(data.split(b"\n"), 1):
        try:
            v = orjson.loads(line)
            if not isinstance(v, list) or len(v) != _FIELDS:
                raise StreamError(f"expected an array of {_FIELDS} fields")
            time, stale = parse(v[4]), parse(v[5])
            if time.tzinfo is None or stale.tzinfo is None:
                raise StreamError("a time without its UTC offset")
            fixes.append(
                Fix(
                    v[0],
                    v[1],
                    v[2],
                    v[3],
                    time,
                    stale,
                    v[6],
                    v[7],
                    v[8],
                    v[9],
                    v[10],
                    v[11],
                    v[12],
                    event_key(line, time),
                )
            )
        except (orjson.JSONDecodeError, StreamError, TypeError, ValueError) as exc:
            raise StreamError(f"line {n} of the message: {exc}") from None
    return fixes
