"""The CoT fast path against the codec: for every event, generated or spoiled, it returns the
very event `codec.parse_xml` returns, or None (the codec then reads it); real clients'
positions all take it; what is not a plain position, or not plain XML, never does. Over TAK
Protocol, `fastpath.parse_proto` returns what `codec.parse_proto` returns, or raises what it
raises."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from takproto.proto import TakMessage

from cmcc.cot import codec, fastpath
from cmcc.cot.event import CotError, CotEvent
from cmcc.cot.fastpath import MAX_BYTES, parse_position

with warnings.catch_warnings():  # pytak warns about optional extras it does not need here
    warnings.simplefilter("ignore")
    import pytak


def _loadgen() -> ModuleType:
    """bench/cot/loadgen.py, whose events the benchmark sends to the gateway."""
    path = Path(__file__).parents[2] / "bench" / "cot" / "loadgen.py"
    spec = importlib.util.spec_from_file_location("bench_cot_loadgen", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _full(doc: bytes) -> CotEvent | None:
    try:
        return codec.parse_xml(doc)
    except CotError:
        return None


def _agrees(doc: bytes) -> CotEvent | None:
    """The fast path's event, checked against the codec's: None, or the same event (every
    field, the extra attributes too)."""
    fast = parse_position(doc)
    if fast is not None:
        full = _full(doc)
        assert full is not None, f"the fast path accepted what the codec refuses: {doc!r}"
        assert fast == full, doc
        assert fast.extra == full.extra, doc
        assert fast.is_position
    return fast


# ---- generated events -------------------------------------------------------------------

_SAFE = "abcXYZ0189 -_.:*/@#()é€😀\xa0\u2028"  # what a value may hold and still take the fast path
_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,8}", fullmatch=True).filter(
    lambda n: n not in ("link", "marti", "__chat", "contact", "__group", "remarks", "xmlns")
)
_TIMES = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31))
_KINDS = (  # of detail elements: "other" is any name
    *("contact", "__group", "remarks", "takv", "track", "status", "uid"),
    *("precisionlocation", "other"),
)
_WS = st.sampled_from(["", "", " ", "\n", "\n  ", "\t", "\n\t\t"])


def _value(safe: str = _SAFE, size: int = 12) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(safe), max_size=size)


@st.composite
def _time(draw: st.DrawFn) -> str:
    t = draw(_TIMES)
    digits = draw(st.sampled_from([0, 1, 3, 6, 7]))
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{t.microsecond:06d}{draw(st.integers(0, 9))}"[:digits]
    return text + draw(st.sampled_from(["Z", "Z", "+00:00", "+02:00", "-05:30", ""]))


@st.composite
def _number(draw: st.DrawFn, low: float, high: float) -> str:
    x = draw(st.floats(low, high, allow_nan=False))
    form = draw(st.sampled_from(["{!r}", "{:.6f}", "{:e}", "{:+.2f}", "{:.0f}"]))
    return form.format(x)


def _tag(name: str, attrs: list[tuple[str, str]], quote: str, end: str = "/>") -> str:
    return f"<{name}" + "".join(f" {k}={quote}{v}{quote}" for k, v in attrs) + end


@st.composite
def _detail_child(draw: st.DrawFn, quote: str, kind: str) -> str:
    """One element of a detail: those the gateway reads, those ATAK sends, any other."""
    ws = draw(st.sampled_from(["", "", " "]))
    if kind == "remarks":
        text = draw(_value(_SAFE + "\n\t" + ('"' if quote == '"' else ""), 30))
        form = draw(st.sampled_from(["text", "pair", "empty"]))
        if form == "empty":
            return f"<remarks{ws}/>"
        return f"<remarks>{text if form == 'text' else ''}</remarks>"
    known = {
        "contact": ["endpoint", "callsign", "phone"],
        "__group": ["name", "role"],
        "takv": ["device", "platform", "os", "version"],
        "track": ["speed", "course"],
        "status": ["battery"],
        "precisionlocation": ["geopointsrc", "altsrc"],
        "uid": ["Droid"],
    }
    if kind in known:
        names = draw(st.lists(st.sampled_from(known[kind]), unique=True))
    else:
        names = draw(st.lists(_NAMES, unique=True, max_size=4))
    attrs = [(n, draw(_value())) for n in names]
    if kind in known or draw(st.booleans()):
        return _tag(kind, attrs, quote, f"{ws}/>")
    inner = draw(st.sampled_from(["", draw(_value(_SAFE, 20))]))
    return _tag(kind, attrs, quote, ">") + f"{inner}</{kind}>"


@st.composite
def positions(draw: st.DrawFn) -> bytes:
    """A plain position event as clients write it: either quote, attributes in any order,
    optional attributes and detail elements, whitespace between elements, an XML declaration
    or not. Each one takes the fast path."""
    quote = draw(st.sampled_from(['"', "'"]))
    affiliation = draw(st.sampled_from("fhnuapsjka"))
    event = {
        "uid": draw(_value(_SAFE, 30).filter(bool)),
        "type": f"a-{affiliation}" + draw(st.sampled_from(["", "-G", "-G-U-C", "-A-M-F"])),
        "time": draw(_time()),
        "start": draw(_time()),
        "stale": draw(_time()),
    }
    for name in ("version", "how", "access", "qos", "opex", "caveat", "rel_to"):
        if draw(st.booleans()):
            event[name] = draw(_value())
    lat, lon = draw(_number(-90, 90)), draw(_number(-180, 180))
    if float(lat) == 0.0 and float(lon) == 0.0:
        lon = "1.5"  # 0,0 is no place: not a position
    point = {"lat": lat, "lon": lon}
    for name in ("hae", "ce", "le"):
        if draw(st.booleans()):
            point[name] = draw(st.sampled_from(["9999999.0", draw(_number(-1e4, 1e4))]))
    ws = draw(st.lists(_WS, min_size=4, max_size=4))
    head = _tag("event", draw(st.permutations(list(event.items()))), quote, ">")
    doc = head + ws[0] + _tag("point", draw(st.permutations(list(point.items()))), quote)
    doc = doc[:-2] + draw(st.sampled_from(["/>", " />", "></point>"])) + ws[1]
    detail_form = draw(st.sampled_from(["none", "empty", "pair", "children"]))
    if detail_form == "empty":
        doc += draw(st.sampled_from(["<detail/>", "<detail />"]))
    elif detail_form == "pair":
        doc += "<detail></detail>"
    elif detail_form == "children":
        detail_quote = draw(st.sampled_from([quote, '"']))
        kinds = draw(
            st.lists(st.sampled_from(_KINDS), max_size=8).filter(
                lambda ks: all(ks.count(k) <= 1 for k in ("contact", "__group", "remarks"))
            )
        )
        children = [
            draw(_detail_child(detail_quote, draw(_NAMES) if k == "other" else k)) for k in kinds
        ]
        doc += "<detail>" + "".join(c + draw(_WS) for c in children) + "</detail>"
    doc += ws[2] + "</event>" + ws[3]
    prolog = draw(
        st.sampled_from(
            ["", '<?xml version="1.0" encoding="UTF-8"?>\n', "<?xml version='1.0'?>", "\ufeff"]
        )
    )
    return (prolog + doc).encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=positions())
def test_a_plain_position_takes_the_fast_path_and_reads_as_the_codec_reads_it(doc: bytes) -> None:
    assert _full(doc) is not None, doc  # every generated value is valid
    assert _agrees(doc) is not None, doc


# What makes a document other than plain, or not XML at all, or another event.
_SNIPPETS = [
    *("&amp;", "&#10;", "&lt;", "&", "<!-- c -->", "<![CDATA[x]]>", "<!DOCTYPE event>"),
    *("\x7f", "\x9f", "\u2028", "\U0001f600"),
    *("<?pi x?>", "\r", "\r\n", "\t", "\n", "\x00", "\x0b", "\x85", "\ufffe", "\ud7ff"),
    *('"', "'", "<", ">", "=", "/", " ", "]]>", ' x="1"', " x='1'", ' uid="u2"', ' lat="2"'),
    *(' xmlns="urn:x"', ' xmlns:a="urn:x"', " a:b='1'", "<a:b/>", "<inner/>", "</detail>"),
    *('<link uid="x"/>', '<marti><dest callsign="B"/></marti>', "<__chat/>", "<contact/>"),
    *("<remarks>r</remarks>", "<__group name='G'/>", "<point lat='1' lon='2'/>", "<detail/>"),
    *("t-x-c-t", "t-x-d-d", "b-m-p-s-m", "a-", "0.0", "NaN", "95", "-181", "inf", "1e999"),
]


_NOT_UTF8 = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82"]  # bad bytes, a surrogate


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A plain position spoiled a few times: a snippet put in, a slice cut out or repeated,
    a byte changed."""
    doc = draw(positions())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(doc)))
        to = draw(st.integers(at, min(len(doc), at + 40)))
        how = draw(st.sampled_from(["insert", "insert", "cut", "repeat", "byte"]))
        if how == "insert":
            snippet = draw(st.sampled_from([*(s.encode() for s in _SNIPPETS), *_NOT_UTF8]))
            doc = doc[:at] + snippet + doc[at:]
        elif how == "cut":
            doc = doc[:at] + doc[to:]
        elif how == "repeat":
            doc = doc[:to] + doc[at:to] + doc[to:]
        else:
            doc = doc[:at] + bytes([draw(st.integers(0, 255))]) + doc[at + 1 :]
    return doc


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=mangled())
def test_a_spoiled_event_is_refused_or_read_as_the_codec_reads_it(doc: bytes) -> None:
    _agrees(doc)


