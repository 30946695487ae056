"""Stream framing: XML events split after `</event>`, TAK Protocol v1 frames, caps, garbage."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

from cmcc.cot import codec
from cmcc.cot.framing import (
    FrameError,
    ProtoStreamSplitter,
    XmlStreamSplitter,
    decode_datagram,
    encode_varint,
    frame_proto,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pytak
    import takproto

T0 = dt.datetime(2025, 10, 10, 9, 0, tzinfo=dt.UTC)


def _xml(uid: str, remarks: str = "") -> bytes:
    return codec.make_event(
        uid, "a-f-G", 1.0, 2.0, now=T0, stale_seconds=60, remarks=remarks or None
    ).raw


E1, E2, E3 = _xml("one"), _xml("two", "a </even t"), _xml("three")
STREAM = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    + E1
    + b"\n\r\n\t "
    + E2
    + b"<?xml version='1.0' standalone='yes'?>"
    + E3
    + b"\n"
)


# ---- XML ---------------------------------------------------------------------------------


def test_whole_stream_in_one_feed() -> None:
    s = XmlStreamSplitter()
    assert s.feed(STREAM) == [E1, E2, E3]
    assert s.pending() == b""


def test_split_at_every_byte_boundary() -> None:
    for cut in range(len(STREAM) + 1):
        s = XmlStreamSplitter()
        out = s.feed(STREAM[:cut]) + s.feed(STREAM[cut:])
        assert out == [E1, E2, E3], cut


def test_one_byte_at_a_time() -> None:
    s = XmlStreamSplitter()
    out: list[bytes] = []
    for i in range(len(STREAM)):
        out += s.feed(STREAM[i : i + 1])
    assert out == [E1, E2, E3]
    assert s.pending() == b""


def test_one_byte_at_a_time_scans_linearly() -> None:
    """A long event fed a byte at a time keeps a scan offset instead of rescanning."""
    big = codec.make_event(
        "big", "a-f-G", 1.0, 2.0, now=T0, stale_seconds=60, remarks="x" * 60_000
    ).raw
    s = XmlStreamSplitter(max_event_bytes=128 * 1024)
    calls = 0
    find = bytearray.find

    class Counting(bytearray):
        def find(self, sub, start=0, *args):  # type: ignore[no-untyped-def, override]
            nonlocal calls
            calls += 1
            assert start >= len(self) - 16 or sub == b"?>", "rescanned from the start"
            return find(self, sub, start, *args)

    s._buf = Counting()
    out: list[bytes] = []
    for i in range(len(big)):
        out += s.feed(big[i : i + 1])
    assert out == [big]
    assert calls <= 2 * len(big)


def test_tag_with_space_before_close_and_lookalikes() -> None:
    ev = E1.replace(b"</event>", b"</event \n>")
    s = XmlStreamSplitter()
    assert s.feed(ev[:-1]) == []
    assert s.feed(ev[-1:] + E2) == [ev, E2]
    lookalike = E1.replace(b"</detail>", b"<eventful/></detail>").replace(
        b"</event>", b"</eventx></event>"
    )
    assert XmlStreamSplitter().feed(lookalike) == [lookalike]


@pytest.mark.parametrize("garbage", [b"GET / HTTP/1.1\r\n", b"\x00\x01", b"\xbf\x05hello", b"x"])
def test_garbage_at_the_start_is_a_frame_error(garbage: bytes) -> None:
    with pytest.raises(FrameError, match="cannot begin an event"):
        XmlStreamSplitter().feed(b"  " + garbage)


def test_garbage_after_events_is_held_then_raised() -> None:
    s = XmlStreamSplitter()
    assert s.feed(E1 + b"junk") == [E1]
    assert s.pending() == b"junk"
    with pytest.raises(FrameError):
        s.feed(E2)


def test_protobuf_right_after_a_request_can_be_taken_over() -> None:
    payload = codec.to_proto(codec.parse_xml(E2))
    s = XmlStreamSplitter()
    assert s.feed(E1 + frame_proto(payload)) == [E1]
    assert ProtoStreamSplitter().feed(s.pending()) == [payload]


def test_event_that_never_ends_hits_the_cap() -> None:
    s = XmlStreamSplitter(max_event_bytes=1024)
    s.feed(b"<event>" + b"x" * 1000)
    with pytest.raises(FrameError, match="pending"):
        s.feed(b"x" * 100)


def test_declaration_that_never_ends_hits_the_cap() -> None:
    s = XmlStreamSplitter(max_event_bytes=1024)
    for _ in range(9):
        assert s.feed(b"<?xml " + b"a" * 100) == []
    with pytest.raises(FrameError, match="pending"):
        s.feed(b"a" * 100)


def test_complete_event_over_the_cap_is_refused() -> None:
    big = codec.make_event("b", "a-f-G", 1.0, 2.0, now=T0, stale_seconds=60, remarks="x" * 2000).raw
    with pytest.raises(FrameError, match="exceeds"):
        XmlStreamSplitter(max_event_bytes=1024).feed(big)


def test_many_events_in_one_chunk_may_exceed_the_cap_together() -> None:
    s = XmlStreamSplitter(max_event_bytes=len(E1) + 10)
    assert s.feed(E1 * 50) == [E1] * 50


def test_pytak_serialized_events_split() -> None:
    events = [pytak.gen_cot(lat=1.0 + i, lon=2.0, uid=f"P{i}", cot_type="a-f-G") for i in range(3)]
    data = b"".join(e for e in events if e is not None)
    out = XmlStreamSplitter().feed(data)
    assert [codec.parse_xml(e).uid for e in out] == ["P0", "P1", "P2"]


# ---- protobuf ----------------------------------------------------------------------------


def _payloads() -> list[bytes]:
    return [codec.to_proto(codec.parse_xml(e)) for e in (E1, E2, E3)]


def test_varint() -> None:
    assert encode_varint(0) == b"\x00"
    assert encode_varint(127) == b"\x7f"
    assert encode_varint(128) == b"\x80\x01"
    assert encode_varint(300) == b"\xac\x02"
    assert frame_proto(b"abc") == b"\xbf\x03abc"


def test_proto_frames_split_at_every_byte_boundary() -> None:
    payloads = [*_payloads(), b"x" * 300]  # a two-byte length too
    stream = b"".join(frame_proto(p) for p in payloads)
    for cut in range(len(stream) + 1):
        s = ProtoStreamSplitter()
        assert s.feed(stream[:cut]) + s.feed(stream[cut:]) == payloads, cut
    s = ProtoStreamSplitter()
    out: list[bytes] = []
    for i in range(len(stream)):
        out += s.feed(stream[i : i + 1])
    assert out == payloads
    assert s.pending() == b""


def test_proto_matches_takproto_stream_framing() -> None:
    xml = pytak.gen_cot(lat=1.0, lon=2.0, uid="T1", cot_type="a-f-G")
    assert xml is not None
    framed = bytes(takproto.xml2proto(xml, takproto.TAKProtoVer.STREAM))
    (payload,) = ProtoStreamSplitter().feed(framed)
    assert frame_proto(payload) == framed
    assert codec.parse_proto(payload).uid == "T1"


def test_proto_wrong_magic() -> None:
    s = ProtoStreamSplitter()
    with pytest.raises(FrameError, match="0xbf was expected"):
        s.feed(b"<event/>")
    s = ProtoStreamSplitter()
    assert s.feed(frame_proto(b"ab")) == [b"ab"]
    with pytest.raises(FrameError):
        s.feed(b"\x00")


def test_proto_varint_too_long() -> None:
    s = ProtoStreamSplitter()
    assert s.feed(b"\xbf" + b"\x80" * 9) == []  # still a possible length
    with pytest.raises(FrameError, match="longer than 10 bytes"):
        s.feed(b"\x80")
    with pytest.raises(FrameError, match="longer than 10 bytes"):
        ProtoStreamSplitter().feed(b"\xbf" + b"\xff" * 11 + b"\x01")


def test_proto_length_over_the_cap() -> None:
    with pytest.raises(FrameError, match="exceeds"):
        ProtoStreamSplitter(max_event_bytes=1000).feed(b"\xbf" + encode_varint(1001))
    with pytest.raises(FrameError, match="exceeds"):
        ProtoStreamSplitter(max_event_bytes=1000).feed(b"\xbf" + b"\xff" * 9 + b"\x01")
    assert ProtoStreamSplitter(max_event_bytes=3).feed(frame_proto(b"abc")) == [b"abc"]


# ---- UDP ---------------------------------------------------------------------------------


def test_decode_datagram() -> None:
    payload = _payloads()[0]
    assert decode_datagram(b"\xbf\x01\xbf" + payload).uid == "one"
    assert decode_datagram(b"\n" + E1 + b"\n").uid == "one"
