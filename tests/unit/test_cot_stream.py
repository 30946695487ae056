"""The wire format of the positions stream: fixes in, the same fixes and stable keys out."""

from __future__ import annotations

import datetime as dt

import pytest

from cmcc.cot.codec import make_event
from cmcc.cot.event import Report
from cmcc.cot.stream import Fix, Names, StreamError, decode, encode, fixes_of

T0 = dt.datetime(2026, 3, 1, 10, 0, 0, 250_000, tzinfo=dt.UTC)


def _reports() -> list[Report]:
    return [
        Report(
            make_event(
                "usa-1",
                "a-f-G-U-C",
                31.4,
                34.4,
                now=T0,
                stale_seconds=60,
                callsign="EAGLE\t1",
                detail_children='<track speed="3.5" course="270.0"/>',
            ),
            "usa-1",
        ),
        Report(make_event("h-1", "a-h-G", 31.4, 34.4, now=T0, stale_seconds=60), None),
        Report(
            make_event(
                "spot-1", "b-m-p-s-m", 31.5, 34.5, now=T0, stale_seconds=60, remarks="two\nlines"
            ),
            "usa-1",
            own=False,
        ),
    ]


def test_fixes_travel_unchanged_with_stable_keys() -> None:
    fixes = fixes_of(_reports())
    assert [f.uid for f in fixes] == ["usa-1", "spot-1"]  # a hostile position is not stored
    assert (fixes[0].speed, fixes[0].course, fixes[0].hae, fixes[0].key) == (3.5, 270.0, None, None)
    assert fixes[1].is_spot_marker and fixes[1].remarks == "two\nlines" and not fixes[1].own
    [(data, count)] = encode(fixes)
    assert count == 2 and data.count(b"\n") == 1
    back = decode(data)
    assert [f._replace(key=None) for f in back] == fixes
    assert [f.key for f in decode(encode(fixes)[0][0])] == [f.key for f in back]  # stable
    assert len({f.key for f in back}) == 2 and all(len(f.key or "") == 32 for f in back)
    later = fixes[0]._replace(time=fixes[0].time + dt.timedelta(milliseconds=1))
    assert decode(encode([later])[0][0])[0].key != back[0].key


def test_messages_stay_under_the_limit() -> None:
    fix = fixes_of(_reports())[0]
    many = [fix._replace(uid=f"u-{n}") for n in range(1000)]
    messages = encode(many, limit=8192)
    assert len(messages) > 1 and all(len(data) < 8192 for data, _ in messages)
    assert sum(count for _, count in messages) == 1000
    assert [f.uid for data, _ in messages for f in decode(data)] == [f.uid for f in many]
    assert encode([fix._replace(callsign="x" * 9000)], limit=8192) == []


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'["a"]', "line 1 of the message: expected an array of 13 fields"),
        (b"[]\nnot json", "line 1"),
        (encode(fixes_of(_reports()))[0][0] + b"\n{", "line 3 of the message"),
        (
            b'[null,true,"u","a-f",'
            b'"2026-03-01T10:00:00","2026-03-01T10:01:00",1,2,null,null,null,null,null]',
            "a time without its UTC offset",
        ),
    ],
)
def test_a_bad_message_is_named(data: bytes, problem: str) -> None:
    with pytest.raises(StreamError, match=problem):
        decode(data)


def test_names_follow_the_namespace() -> None:
    names = Names.of("t1")
    assert (names.stream, names.subjects, names.consumer) == (
        "t1_POSITIONS",
        "t1.positions.>",
        "t1_workers",
    )
    assert names.subject("gw1") == "t1.positions.gw1"
    assert Fix.__annotations__["key"]