# ---- what real clients send -------------------------------------------------------------

_T = "2026-12-06T10:00:00.123Z"
_T7 = "2026-12-06T10:00:00.1234567Z"
_S = "2026-12-06T10:02:00.123Z"

ATAK = (
    "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>"
    f"<event version='2.0' uid='ANDROID-589520ccfcd20f01' type='a-f-G-U-C' time='{_T}'"
    f" start='{_T}' stale='{_S}' how='h-e'>"
    "<point lat='31.501234' lon='34.466789' hae='-12.3' ce='9.9' le='9999999.0' />"
    "<detail><takv os='34' version='5.2.0.4 (4d8e1d40).1725558813-CIV' device='GOOGLE PIXEL 8'"
    " platform='ATAK-CIV'/><contact endpoint='*:-1:stcp' callsign='ALPHA-1'/>"
    "<uid Droid='ALPHA-1'/><precisionlocation altsrc='GPS' geopointsrc='GPS'/>"
    "<__group role='Team Member' name='Cyan'/><status battery='88'/>"
    "<track course='271.5' speed='1.25'/></detail></event>"
).encode()

ATAK_RELAYED = (  # as a TAK Server relays it: a flow tag added, remarks empty
    f"<event version='2.0' uid='ANDROID-1' type='a-f-G-E-V-C' time='{_T}' start='{_T}'"
    f" stale='{_S}' how='m-g'><point lat='48.85' lon='2.35' hae='35.0' ce='4.9' le='9999999.0'/>"
    "<detail><contact endpoint='192.168.1.20:4242:tcp' callsign='Rover'/>"
    "<__group role='Team Lead' name='Dark Blue'/><precisionlocation altsrc='DTED0'"
    " geopointsrc='USER'/><status battery='100'/><takv os='29' version='4.8.1.5'"
    " device='SAMSUNG SM-T860' platform='ATAK-CIV'/><track course='0.0' speed='0.0'/>"
    "<remarks></remarks><uid Droid='Rover'/>"
    "<_flow-tags_ TAK-Server-e87a0e02='2026-12-06T10:00:00.200Z'/></detail></event>"
).encode()

