"""A unit's TAK device end to end, with the real pytak client against `cmcc serve`: the device
linked to the battalion receives its task as a CoT drawing when the task is issued (and again
when it reconnects), its positions are relayed with the battalion's symbol, and its positions
outside the tasked area during the window raise one `outside_tasked_area` alert."""

from __future__ import annotations

import asyncio
import configparser
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytak
import pytest
from fastapi.testclient import TestClient

from cmcc.access.domain import Principal
from cmcc.api.app import create_app
from cmcc.bootstrap import Platform
from cmcc.cot import codec, devices
from cmcc.cot.event import CotEvent
from cmcc.cot.framing import XmlStreamSplitter
from tests.asyncrun import run as run_async
from tests.e2e.test_cot_gateway import Listener
from tests.integration.test_command import Force
from tests.serving import eventually, free_port, served

pytestmark = pytest.mark.e2e
IN_TASK = (31.305, 34.305)  # lat, lon: inside the task's zone
OUT_OF_TASK = (31.325, 34.315)  # in the sector, outside the task's zone


@pytest.fixture
def force(platform: Platform, tmp_path: Path) -> Iterator[tuple[str, int, Force]]:
    with TestClient(create_app(platform)) as client:
        f = Force(platform, client, {})
        f.effective("opcon")
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, "idn-bn-1", "IDN", callsign="GARUDA-BN", unit_lineage=f.bn)
        devices.register(s, "idn-hq-1", "IDN", callsign="GARUDA-HQ")
    port = free_port()
    env = {"CMCC_COT_TCP_PORT": str(port), "CMCC_COT_RELAY": "mission"}
    with served(platform, tmp_path, extra_env=env) as (base, _log):
        yield base, port, f


def _position(where: tuple[float, float]) -> bytes:
    data: bytes = pytak.gen_cot(
        lat=where[0],
        lon=where[1],
        uid="idn-bn-1",
        cot_type="a-f-G-U-C",
        stale=600,
        callsign="GARUDA-BN",
    )
    return data


async def _read_until(
    reader: asyncio.StreamReader, done: Callable[[CotEvent], bool], seconds: float = 20
) -> list[CotEvent]:
    splitter, got = XmlStreamSplitter(), []
    end = asyncio.get_running_loop().time() + seconds
    while (left := end - asyncio.get_running_loop().time()) > 0:
        try:
            data = await asyncio.wait_for(reader.read(65536), left)
        except TimeoutError:
            break
        if not data:
            break
        for frame in splitter.feed(data):
            ev = codec.parse_xml(frame)
            got.append(ev)
            if done(ev):
                return got
    return got


async def _device_session(
    port: int, issue: Callable[[], dict[str, Any]]
) -> tuple[dict[str, Any], list[CotEvent]]:
    """pytak as the battalion's device: report in, wait for the task the staff issues, then
    report from outside the tasked area twice."""
    config = configparser.ConfigParser()
    config["pytak"] = {"COT_URL": f"tcp://127.0.0.1:{port}"}
    reader, writer = await pytak.protocol_factory(config["pytak"])
    writer.write(_position(IN_TASK))
    await writer.drain()
    await asyncio.sleep(1.0)  # identified and shown the picture
    task = await asyncio.to_thread(issue)
    uid = f"cmcc-task-{task['id']}"
    got = await _read_until(reader, lambda ev: ev.uid == uid)
    writer.write(_position(OUT_OF_TASK) + _position(OUT_OF_TASK))
    await writer.drain()
    await asyncio.sleep(0.5)
    writer.close()
    return task, got


async def _reconnect(port: int, uid: str) -> list[CotEvent]:
    config = configparser.ConfigParser()
    config["pytak"] = {"COT_URL": f"tcp://127.0.0.1:{port}"}
    reader, writer = await pytak.protocol_factory(config["pytak"])
    writer.write(_position(IN_TASK))
    await writer.drain()
    got = await _read_until(reader, lambda ev: ev.uid == uid)
    writer.close()
    return got


def test_a_units_device_gets_its_task_and_raises_the_tasked_area_alert(
    force: tuple[str, int, Force],
) -> None:
    base, port, f = force
    staff = f.staff
    hq = Listener(port)  # another device of the nation: sees the battalion's positions
    hq.send(
        pytak.gen_cot(lat=31.4, lon=34.4, uid="idn-hq-1", cot_type="a-f-G", callsign="GARUDA-HQ")
    )
    hq.events(1.0)
    now = dt.datetime.now(dt.UTC)
    body = {
        "title": "Secure the aid corridor",
        "task": "protection_of_civilians",
        "unit": f.bn,
        "issuer": f.shq,
        "zone": f.idf,
        "starts_at": (now - dt.timedelta(hours=1)).isoformat(),
        "ends_at": (now + dt.timedelta(hours=6)).isoformat(),
        "priority": "immediate",
    }

    def issue() -> dict[str, Any]:
        r = httpx.post(f"{base}/api/v1/tasks", json=body, headers=staff, timeout=30)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    task, got = run_async(_device_session(port, issue))
    uid = f"cmcc-task-{task['id']}"
    (drawing,) = [e for e in got if e.uid == uid]
    assert drawing.type == "u-d-f" and drawing.callsign == "Task: Secure the aid corridor"
    assert "priority immediate" in (drawing.remarks or "")
    assert "<link point=" in drawing.detail_xml  # the area's outline, vertex by vertex

    relayed = [e for e in hq.events(2.0) if e.uid == "idn-bn-1"]
    assert relayed and {e.type for e in relayed} == {"a-f-G-U-C-I"}  # the battalion's symbol
    assert all(e.uid != uid for e in hq.events(0.2))  # the task goes to the unit's devices only
    hq.close()

    def alerts() -> list[Any]:
        found = httpx.get(f"{base}/api/v1/alerts", headers=staff, params={"limit": 500})
        return [a for a in found.json()["data"] if a["kind"] == "outside_tasked_area"]

    (alert,) = eventually(alerts, 15)  # two positions outside, one alert
    assert alert["task_id"] == task["id"] and alert["unit_id"] is not None
    assert "Secure the aid corridor" in alert["message"]

    again = run_async(_reconnect(port, uid))  # a device that reconnects gets its open task
    assert uid in {e.uid for e in again}
