"""TAK devices linked to ORBAT units, on both backends: the tasked-area alert from the bridge's
batch (one per task, only in the window), the caveat alert through the unit's pledge, the
unit's symbol on the tracks collection, and the task as the CoT item its devices get."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from cmcc.access.domain import Principal, Role
from cmcc.bootstrap import Platform
from cmcc.cot import codec, devices, tasks
from cmcc.cot.bridge import Bridge
from cmcc.cot.event import Report
from cmcc.cot.task_alerts import ALERT_KIND
from cmcc.incidents.models import Alert
from tests.factories import caller
from tests.integration.test_command import Force, ok

IN_TASK = (31.305, 34.305)  # lat, lon: inside the task's zone (34.30-34.31, 31.30-31.31)
OUT_OF_TASK = (31.325, 34.315)  # inside Sector South, outside the task's zone
WINDOW = dt.datetime(2026, 3, 5, 6, tzinfo=dt.UTC)


def _position(uid: str, where: tuple[float, float], at: dt.datetime) -> Report:
    ev = codec.make_event(
        uid, "a-f-G-U-C", where[0], where[1], now=at, stale_seconds=600, callsign=uid.upper()
    )
    return Report.from_device(ev)


def _linked(platform: Platform, f: Force, uid: str = "idn-bn-1") -> None:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, uid, "IDN", callsign=uid.upper(), unit_lineage=f.bn)


def _alerts(platform: Platform, kind: str) -> list[Alert]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        rows = s.scalars(select(Alert).where(Alert.kind == kind).order_by(Alert.id)).all()
        s.expunge_all()
        return list(rows)


def test_outside_the_tasked_area_raises_one_alert(platform: Platform, client: TestClient) -> None:
    f = Force(platform, client, {})
    f.effective("opcon")
    task = ok(f.task(title="Hold the crossing", priority="immediate"))
    _linked(platform, f)
    bridge = Bridge(platform)
    hour = dt.timedelta(hours=1)
    bridge.ingest([_position("idn-bn-1", IN_TASK, WINDOW + hour)])
    bridge.ingest([_position("idn-bn-1", OUT_OF_TASK, WINDOW - hour)])  # before the window
    assert _alerts(platform, ALERT_KIND) == []
    bridge.ingest(
        [
            _position("idn-bn-1", IN_TASK, WINDOW + 2 * hour),
            _position("idn-bn-1", OUT_OF_TASK, WINDOW + 3 * hour),
            _position("idn-bn-1", OUT_OF_TASK, WINDOW + 3 * hour + dt.timedelta(minutes=1)),
        ]
    )
    bridge.ingest([_position("idn-bn-1", OUT_OF_TASK, WINDOW + 4 * hour)])
    (alert,) = _alerts(platform, ALERT_KIND)  # one open alert per task, not one per position
    assert alert.task_id == task["id"] and alert.unit_id is not None
    assert alert.track_id is not None and alert.zone_id is not None
    assert "Hold the crossing" in alert.message and "outside its tasked area" in alert.message

    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    listed = ok(client.get("/api/v1/alerts", headers=staff), 200)["data"]
    assert any(a["id"] == alert.id for a in listed)


def test_a_unit_device_takes_its_units_pledge_caveats(
    platform: Platform, client: TestClient
) -> None:
    f = Force(platform, client, {"forbidden_zone_kinds": ["area_under_idf_control"]})
    _linked(platform, f)
    Bridge(platform).ingest([_position("idn-bn-1", IN_TASK, dt.datetime.now(dt.UTC))])
    (alert,) = _alerts(platform, "caveat_violation")
    assert alert.pledge_id == f.pledge["id"]


def test_tracks_show_the_units_symbol(platform: Platform, client: TestClient) -> None:
    f = Force(platform, client, {})
    _linked(platform, f)
    Bridge(platform).ingest([_position("idn-bn-1", OUT_OF_TASK, dt.datetime.now(dt.UTC))])
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    items = ok(client.get("/ogc/collections/tracks/items?f=json", headers=staff), 200)
    (feature,) = [x for x in items["features"] if x["id"] == "idn-bn-1"]
    props = feature["properties"]
    assert (props["unit"], props["sidc"]) == (f.bn, "SFGPUCI----F---")
    assert props["unit_name"] == "IDN Battalion 1"


def test_a_task_reaches_its_units_devices(platform: Platform, client: TestClient) -> None:
    f = Force(platform, client, {})
    f.effective("opcon")
    _linked(platform, f)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, "idn-other", "IDN")  # not of the unit
    now = dt.datetime.now(dt.UTC)
    task = ok(
        f.task(
            title="Escort the convoy",
            starts_at=(now - dt.timedelta(hours=1)).isoformat(),
            ends_at=(now + dt.timedelta(hours=5)).isoformat(),
            priority="priority",
        )
    )
    with platform.unit_of_work(Principal.system_operator()) as s:
        (delivery,) = tasks.deliveries(s, task["id"])
        joined = tasks.device_tasks(s, "idn-bn-1")
        assert tasks.device_tasks(s, "idn-other") == []
    uids, (event,) = delivery
    assert uids == {"idn-bn-1"}
    assert (event.uid, event.type) == (f"cmcc-task-{task['id']}", "u-d-f")
    assert "Escort the convoy" in (event.remarks or "") and "priority priority" in event.remarks
    assert event.callsign == "Task: Escort the convoy"
    assert event.stale > now + dt.timedelta(hours=4)  # shown until the window closes
    assert [e.uid for e in joined] == [event.uid]

    point = ok(
        f.task(
            title="Check the well",
            zone=None,
            lon=34.305,
            lat=31.305,
            starts_at=(now - dt.timedelta(hours=1)).isoformat(),
            ends_at=(now + dt.timedelta(hours=1)).isoformat(),
        )
    )
    with platform.unit_of_work(Principal.system_operator()) as s:
        ((_, (marker,)),) = tasks.deliveries(s, point["id"])
    assert marker.type == "b-m-p-s-p-loc"

    cancelled = ok(
        client.post(
            f"/api/v1/tasks/{task['id']}/status",
            json={"status": "cancelled", "version": task["version"]},
            headers=f.staff,
        ),
        200,
    )
    assert cancelled["status"] == "cancelled"
    with platform.unit_of_work(Principal.system_operator()) as s:
        ((_, (gone,)),) = tasks.deliveries(s, task["id"])
        assert event.uid not in {e.uid for e in tasks.device_tasks(s, "idn-bn-1")}
    assert gone.is_delete and gone.link_uids == (event.uid,)


def test_device_unit_must_exist(platform: Platform) -> None:
    import pytest

    from cmcc.core.errors import NotFound

    with (
        pytest.raises(NotFound),
        platform.unit_of_work(Principal.system_operator(), write=True) as s,
    ):
        devices.register(s, "x-1", "CMCC", unit_lineage=999_999)