WINTAK = (
    '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n'
    f'<event version="2.0" uid="S-1-5-21-2720623347-3037847324-4167270909-1002"'
    f' type="a-f-G-U-C" time="{_T7}" start="{_T7}" stale="{_S}" how="h-e" access="Undefined">'
    '<point lat="31.52" lon="34.45" hae="9999999" ce="9999999" le="9999999" />'
    '<detail><contact callsign="WINTAK-1" endpoint="*:-1:stcp" /><uid Droid="WINTAK-1" />'
    '<__group name="Cyan" role="Team Member" /><status battery="100" />'
    '<track speed="0.00000000" course="0.00000000" />'
    '<takv device="DESKTOP-4CJ2K1" platform="WinTAK-CIV" os="Microsoft Windows 10 Pro"'
    ' version="5.1.0.77" /></detail></event>'
).encode()

ITAK = (
    f'<event version="2.0" uid="A1B2C3D4-0000-1111-2222-333344445555" type="a-f-G-U-C"'
    f' how="m-g" time="{_T}" start="{_T}" stale="{_S}">'
    '<point lat="31.53" lon="34.47" hae="12.0" ce="5.0" le="3.0"/>'
    '<detail><contact callsign="iTAK-7" endpoint="*:-1:stcp" phone=""/>'
    '<__group name="Green" role="Medic"/><precisionlocation altsrc="GPS" geopointsrc="GPS"/>'
    '<status battery="77"/><takv device="iPhone" platform="iTAK" os="17.5"'
    ' version="2.11.0.604"/><track course="123.4" speed="2.5"/><uid Droid="iTAK-7"/>'
    "</detail></event>"
).encode()

