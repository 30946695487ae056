"""CoT codec: XML and TAK Protocol v1 to and from CotEvent, hostile XML, control events."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pytest
from takproto.proto import TakMessage

from cmcc.cot import codec
from cmcc.cot.event import UNKNOWN, CotError, Encoding

with warnings.catch_warnings():  # pytak warns about optional extras it does not need here
    warnings.simplefilter("ignore")
    import pytak
    import takproto

T0 = dt.datetime(2025, 10, 10, 9, 0, tzinfo=dt.UTC)

FULL = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<event version="2.0" uid="ANDROID-1" type="a-f-G-U-C" how="m-g" access="Unclassified"'
    b' time="2025-10-10T09:00:00.123Z" start="2025-10-10T09:00:00Z"'
    b' stale="2025-10-10T09:02:00.5+00:00">'
    b'<point lat="48.5" lon="-3.25" hae="12.5" ce="4.0" le="7.0"/>'
    b'<detail><contact endpoint="*:-1:stcp" callsign="ALPHA-1"/>'
    b'<__group name="Cyan" role="Team Member"/>'
    b'<takv device="Pixel" platform="ATAK-CIV" os="34" version="5.2"/>'
    b'<track speed="1.5" course="270.0"/><status battery="88"/>'
    b'<precisionlocation geopointsrc="GPS" altsrc="GPS"/>'
    b"<remarks>seq=7 sent=1.25</remarks>"
    b'<marti><dest callsign="BRAVO"/><dest callsign="CHARLIE"/></marti>'
    b'<uid Droid="ALPHA-1"/><custom a="1"><inner>x &amp; y</inner></custom>'
    b"</detail></event>\n"
)


# takproto's own converter reads only `Z` times
FULL_Z = FULL.replace(b"2025-10-10T09:02:00.5+00:00", b"2025-10-10T09:02:00.500Z")


def _event(attrs: str = "", point: str = 'lat="1" lon="2"', detail: str = "") -> bytes:
    base = {
        "uid": "u",
        "type": "a-f-G",
        "time": "2025-10-10T09:00:00Z",
        "start": "2025-10-10T09:00:00Z",
        "stale": "2025-10-10T09:05:00Z",
    }
    head = " ".join(f'{k}="{v}"' for k, v in base.items() if f"{k}=" not in attrs)
    return f"<event {head} {attrs}><point {point}/>{detail}</event>".encode()


# ---- XML parsing --------------------------------------------------------------------------


def test_parse_xml_reads_every_field() -> None:
    ev = codec.parse_xml(FULL)
    assert (ev.uid, ev.type, ev.how) == ("ANDROID-1", "a-f-G-U-C", "m-g")
    assert ev.time == T0 + dt.timedelta(milliseconds=123)
    assert ev.start == T0
    assert ev.stale == T0 + dt.timedelta(minutes=2, milliseconds=500)
    assert (ev.lat, ev.lon, ev.hae, ev.ce, ev.le) == (48.5, -3.25, 12.5, 4.0, 7.0)
    assert ev.callsign == "ALPHA-1"
    assert ev.group == "Cyan"
    assert ev.remarks == "seq=7 sent=1.25"
    assert ev.dest_callsigns == ("BRAVO", "CHARLIE")
    assert ev.detail_xml.startswith('<detail><contact endpoint="*:-1:stcp" callsign="ALPHA-1"/>')
    assert ev.detail_xml.endswith('<custom a="1"><inner>x &amp; y</inner></custom></detail>')
    assert ev.raw.startswith(b"<event ") and ev.raw.endswith(b"</event>")
    assert ev.encoding is Encoding.XML
    assert ev.extra == {"access": "Unclassified"}


def test_parse_xml_defaults_and_absent_detail() -> None:
    ev = codec.parse_xml(b"  \n" + _event() + b"\r\n")
    assert (ev.hae, ev.ce, ev.le) == (UNKNOWN, UNKNOWN, UNKNOWN)
    assert ev.detail_xml == ""
    assert (ev.callsign, ev.group, ev.remarks, ev.dest_callsigns) == (None, None, None, ())
    assert ev.raw == _event()
    assert ev.how == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-10T09:00:00Z", T0),
        ("2025-10-10T09:00:00.5Z", T0 + dt.timedelta(milliseconds=500)),
        ("2025-10-10T09:00:00.123Z", T0 + dt.timedelta(milliseconds=123)),
        ("2025-10-10T09:00:00.123456Z", T0 + dt.timedelta(microseconds=123456)),
        ("2025-10-10T09:00:00.1234567Z", T0 + dt.timedelta(microseconds=123456)),  # WinTAK
        ("2025-10-10T09:00:00+00:00", T0),
        ("2025-10-10T11:00:00+02:00", T0),
        ("2025-10-10T09:00:00", T0),  # no zone: taken as UTC
    ],
)
def test_times_with_and_without_fractions(text: str, expected: dt.datetime) -> None:
    ev = codec.parse_xml(_event(f'time="{text}"'))
    assert ev.time == expected
    assert ev.time.tzinfo is not None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_event('uid=""'), "event: missing uid"),
        (b'<event type="a" time="2025-10-10T09:00:00Z"><point lat="1" lon="2"/></event>', "uid"),
        (_event('type=""'), "event: missing type"),
        (_event('stale=""'), "event: missing stale"),
        (_event('start="yesterday"'), "event: start 'yesterday' is not an ISO-8601"),
        (_event('time="2025-10-10"'), "event: time"),
        (_event(point='lat="95.0" lon="2"'), "point: lat 95.0 out of range"),
        (_event(point='lat="1" lon="-180.5"'), "point: lon -180.5 out of range"),
        (_event(point='lat="nan" lon="2"'), "point: lat 'nan' is not a number"),
        (_event(point='lat="x" lon="2"'), "point: lat 'x' is not a number"),
        (_event(point='lon="2"'), "point: lat missing"),
        (_event(point='lat="1" lon="2" hae="high"'), "point: hae 'high' is not a number"),
        (
            b'<event uid="u" type="a" time="2025-10-10T09:00:00Z" start="2025-10-10T09:00:00Z"'
            b' stale="2025-10-10T09:00:00Z"/>',
            "event: missing point",
        ),
        (b"<foo/>", "not an event: root element is <foo>"),
        (b"", "not XML: empty"),
        (b"   ", "not XML: empty"),
        (b"\x00\xff\xfe garbage", "not XML"),
        (b"<event uid='u'", "not XML"),  # truncated
        (_event()[:-4], "not XML"),  # truncated
        (_event() + _event(), "not XML"),  # two events
        (b'<?xml version="1.0"', "not XML: unterminated XML declaration"),
    ],
)
def test_parse_xml_errors_name_the_problem(doc: bytes, message: str) -> None:
    with pytest.raises(CotError, match=message.replace("(", r"\(")):
        codec.parse_xml(doc)


def test_huge_document_is_an_error_not_a_hang() -> None:
    deep = b"<a>" * 100_000 + b"</a>" * 100_000
    with pytest.raises(CotError, match="not XML"):
        codec.parse_xml(_event(detail=f"<detail>{deep.decode()}</detail>"))
    big = _event(detail="<detail><remarks>" + "x" * 2_000_000 + "</remarks></detail>")
    assert codec.parse_xml(big).remarks == "x" * 2_000_000  # large but flat: fine


# ---- hostile XML ---------------------------------------------------------------------------


def test_xxe_is_refused_and_no_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
        '<event uid="u" type="a-f-G" time="2025-10-10T09:00:00Z" start="2025-10-10T09:00:00Z"'
        ' stale="2025-10-10T09:05:00Z"><point lat="1" lon="2"/>'
        "<detail><remarks>&e;</remarks></detail></event>"
    ).encode()
    with pytest.raises(CotError, match="DOCTYPE not allowed") as info:
        codec.parse_xml(doc)
    assert "TOP-SECRET" not in str(info.value)
    etc = doc.replace(f"file://{secret}".encode(), b"file:///etc/passwd")
    with pytest.raises(CotError, match="DOCTYPE"):
        codec.parse_xml(etc)


def test_billion_laughs_is_refused() -> None:
    ents = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    doc = (
        f"<!DOCTYPE lolz [{ents}]>"
        '<event uid="u" type="a" time="2025-10-10T09:00:00Z" start="2025-10-10T09:00:00Z"'
        ' stale="2025-10-10T09:05:00Z"><point lat="1" lon="2"/>'
        "<detail><remarks>&lol9;</remarks></detail></event>"
    ).encode()
    with pytest.raises(CotError, match="DOCTYPE"):
        codec.parse_xml(doc)


def test_external_dtd_is_refused() -> None:
    doc = b'<!DOCTYPE event SYSTEM "http://127.0.0.1:9/evil.dtd">' + _event()
    with pytest.raises(CotError, match="DOCTYPE"):
        codec.parse_xml(doc)


def test_doctype_hidden_by_utf16_is_refused() -> None:
    doc = ('<!DOCTYPE x [<!ENTITY e "boom">]>' + _event().decode()).encode("utf-16")
    with pytest.raises(CotError):
        codec.parse_xml(doc)


def test_only_utf8_is_read() -> None:
    with pytest.raises(CotError, match="not XML"):
        codec.parse_xml(_event().decode().encode("utf-16"))
    assert codec.parse_xml(b"\xef\xbb\xbf" + _event()).raw == _event()
    latin = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + _event(detail="<detail/>")
    assert codec.parse_xml(latin).raw == _event(detail="<detail/>")
    accented = _event(detail="<detail><remarks>caf\u00e9</remarks></detail>")
    assert codec.parse_xml(accented).remarks == "caf\u00e9"


def test_undeclared_entity_is_an_error() -> None:
    with pytest.raises(CotError, match="not XML"):
        codec.parse_xml(_event(detail="<detail><remarks>&e;</remarks></detail>"))


# ---- building XML --------------------------------------------------------------------------


def test_make_event_round_trips_through_parse_xml() -> None:
    now = T0 + dt.timedelta(microseconds=123_456)
    ev = codec.make_event(
        "zone-1",
        "u-d-f",
        10,
        20.5,
        now=now,
        stale_seconds=300,
        callsign='Zone "A" & <B>',
        remarks="keep out < 5 km",
        detail_children='<link uid="x" relation="p-p"/>',
    )
    assert ev.time == ev.start == T0 + dt.timedelta(milliseconds=123)
    assert ev.stale == ev.time + dt.timedelta(seconds=300)
    assert ev.how == "h-g-i-g-o"
    assert (ev.lat, ev.lon) == (10.0, 20.5)
    assert ev.callsign == 'Zone "A" & <B>'
    assert ev.remarks == "keep out < 5 km"
    assert ev.raw == codec.to_xml(ev)
    assert b'time="2025-10-10T09:00:00.123Z"' in ev.raw
    assert '<link uid="x" relation="p-p"/>' in ev.detail_xml
    assert ev.link_uids == ("x",)
    assert codec.parse_proto(codec.to_proto(ev)).link_uids == ("x",)  # from xmlDetail
    assert codec.parse_xml(ev.raw) == ev


def test_make_event_without_detail_children_and_bad_children() -> None:
    ev = codec.make_event("u", "b-m-p-s-m", 1.0, 2.0, now=T0, stale_seconds=60)
    assert ev.detail_xml == "<detail/>"
    assert b"<detail/>" in ev.raw
    with pytest.raises(CotError):
        codec.make_event("u", "a", 1.0, 2.0, now=T0, stale_seconds=60, detail_children="<x>")


def test_to_xml_inserts_detail_verbatim() -> None:
    ev = codec.parse_xml(FULL)
    out = codec.to_xml(ev)
    assert ev.detail_xml.encode() in out
    assert b'access="Unclassified"' in out
    again = codec.parse_xml(out)
    assert again == ev.__class__(**{**ev.__dict__, "raw": out})


# ---- TAK Protocol v1 -----------------------------------------------------------------------


def test_to_proto_types_known_detail_and_keeps_the_rest() -> None:
    ev = codec.parse_xml(FULL)
    msg = TakMessage()
    msg.ParseFromString(codec.to_proto(ev))
    c = msg.cotEvent
    assert (c.uid, c.type, c.how, c.access) == ("ANDROID-1", "a-f-G-U-C", "m-g", "Unclassified")
    assert c.sendTime == int((T0.timestamp()) * 1000) + 123
    assert (c.lat, c.lon, c.hae, c.ce, c.le) == (48.5, -3.25, 12.5, 4.0, 7.0)
    d = c.detail
    assert (d.contact.callsign, d.contact.endpoint) == ("ALPHA-1", "*:-1:stcp")
    assert (d.group.name, d.group.role) == ("Cyan", "Team Member")
    assert (d.takv.device, d.takv.platform, d.takv.os, d.takv.version) == (
        "Pixel",
        "ATAK-CIV",
        "34",
        "5.2",
    )
    assert (d.track.speed, d.track.course) == (1.5, 270.0)
    assert d.status.battery == 88
    assert (d.precisionLocation.geopointsrc, d.precisionLocation.altsrc) == ("GPS", "GPS")
    assert d.xmlDetail == (
        "<remarks>seq=7 sent=1.25</remarks>"
        '<marti><dest callsign="BRAVO"/><dest callsign="CHARLIE"/></marti>'
        '<uid Droid="ALPHA-1"/><custom a="1"><inner>x &amp; y</inner></custom>'
    )


def test_unrepresentable_known_elements_go_to_xml_detail() -> None:
    detail = (
        '<detail><contact callsign="A" phone="123"/><status readiness="true"/>'
        '<track speed="fast"/></detail>'
    )
    msg = TakMessage()
    msg.ParseFromString(codec.to_proto(codec.parse_xml(_event(detail=detail))))
    d = msg.cotEvent.detail
    assert not d.HasField("contact")
    assert not d.HasField("status")
    assert '<contact callsign="A" phone="123"/>' in d.xmlDetail
    assert '<track speed="fast"/>' in d.xmlDetail


def test_proto_round_trip_keeps_what_the_gateway_needs() -> None:
    x = codec.parse_xml(FULL)
    p = codec.parse_proto(codec.to_proto(x))
    assert p.encoding is Encoding.PROTO
    assert p.raw == codec.to_proto(x)
    back = codec.parse_xml(codec.encode(p, Encoding.XML))
    for ev in (p, back):
        assert (ev.uid, ev.type, ev.how) == (x.uid, x.type, x.how)
        assert (ev.time, ev.start, ev.stale) == (x.time, x.start, x.stale)
        assert (ev.lat, ev.lon, ev.hae, ev.ce, ev.le) == (x.lat, x.lon, x.hae, x.ce, x.le)
        assert (ev.callsign, ev.group, ev.remarks) == (x.callsign, x.group, x.remarks)
        assert ev.dest_callsigns == x.dest_callsigns
        assert '<custom a="1"><inner>x &amp; y</inner></custom>' in ev.detail_xml
        assert '<takv device="Pixel" platform="ATAK-CIV" os="34" version="5.2"/>' in ev.detail_xml
        assert '<track speed="1.5" course="270.0"/>' in ev.detail_xml
        assert '<status battery="88"/>' in ev.detail_xml
        assert ev.extra == {"access": "Unclassified"}
    assert back.encoding is Encoding.XML


def test_encode_returns_raw_in_the_same_encoding() -> None:
    x = codec.parse_xml(FULL)
    assert codec.encode(x, Encoding.XML) is x.raw
    p = codec.parse_proto(codec.encode(x, Encoding.PROTO))
    assert codec.encode(p, Encoding.PROTO) is p.raw
    assert codec.to_proto(p) is p.raw


def test_parse_proto_of_takproto_encoding() -> None:
    mesh = bytes(takproto.xml2proto(FULL_Z, takproto.TAKProtoVer.MESH))
    assert mesh[:3] == b"\xbf\x01\xbf"
    ev = codec.parse_proto(mesh[3:])
    assert (ev.uid, ev.callsign, ev.group, ev.remarks) == (
        "ANDROID-1",
        "ALPHA-1",
        "Cyan",
        "seq=7 sent=1.25",
    )
    assert ev.dest_callsigns == ("BRAVO", "CHARLIE")
    assert ev.time == T0 + dt.timedelta(milliseconds=123)


def _message(**fields: object) -> TakMessage:
    msg = TakMessage()
    c = msg.cotEvent
    c.uid, c.type, c.how = "u", "a-f-G", "m-g"
    c.sendTime = c.startTime = int(T0.timestamp() * 1000)
    c.staleTime = c.sendTime + 60_000
    c.lat, c.lon = 1.0, 2.0
    for k, v in fields.items():
        setattr(c, k, v)
    return msg


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff\xff\xff\xff", "not a TakMessage"),
        (b"", "missing cotEvent"),
        (_message(uid="").SerializeToString(), "cotEvent: missing uid"),
        (_message(type="").SerializeToString(), "cotEvent: missing type"),
        (_message(sendTime=0).SerializeToString(), "cotEvent: missing sendTime"),
        (_message(staleTime=2**63).SerializeToString(), "cotEvent: staleTime .* out of range"),
        (_message(lat=91.0).SerializeToString(), "cotEvent: lat 91.0 out of range"),
        (_message(lon=float("nan")).SerializeToString(), "cotEvent: lon nan out of range"),
        (_message().SerializeToString()[:-3], "not a TakMessage"),  # truncated
    ],
)
def test_parse_proto_errors(payload: bytes, message: str) -> None:
    with pytest.raises(CotError, match=message):
        codec.parse_proto(payload)


def test_parse_proto_xml_detail_is_parsed_safely() -> None:
    msg = _message()
    msg.cotEvent.detail.xmlDetail = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;'
    with pytest.raises(CotError, match="DOCTYPE"):
        codec.parse_proto(msg.SerializeToString())
    msg.cotEvent.detail.xmlDetail = "<remarks>&e;</remarks>"
    with pytest.raises(CotError, match="not XML"):
        codec.parse_proto(msg.SerializeToString())
    msg.cotEvent.detail.xmlDetail = "<remarks>unterminated"
    with pytest.raises(CotError, match="not XML"):
        codec.parse_proto(msg.SerializeToString())


def test_parse_proto_detail_without_xml_detail() -> None:
    msg = _message()
    msg.cotEvent.detail.contact.callsign = "A"
    msg.cotEvent.detail.group.name = "Red"
    ev = codec.parse_proto(msg.SerializeToString())
    assert (ev.callsign, ev.group, ev.remarks) == ("A", "Red", None)
    assert ev.detail_xml == '<detail><contact callsign="A"/><__group name="Red"/></detail>'
    assert codec.parse_proto(_message().SerializeToString()).detail_xml == ""


def test_decode_datagram_mesh_and_xml() -> None:
    mesh = bytes(takproto.xml2proto(FULL_Z, takproto.TAKProtoVer.MESH))
    ev = codec.decode_datagram(mesh)
    assert ev.encoding is Encoding.PROTO
    assert ev.raw == mesh[3:]
    assert codec.decode_datagram(FULL).encoding is Encoding.XML
    with pytest.raises(CotError, match="mesh header"):
        codec.decode_datagram(b"\xbf\x02\xbf" + mesh[3:])
    with pytest.raises(CotError):
        codec.decode_datagram(b"junk")


# ---- pytak's own events --------------------------------------------------------------------


def test_pytak_generated_events_parse() -> None:
    data = pytak.gen_cot(lat=10.5, lon=20.25, uid="PYTAK-1", cot_type="a-f-G-U-C", callsign="P1")
    assert data is not None
    ev = codec.parse_xml(data)
    assert (ev.uid, ev.type, ev.lat, ev.lon, ev.callsign) == (
        "PYTAK-1",
        "a-f-G-U-C",
        10.5,
        20.25,
        "P1",
    )
    assert ev.stale > ev.time
    assert "_flow-tags_" in ev.detail_xml
    stream = bytes(takproto.xml2proto(data, takproto.TAKProtoVer.STREAM))
    assert stream[0] == 0xBF
    from cmcc.cot.framing import ProtoStreamSplitter

    (payload,) = ProtoStreamSplitter().feed(stream)
    assert codec.parse_proto(payload).uid == "PYTAK-1"
    assert codec.parse_xml(pytak.hello_event()).type == "t-x-d-d"


# ---- control events ------------------------------------------------------------------------


def test_pong() -> None:
    ev = codec.parse_xml(codec.pong(T0))
    assert ev.type == "t-x-c-t-r"
    assert ev.time == T0
    assert ev.stale > T0


def test_protocol_negotiation_events() -> None:
    v = codec.parse_xml(codec.protocol_support(now=T0))
    assert v.type == "t-x-takp-v"
    assert '<TakControl><TakProtocolSupport version="1"/></TakControl>' in v.detail_xml
    for ok, status in ((True, "true"), (False, "false")):
        r = codec.parse_xml(codec.protocol_response(ok, now=T0, uid=v.uid))
        assert r.type == "t-x-takp-r"
        assert r.uid == v.uid
        assert f'<TakResponse status="{status}"/>' in r.detail_xml


def test_requested_protocol() -> None:
    # what ATAK / the TAK protocol documentation send
    q = (
        "<event version='2.0' uid='protouid' type='t-x-takp-q' time='2025-10-10T09:00:00.000Z'"
        " start='2025-10-10T09:00:00.000Z' stale='2025-10-10T09:01:00.000Z' how='m-g'>"
        "<point lat='0.0' lon='0.0' hae='0.0' ce='999999' le='999999'/>"
        "<detail><TakControl><TakRequest version='1'/></TakControl></detail></event>"
    )
    assert codec.requested_protocol(codec.parse_xml(q.encode())) == 1
    assert codec.requested_protocol(codec.parse_xml(q.replace("'1'", "'2'").encode())) == 2
    assert codec.requested_protocol(codec.parse_xml(q.replace("'1'", "'x'").encode())) is None
    other = q.replace("t-x-takp-q", "a-f-G")
    assert codec.requested_protocol(codec.parse_xml(other.encode())) is None
    bare = q.replace("<TakControl><TakRequest version='1'/></TakControl>", "")
    assert codec.requested_protocol(codec.parse_xml(bare.encode())) is None
    assert codec.requested_protocol(codec.parse_xml(_event('type="t-x-takp-q"'))) is None
