"""The exercise's rules and script: units drive their routes there and back, report through the
CoT codec as themselves, and the gaza-2025 script keeps every unit where its caveats allow."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import tomllib
from collections import Counter
from importlib import resources
from typing import Any

import pytest
from shapely.geometry import LineString, Point, shape

from cmcc.core.errors import InvalidInput
from cmcc.cot import codec
from cmcc.cot.event import Encoding
from cmcc.cot.framing import XmlStreamSplitter
from cmcc.exercise.domain import Route, jitter, marked, next_interval
from cmcc.exercise.schemas import parse, read_script
from cmcc.exercise.units import UnitLink, position_event
from tests.asyncrun import run as run_async

SCENARIO = resources.files("cmcc.scenarios").joinpath("gaza-2025")
DEG = 1 / 111_000  # metres to degrees, near enough for margins


def _toml(name: str) -> dict[str, Any]:
    return tomllib.loads(SCENARIO.joinpath(name).read_text(encoding="utf-8"))


def test_a_route_is_driven_there_and_back() -> None:
    route = Route(((34.30, 31.30), (34.30, 31.31)))  # about 1,105 m due north
    length = route.length_m
    assert length == pytest.approx(2 * 1105.4, rel=1e-3)
    out = route.fix(length / 4, 5.0)
    assert (out.lon, out.lat) == pytest.approx((34.30, 31.305))
    assert out.course == pytest.approx(0.0) and out.speed == 5.0
    back = route.fix(length * 3 / 4, 5.0)
    assert back.lat == pytest.approx(31.305) and back.course == pytest.approx(180.0)
    assert route.fix(length * 5, 5.0).lat == pytest.approx(31.30)  # it keeps going round
    loop = Route(((34.30, 31.30), (34.31, 31.30), (34.31, 31.31)), loop=True)
    assert loop.path[-1] == loop.path[0]


def test_a_unit_reports_as_itself_through_the_codec() -> None:
    unit = read_script("gaza-2025").units[0]
    fix = unit.path.fix(100.0, 7.0)
    now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
    event = position_event(unit, fix, now, report_seconds=5)
    back = codec.parse_xml(codec.encode(event, Encoding.XML))
    assert back.uid == unit.uid and back.callsign == unit.callsign
    assert back.is_friendly_position and back.how == "m-s"  # simulated
    assert (back.lat, back.lon) == pytest.approx((fix.lat, fix.lon))
    assert back.stale - back.time == dt.timedelta(seconds=30)
    assert '<track speed="7.0"' in back.detail_xml


def test_injects_are_spread_and_marked() -> None:
    rng = random.Random(1)
    assert next_interval(rng, 0) is None
    gaps = [next_interval(rng, 6.0) or 0 for _ in range(2000)]
    assert sum(gaps) / len(gaps) == pytest.approx(10.0, rel=0.1)  # 6 a minute on average
    lon, lat = jitter(rng, 34.3, 31.3, 200)
    assert Point(lon, lat).distance(Point(34.3, 31.3)) < 200 * DEG * 1.3
    assert marked("Shots heard").startswith("EXERCISE. ")
    assert marked("EXERCISE. x") == "EXERCISE. x"


def test_a_bad_script_names_the_record_and_the_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse({"units": [{"uid": "a", "callsign": "A", "org": "IDN", "route": []}]})
    assert refused.value.detail.startswith("exercise.toml units[0].route:")


def test_every_unit_keeps_to_where_its_caveats_allow() -> None:
    """Never into a zone kind its pledge forbids, a civilian safe zone or a hazard area (so no
    alert every few seconds), and inside the zone kinds it is limited to; with a margin."""
    script = read_script("gaza-2025")
    zones = json.loads(SCENARIO.joinpath("zones.geojson").read_text(encoding="utf-8"))["features"]
    caveats = {p["ref"]: p.get("caveats", {}) for p in _toml("pledges.toml")["pledges"]}
    hazards = [shape(h["geometry"]) for h in _toml("hazards.toml")["hazards"]]
    hazards += [shape(g["area"]) for g in _toml("search.toml")["grids"]]
    devices = {u.uid for u in script.units}
    assert len(devices) == len(script.units) >= 5
    for unit in script.units:
        path = LineString(unit.route) if len(unit.route) > 1 else Point(unit.route[0])
        rules = caveats[unit.pledge] if unit.pledge else {}
        forbidden = {*rules.get("forbidden_zone_kinds", []), "civilian_safe_zone"}
        only = set(rules.get("only_zone_kinds", []))
        for zone in zones:
            area, kind = shape(zone["geometry"]), zone["properties"]["kind"]
            if kind in forbidden:
                assert path.distance(area) > 300 * DEG, (unit.callsign, zone["properties"]["name"])
            if kind in only:
                assert area.buffer(-150 * DEG).contains(path), unit.callsign
        assert all(path.distance(h) > 100 * DEG for h in hazards), unit.callsign


def test_each_unit_has_its_own_connection_and_comes_back_after_a_drop() -> None:
    """A gateway that hangs up after each unit's first event: every connection carries one
    uid only, the unit's own, and each unit connects again; the drops are counted."""
    script = read_script("gaza-2025")
    seen: list[set[str]] = []

    async def gateway(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        uids: set[str] = set()
        seen.append(uids)
        splitter = XmlStreamSplitter()
        data = await reader.read(65536)
        uids |= {codec.parse_xml(frame).uid for frame in splitter.feed(data)}
        writer.close()  # hang up

    async def scenario() -> Counter[str]:
        server = await asyncio.start_server(gateway, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        counters: Counter[str] = Counter()
        links = [
            UnitLink(u, "127.0.0.1", port, report_seconds=0.2, start_m=0, counters=counters)
            for u in script.units[:2]
        ]
        loop = asyncio.get_running_loop()
        tasks = [asyncio.create_task(link.run(loop.time())) for link in links]
        await asyncio.sleep(3.5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.close()
        return counters

    counters = run_async(scenario())
    assert all(len(uids) == 1 for uids in seen if uids)
    by_uid = Counter(next(iter(uids)) for uids in seen if uids)
    assert set(by_uid) == {u.uid for u in script.units[:2]}
    assert all(n >= 2 for n in by_uid.values())  # connected again after the drop
    assert counters["unit connection errors"] >= 2