PRETTY = (  # written by hand or by a tool that indents
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<event version="2.0" uid="drone-7" type="a-f-A-M-F-Q" how="m-g" time="{_T}"\n'
    f' start="{_T}" stale="{_S}" >\n'
    '  <point lat="31.4" lon="34.3" hae="120.5" ce="10" le="15" />\n'
    "  <detail>\n"
    '    <contact callsign="RAVEN 7" />\n'
    "    <remarks>Surveillance, north sector</remarks>\n"
    '    <track course="90" speed="18.5" />\n'
    "  </detail>\n"
    "</event>\n"
).encode()


def _samples() -> dict[str, bytes]:
    loadgen = _loadgen()
    now, stale = loadgen.cot_times()
    t0 = dt.datetime(2026, 12, 6, 10, tzinfo=dt.UTC)
    made = codec.make_event(
        "GARUDA-1", "a-f-G-U-C-I", 31.5, 34.45, now=t0, stale_seconds=120,
        callsign="GARUDA-1", remarks="at the crossing",
        detail_children='<__group name="Cyan" role="Team Member"/><track course="1" speed="2"/>',
    )  # fmt: skip
    extras = pytak.functions.cot_event(
        lat=31.5, lon=34.4, uid="pytak-2", cot_type="a-h-G", callsign="P2",
        access="Undefined", caveat="FOUO", relto="x",
    )  # fmt: skip
    return {
        "loadgen": loadgen.position_event(
            "bench-3", "BENCH-3", 31.309, 34.3, now, stale, "seq=17 sent=123456789 src=3"
        ),
        "loadgen hello": loadgen.position_event("bench-4", "BENCH-4", 31.3, 34.3, now, stale, "hi"),
        "cmcc": made.raw,
        "atak": ATAK,
        "atak relayed": ATAK_RELAYED,
        "wintak": WINTAK,
        "itak": ITAK,
        "pretty": PRETTY,
        "pytak": pytak.gen_cot(lat=31.5, lon=34.4, uid="pytak-1", cot_type="a-f-G", callsign="P1")
        or b"",
        "pytak extras": pytak.serialize_cot(extras),
    }


@pytest.mark.parametrize("name", list(_samples()))
def test_what_real_clients_send_takes_the_fast_path(name: str) -> None:
    doc = _samples()[name]
    assert _agrees(doc) is not None, doc


def test_the_fields_the_gateway_routes_by_are_read() -> None:
    ev = parse_position(ATAK_RELAYED)
    assert ev is not None
    assert (ev.uid, ev.callsign, ev.group, ev.remarks) == ("ANDROID-1", "Rover", "Dark Blue", "")
    assert ev.detail_xml.startswith('<detail><contact endpoint="192.168.1.20:4242:tcp"')
    assert "<remarks/>" in ev.detail_xml  # as lxml writes it
    assert ev.raw == ATAK_RELAYED


# ---- what the fast path leaves to the codec ------------------------------------------------


def _event(attrs: str = "", point: str = "lat='1' lon='2'", detail: str = "") -> bytes:
    head = f"uid='u' type='a-f-G' time='{_T}' start='{_T}' stale='{_S}'"
    return f"<event {head}{attrs}><point {point}/>{detail}</event>".encode()


