"""CoT XML and TAK Protocol v1 (protobuf) to and from `CotEvent`. Pure: no I/O.

XML is parsed with lxml, entities, DTDs and network access off; a document with a DOCTYPE
is refused outright (XXE, billion laughs). The protobuf side uses only `TakMessage` from
`takproto`: its `xml2message` parses with ElementTree and is never given untrusted input."""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import NamedTuple

from lxml import etree
from takproto.proto import TakMessage  # type: ignore[import-untyped]

from cmcc.cot.event import UNKNOWN, CotError, CotEvent, Encoding

_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_DOCTYPE = b"<!DOCTYPE"
_PROTO_UID = "protouid"
MESH_HEADER = b"\xbf\x01\xbf"  # UDP: TAK Protocol v1 mesh header
# Detail children TAK Protocol v1 types strongly, with the attributes each can carry.
_TYPED: dict[str, tuple[str, ...]] = {
    "contact": ("endpoint", "callsign"),
    "__group": ("name", "role"),
    "precisionlocation": ("geopointsrc", "altsrc"),
    "status": ("battery",),
    "takv": ("device", "platform", "os", "version"),
    "track": ("speed", "course"),
}
_ESCAPED = re.compile('[&<>"\n\r\t]')  # what an attribute value cannot hold as it is
_local = threading.local()  # lxml parsers are not thread-safe: one per thread


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            dtd_validation=False,
            remove_comments=False,
            encoding="utf-8",  # what the gateway forwards is UTF-8: no other encoding is read
        )
        _local.parser = parser
    return parser


def _safe_parse(data: bytes, what: str) -> etree._Element:
    if _DOCTYPE in data:
        raise CotError(f"{what}: DOCTYPE not allowed")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise CotError(f"not XML: {exc}") from None
    if getattr(root.getroottree().docinfo, "doctype", ""):  # e.g. hidden by UTF-16
        raise CotError(f"{what}: DOCTYPE not allowed")
    return root


def strip_xml(data: bytes) -> bytes:
    """The event bytes without surrounding whitespace and without an XML declaration."""
    raw = data.strip()
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark
        raw = raw[3:].lstrip()
    if raw.startswith(b"<?xml"):
        end = raw.find(b"?>")
        if end < 0:
            raise CotError("not XML: unterminated XML declaration")
        raw = raw[end + 2 :].lstrip()
    return raw


# ---- times and numbers ------------------------------------------------------------------


def parse_time(value: str | None, name: str) -> dt.datetime:
    if not value:
        raise CotError(f"event: missing {name}")
    if "T" not in value:
        raise CotError(f"event: {name} {value!r} is not an ISO-8601 date and time")
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CotError(f"event: {name} {value!r} is not an ISO-8601 date and time") from None
    return t.replace(tzinfo=_UTC) if t.tzinfo is None else t.astimezone(_UTC)


