"""One Cursor-on-Target event as the gateway sees it. Pure: no I/O, no framework.

The gateway forwards what it received unchanged (`raw`, in the sender's encoding), so unknown
detail elements pass through; it reads only the fields it routes and stores by."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

UNKNOWN = 9999999.0  # hae, ce, le when unknown


class Encoding(StrEnum):
    XML = "xml"
    PROTO = "proto"  # TAK Protocol v1, stream framing (0xBF, varint length, TakMessage)


@dataclass(frozen=True)
class CotEvent:
    uid: str
    type: str
    how: str
    time: dt.datetime
    start: dt.datetime
    stale: dt.datetime
    lat: float
    lon: float
    hae: float = UNKNOWN
    ce: float = UNKNOWN
    le: float = UNKNOWN
    callsign: str | None = None
    group: str | None = None  # __group name (team colour)
    remarks: str | None = None
    dest_callsigns: tuple[str, ...] = ()  # marti/dest callsign=...: directed routing
    link_uids: tuple[str, ...] = ()  # <link uid=...>: the uid a t-x-d-d deletes
    detail_xml: str = ""  # the whole <detail>...</detail> element as received (XML text)
    raw: bytes = b""  # the event exactly as received, without framing
    encoding: Encoding = Encoding.XML
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_ping(self) -> bool:
        return self.type == "t-x-c-t"

    @property
    def is_delete(self) -> bool:
        return self.type == "t-x-d-d"

    @property
    def is_position(self) -> bool:
        """A thing (atom `a`) with a place: a unit, a vehicle, a person's device."""
        return self.type.startswith("a-") and not (self.lat == 0.0 and self.lon == 0.0)

    @property
    def affiliation(self) -> str | None:
        """The second atom of an `a-` type: f friend, h hostile, n neutral, u unknown..."""
        parts = self.type.split("-")
        return parts[1] if len(parts) > 1 and parts[0] == "a" else None

    @property
    def is_friendly_position(self) -> bool:
        return self.is_position and self.affiliation in ("f", "a")

    @property
    def is_spot_marker(self) -> bool:
        return self.type.startswith("b-m-p-s-m")

    def stale_at(self, now: dt.datetime) -> bool:
        return self.stale <= now


class CotError(ValueError):
    """Input that is not a CoT event the gateway accepts; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Report:
    """An event on its way to the platform, with the device it is attributed to: the
    registered device its connection was identified as (never whatever uid the event claims),
    or None for an unregistered or anonymous sender. `own`: the device's own position (its
    uid), not a marker it placed."""

    event: CotEvent
    device_uid: str | None
    own: bool = True

    @classmethod
    def from_device(cls, event: CotEvent) -> Report:
        """As sent by the device whose uid the event carries, on its own connection."""
        return cls(event, event.uid, True)


@dataclass(frozen=True)
class Registry:
    """The registered devices' uids, and their callsigns (callsign -> uid)."""

    uids: frozenset[str] = frozenset()
    callsigns: dict[str, str] = field(default_factory=dict)

    def device_of(self, ev: CotEvent) -> str | None:
        """The registered device an event names, by its uid or else its callsign."""
        if ev.uid in self.uids:
            return ev.uid
        return self.callsigns.get(ev.callsign) if ev.callsign else None

    def claims_other(self, ev: CotEvent, device_uid: str | None) -> bool:
        """Whether the event speaks for a registered device other than `device_uid`: by its
        uid, its callsign, or (a delete) the uid it deletes."""
        named = {self.device_of(ev)} | {u for u in ev.link_uids if u in self.uids and ev.is_delete}
        named.discard(None)
        return bool(named - {device_uid})