@pytest.mark.parametrize(
    "doc",
    [
        codec.pong(dt.datetime(2026, 12, 6, tzinfo=dt.UTC)),  # not a position
        _event().replace(b"a-f-G", b"t-x-c-t"),
        _event(detail="<detail><link uid='x' relation='p-p'/></detail>"),
        _event(detail="<detail><marti><dest callsign='B'/></marti></detail>"),
        _event(detail="<detail><__chat chatroom='All'/></detail>"),
        _event().replace(b"a-f-G", b"b-m-p-s-m"),
        _event(point="lat='0' lon='0.0'"),  # 0,0: no place
        _event(detail="<detail><remarks>a &amp; b</remarks></detail>"),  # an entity
        b"<?xml version='1.0'?><!DOCTYPE event [<!ENTITY x 'y'>]>" + _event(),
        _event(detail="<detail><!-- note --></detail>"),
        _event(detail="<detail><remarks><![CDATA[x]]></remarks></detail>"),
        _event(detail="<detail><?pi x?></detail>"),
        _event(" uid='v'"),  # an attribute twice: lxml refuses the document
        _event(point="lat='1' lon='2' lat='3'"),
        _event(detail="<detail><track speed='1' course='2' speed='3'/></detail>"),
        _event(" xmlns='urn:x'"),
        _event(detail="<detail xmlns='urn:x'/>"),
        _event(detail="<detail><a xmlns='urn:x'/></detail>"),
        _event(detail="<detail><a:b xmlns:a='urn:x'/></detail>"),
        _event(detail="<detail><custom><inner/></custom></detail>"),  # not flat
        _event(detail="<detail><contact callsign='A'/><contact callsign='B'/></detail>"),
        _event(detail="<detail><remarks>x</remarks><remarks>y</remarks></detail>"),
        _event(detail="<detail><remarks>a > b</remarks></detail>"),
        _event(detail='<detail><contact callsign="O\'Neil"/></detail>'),
        _event(" foo='1'"),  # an attribute the event is not known to have
        _event(point="lat='1' lon=\"2\""),  # quoted two ways
        _event(point="lat='1\t' lon='2'"),  # a tab, which XML turns into a space
        _event().replace(b"><point", b">\r\n<point"),
        _event().replace(b"<point lat='1' lon='2'/>", b"<detail/><point lat='1' lon='2'/>"),
        _event(detail="<point lat='3' lon='4'/>"),  # a second point
        _event(detail="text"),
        _event(point="lat='95' lon='2'"),  # invalid: the codec says why
        _event(" stale='tomorrow'").replace(f"stale='{_S}' ".encode(), b""),
        _event().replace(b"uid='u'", b"uid=''"),
        _event().replace(b"'u'", b"'\xff'"),  # not UTF-8
        _event(detail="<detail><remarks>" + "x" * MAX_BYTES + "</remarks></detail>"),
        b"",
        b"<event",
    ],
)
def test_anything_else_is_left_to_the_codec(doc: bytes) -> None:
    assert parse_position(doc) is None


@pytest.mark.parametrize(
    "doc",
    [  # inputs built to make a backtracking matcher try every split; each stays in MAX_BYTES
        b"<event " + b"uid='u' " * 1800 + b">",
        _event(detail="<detail>" + "<a x='1' y='2' z='3'/>" * 600 + "<a"),
        _event(detail="<detail>" + "x " * 7000 + "</detail"),
        _event(detail="<detail><a " + "b='c' " * 2000 + "/></detail>"),
        _event(detail="<detail>" + "<a>" * 2000 + "</detail>"),
        _event(" time='" + "9" * 15000 + "'"),
    ],
)
def test_hostile_input_is_refused_at_once(doc: bytes) -> None:
    assert len(doc) <= MAX_BYTES
    assert parse_position(doc) is None


# ---- TAK Protocol: the xmlDetail ----------------------------------------------------------


def _outcome(parse: Callable[[bytes], CotEvent], payload: bytes) -> tuple[object, ...]:
    try:
        ev = parse(payload)
    except CotError as exc:
        return ("refused", str(exc))
    return (ev, ev.extra)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=positions())
def test_a_position_over_tak_protocol_reads_as_the_codec_reads_it(doc: bytes) -> None:
    payload = codec.to_proto(codec.parse_xml(doc))
    assert _outcome(fastpath.parse_proto, payload) == _outcome(codec.parse_proto, payload)


@st.composite
def xml_details(draw: st.DrawFn) -> str:
    """What a TakMessage's xmlDetail may hold: detail elements, some spoiled."""
    kinds = draw(st.lists(st.sampled_from(_KINDS), max_size=4))
    quote = draw(st.sampled_from(['"', "'"]))
    text = "".join(draw(_detail_child(quote, draw(_NAMES) if k == "other" else k)) for k in kinds)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(_SNIPPETS)) + text[at:]
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xml_detail=xml_details())
def test_any_xml_detail_reads_as_the_codec_reads_it(xml_detail: str) -> None:
    msg = TakMessage()
    c = msg.cotEvent
    c.type, c.uid, c.how, c.lat, c.lon = "a-f-G-U-C", "ANDROID-1", "m-g", 31.5, 34.5
    c.sendTime = c.startTime = 1_780_000_000_000
    c.staleTime = 1_780_000_120_000
    c.detail.contact.callsign = "ALPHA-1"
    c.detail.xmlDetail = xml_detail
    payload = msg.SerializeToString()
    assert _outcome(fastpath.parse_proto, payload) == _outcome(codec.parse_proto, payload)