def format_time(t: dt.datetime) -> str:
    """`2025-10-10T09:00:00.000Z`: UTC, milliseconds, `Z`."""
    t = t.replace(tzinfo=_UTC) if t.tzinfo is None else t.astimezone(_UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _ms(t: dt.datetime) -> int:
    t = t.replace(tzinfo=_UTC) if t.tzinfo is None else t
    return (t - _EPOCH) // dt.timedelta(milliseconds=1)


def _from_ms(ms: int, name: str) -> dt.datetime:
    if not ms:
        raise CotError(f"cotEvent: missing {name}")
    try:
        return _EPOCH + dt.timedelta(milliseconds=ms)
    except OverflowError:
        raise CotError(f"cotEvent: {name} {ms} out of range") from None


def _number(value: str | None, what: str, default: float | None = None) -> float:
    if value is None or value == "":
        if default is None:
            raise CotError(f"{what} missing")
        return default
    try:
        x = float(value)
    except ValueError:
        raise CotError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise CotError(f"{what} {value!r} is not a number")
    return x


def _check_latlon(lat: float, lon: float, where: str) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise CotError(f"{where}: lat {lat} out of range")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise CotError(f"{where}: lon {lon} out of range")


def _attr(value: object) -> str:
    """An XML attribute value, double-quoted."""
    s = str(value)
    if _ESCAPED.search(s):
        s = (
            s.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
            .replace("\n", "&#10;")
            .replace("\r", "&#13;")
            .replace("\t", "&#9;")
        )
    return f'"{s}"'


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---- XML --------------------------------------------------------------------------------


Attribute = Callable[[str], str | None]  # an element's attribute by name (None: absent)


class DetailFields(NamedTuple):
    callsign: str | None = None
    group: str | None = None
    remarks: str | None = None
    dests: tuple[str, ...] = ()
    links: tuple[str, ...] = ()  # <link uid=...>: what a t-x-d-d deletes, a drawing's parts


def _detail_fields(detail: etree._Element | None) -> DetailFields:
    """The fields the gateway routes by, from a <detail> element, in one pass."""
    callsign = group = remarks = None
    dests: list[str] = []
    links: list[str] = []
    if detail is None:
        return DetailFields()
    seen_contact = seen_group = False
    for el in detail:
        tag = el.tag
        if tag == "contact" and not seen_contact:
            seen_contact, callsign = True, el.get("callsign")
        elif tag == "__group" and not seen_group:
            seen_group, group = True, el.get("name")
        elif tag == "remarks" and remarks is None:
            remarks = "".join(str(t) for t in el.itertext())
        elif tag == "marti":
            dests += [c for d in el if d.tag == "dest" and (c := d.get("callsign")) is not None]
        elif tag == "link" and (uid := el.get("uid")) is not None:
            links.append(uid)
    return DetailFields(callsign, group, remarks, tuple(dests), tuple(links))


def parse_xml(data: bytes) -> CotEvent:
    """One CoT `<event>`; CotError naming what is wrong otherwise."""
    raw = strip_xml(data)
    if not raw:
        raise CotError("not XML: empty")
    root = _safe_parse(raw, "event")
    if root.tag != "event":
        raise CotError(f"not an event: root element is <{root.tag}>")
    point = detail = None
    for child in root:  # one pass: cheaper than two find() calls
        if child.tag == "point" and point is None:
            point = child
        elif child.tag == "detail" and detail is None:
            detail = child
    return xml_event(
        root.get,
        point.get if point is not None else None,
        _detail_fields(detail),
        etree.tostring(detail, encoding="unicode", with_tail=False) if detail is not None else "",
        raw,
    )


def xml_event(
    event: Attribute,
    point: Attribute | None,
    fields: DetailFields,
    detail_xml: str,
    raw: bytes,
) -> CotEvent:
    """The event an XML document makes, from what was read of it: the attributes of its
    `<event>` and of its first `<point>` (None: it has none), the fields of its first
    `<detail>` and that element's XML. Every check of an XML event is made here, so that
    whatever reads the document (lxml, or the fast path) accepts and refuses the same."""
    uid, type_ = event("uid"), event("type")
    if not uid:
        raise CotError("event: missing uid")
    if not type_:
        raise CotError("event: missing type")
    time = parse_time(event("time"), "time")
    start = parse_time(event("start"), "start")
    stale = parse_time(event("stale"), "stale")
    if point is None:
        raise CotError("event: missing point")
    lat = _number(point("lat"), "point: lat")
    lon = _number(point("lon"), "point: lon")
    _check_latlon(lat, lon, "point")
    return CotEvent(
        uid=uid,
        type=type_,
        how=event("how") or "",
        time=time,
        start=start,
        stale=stale,
        lat=lat,
        lon=lon,
        hae=_number(point("hae"), "point: hae", UNKNOWN),
        ce=_number(point("ce"), "point: ce", UNKNOWN),
        le=_number(point("le"), "point: le", UNKNOWN),
        callsign=fields.callsign,
        group=fields.group,
        remarks=fields.remarks,
        dest_callsigns=fields.dests,
        link_uids=fields.links,
        detail_xml=detail_xml,
        raw=raw,
        encoding=Encoding.XML,
        extra={k: v for k in ("access", "qos", "opex") if (v := event(k))},
    )


def to_xml(ev: CotEvent) -> bytes:
    """The XML of an event: times in UTC with milliseconds and `Z`, detail_xml verbatim."""
    extra = "".join(f" {k}={_attr(v)}" for k in ("access", "qos", "opex") if (v := ev.extra.get(k)))
    return (
        f'<event version="2.0" uid={_attr(ev.uid)} type={_attr(ev.type)} how={_attr(ev.how)}'
        f' time="{format_time(ev.time)}" start="{format_time(ev.start)}"'
        f' stale="{format_time(ev.stale)}"{extra}>'
        f'<point lat="{ev.lat!r}" lon="{ev.lon!r}" hae="{ev.hae!r}" ce="{ev.ce!r}"'
        f' le="{ev.le!r}"/>{ev.detail_xml or "<detail/>"}</event>'
    ).encode()


def make_event(
    uid: str,
    type: str,
    lat: float,
    lon: float,
    *,
    now: dt.datetime,
    stale_seconds: float,
    how: str = "h-g-i-g-o",
    callsign: str | None = None,
    remarks: str | None = None,
    detail_children: str = "",
) -> CotEvent:
    """An event built by the platform; raw is its XML, checked by parsing it back."""
    now = now.replace(tzinfo=_UTC) if now.tzinfo is None else now.astimezone(_UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    children = ""
    if callsign is not None:
        children += f"<contact callsign={_attr(callsign)}/>"
    if remarks is not None:
        children += f"<remarks>{_text(remarks)}</remarks>"
    children += detail_children
    draft = CotEvent(
        uid=uid,
        type=type,
        how=how,
        time=now,
        start=now,
        stale=now + dt.timedelta(seconds=stale_seconds),
        lat=float(lat),
        lon=float(lon),
        detail_xml=f"<detail>{children}</detail>" if children else "<detail/>",
    )
    return parse_xml(to_xml(draft))


def retyped(ev: CotEvent, type_: str) -> CotEvent:
    """The same event with another type (a linked device's position with its unit's type),
    its detail unchanged; re-encoded as XML (converted for protobuf clients on sending)."""
    draft = replace(ev, type=type_, raw=b"", encoding=Encoding.XML)
    return replace(draft, raw=to_xml(draft))


# ---- TAK Protocol v1 --------------------------------------------------------------------


def _typed_children(d: object) -> Iterator[str]:
    """The strongly typed detail fields of a TakMessage as XML elements."""
    has = d.HasField  # type: ignore[attr-defined]
    for tag, field in (
        ("contact", "contact"),
        ("__group", "group"),
        ("track", "track"),
        ("takv", "takv"),
        ("status", "status"),
        ("precisionlocation", "precisionLocation"),
    ):
        if not has(field):
            continue
        msg = getattr(d, field)
        attrs = ""
        for name in _TYPED[tag]:
            value = getattr(msg, name)
            if tag in ("track", "status") or value:
                attrs += f" {name}={_attr(repr(value) if tag == 'track' else value)}"
        yield f"<{tag}{attrs}/>"


def xml_detail_fields(xml_detail: str) -> DetailFields:
    """The fields of a TakMessage's xmlDetail (the detail elements it does not type)."""
    return _detail_fields(_safe_parse(f"<detail>{xml_detail}</detail>".encode(), "xmlDetail"))


def parse_proto(
    payload: bytes, read_detail: Callable[[str], DetailFields] = xml_detail_fields
) -> CotEvent:
    """One TakMessage (no framing); times are milliseconds since the epoch. `read_detail`
    reads the fields of its xmlDetail (CotError when it is not XML)."""
    msg = TakMessage()
    try:
        msg.ParseFromString(payload)
    except Exception as exc:  # protobuf's DecodeError, and anything else garbage causes
        raise CotError(f"not a TakMessage: {exc}") from None
    if not msg.HasField("cotEvent"):
        raise CotError("TakMessage: missing cotEvent")
    c = msg.cotEvent
    if not c.uid:
        raise CotError("cotEvent: missing uid")
    if not c.type:
        raise CotError("cotEvent: missing type")
    _check_latlon(c.lat, c.lon, "cotEvent")
    detail_xml = ""
    callsign = group = None
    fields = DetailFields()
    if c.HasField("detail"):
        d = c.detail
        typed = "".join(_typed_children(d))
        if d.HasField("contact") and d.contact.callsign:
            callsign = d.contact.callsign
        if d.HasField("group") and d.group.name:
            group = d.group.name
        if d.xmlDetail:
            fields = read_detail(d.xmlDetail)
        detail_xml = f"<detail>{typed}{d.xmlDetail}</detail>"
    return CotEvent(
        uid=c.uid,
        type=c.type,
        how=c.how,
        time=_from_ms(c.sendTime, "sendTime"),
        start=_from_ms(c.startTime, "startTime"),
        stale=_from_ms(c.staleTime, "staleTime"),
        lat=c.lat,
        lon=c.lon,
        hae=c.hae if math.isfinite(c.hae) else UNKNOWN,
        ce=c.ce if math.isfinite(c.ce) else UNKNOWN,
        le=c.le if math.isfinite(c.le) else UNKNOWN,
        callsign=callsign,
        group=group,
        remarks=fields.remarks,
        dest_callsigns=fields.dests,
        link_uids=fields.links,
        detail_xml=detail_xml,
        raw=bytes(payload),
        encoding=Encoding.PROTO,
        extra={k: v for k in ("access", "qos", "opex") if (v := getattr(c, k))},
    )


def _set_typed(detail: object, el: etree._Element) -> bool:
    """Put `el` into its strongly typed field when that loses nothing; False otherwise."""
    tag = str(el.tag)
    allowed = _TYPED.get(tag)
    if allowed is None or len(el) or (el.text and el.text.strip()):
        return False
    if any(k not in allowed for k in el.attrib):
        return False
    field = (
        "group" if tag == "__group" else "precisionLocation" if tag == "precisionlocation" else tag
    )
    if detail.HasField(field):  # type: ignore[attr-defined]
        return False  # a second one goes to xmlDetail unchanged
    target = getattr(detail, field)
    values: dict[str, object] = {}
    try:
        for key, v in el.attrib.items():
            text = str(v)
            values[str(key)] = (
                float(text) if tag == "track" else int(text) if tag == "status" else text
            )
    except ValueError:
        return False
    if any(isinstance(x, int) and not 0 <= x < 2**32 for x in values.values()):
        return False  # battery is a uint32
    target.SetInParent()
    for name, value in values.items():
        setattr(target, name, value)
    return True


def to_proto(ev: CotEvent) -> bytes:
    """TakMessage bytes (no framing); the event's own bytes when it arrived as protobuf."""
    if ev.encoding == Encoding.PROTO:
        return ev.raw
    msg = TakMessage()
    c = msg.cotEvent
    c.type, c.uid, c.how = ev.type, ev.uid, ev.how
    for k in ("access", "qos", "opex"):
        if v := ev.extra.get(k):
            setattr(c, k, v)
    c.sendTime, c.startTime, c.staleTime = _ms(ev.time), _ms(ev.start), _ms(ev.stale)
    c.lat, c.lon, c.hae, c.ce, c.le = ev.lat, ev.lon, ev.hae, ev.ce, ev.le
    if ev.detail_xml:
        detail = _safe_parse(ev.detail_xml.encode(), "detail")
        d = c.detail
        d.SetInParent()
        other = [
            etree.tostring(el, encoding="unicode", with_tail=False)
            for el in detail
            if not isinstance(el.tag, str) or not _set_typed(d, el)
        ]
        if other:
            d.xmlDetail = "".join(other)
    data: bytes = msg.SerializeToString()
    return data


def encode(ev: CotEvent, encoding: Encoding) -> bytes:
    """The event's bytes (no framing) in `encoding`: as received, or converted."""
    if ev.encoding == encoding:
        return ev.raw
    return to_proto(ev) if encoding == Encoding.PROTO else to_xml(ev)


# ---- control events ---------------------------------------------------------------------


def _control(type_: str, uid: str, now: dt.datetime | None, detail: str, stale_s: int) -> bytes:
    t = now or dt.datetime.now(_UTC)
    return to_xml(
        CotEvent(
            uid=uid,
            type=type_,
            how="m-g",
            time=t,
            start=t,
            stale=t + dt.timedelta(seconds=stale_s),
            lat=0.0,
            lon=0.0,
            detail_xml=detail,
        )
    )


def pong(now: dt.datetime) -> bytes:
    """The answer to a `t-x-c-t` ping."""
    return _control("t-x-c-t-r", "takPong", now, "<detail/>", 20)


def protocol_support(*, now: dt.datetime | None = None, uid: str = _PROTO_UID) -> bytes:
    """Server announcement that TAK Protocol v1 is available (`t-x-takp-v`)."""
    detail = '<detail><TakControl><TakProtocolSupport version="1"/></TakControl></detail>'
    return _control("t-x-takp-v", uid, now, detail, 60)


def protocol_response(ok: bool, *, now: dt.datetime | None = None, uid: str = _PROTO_UID) -> bytes:
    """Server answer to a `t-x-takp-q` request (`t-x-takp-r`); reuse the request's uid."""
    status = "true" if ok else "false"
    detail = f'<detail><TakControl><TakResponse status="{status}"/></TakControl></detail>'
    return _control("t-x-takp-r", uid, now, detail, 60)


def requested_protocol(ev: CotEvent) -> int | None:
    """The version a `t-x-takp-q` asks for; None for other events or an unreadable one."""
    if ev.type != "t-x-takp-q" or not ev.detail_xml:
        return None
    try:
        detail = _safe_parse(ev.detail_xml.encode(), "detail")
    except CotError:
        return None
    req = detail.find("TakControl/TakRequest")
    version = req.get("version") if req is not None else None
    try:
        return int(version) if version is not None else None
    except ValueError:
        return None


def decode_datagram(data: bytes) -> CotEvent:
    """One UDP datagram: mesh `BF 01 BF` + TakMessage, or one XML event."""
    if data[:1] == b"\xbf":
        if data[:3] != MESH_HEADER:
            raise CotError("datagram: not a TAK Protocol v1 mesh header (BF 01 BF)")
        return parse_proto(data[3:])
    return parse_xml(data)
