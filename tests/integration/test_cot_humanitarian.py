"""Notified humanitarian sites and movements on TAK, on both backends: in the picture of the
organizations they were shared with (a protected marker, a route with its window), never a
contact; deletes when they end (withdrawn, replaced, window over, by the clock); and the alert
when a unit's own position falls inside an active movement's protective zone (one per unit and
movement)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from cmcc.access.domain import Principal, Role
from cmcc.access.service import org_by_code
from cmcc.bootstrap import Platform
from cmcc.core.releasability import Viewer
from cmcc.cot import codec, devices, outbound
from cmcc.cot.bridge import Bridge
from cmcc.cot.event import CotEvent, Report
from cmcc.cot.movement_alerts import ALERT_KIND
from cmcc.incidents.models import Alert
from tests.factories import caller
from tests.humanitarian_fixtures import Cast, iso, movement_body, notify, ok, site_body, step
from tests.integration.test_command import Force

CONTACT_WORDS = ("Omar Nasser", "111 1111", "Amal Haddad", "000 0000", "wfp.example")
ON_ROUTE = (31.30, 34.30)  # lat, lon: a point of the notified route
OFF_ROUTE = (31.40, 34.45)


def _viewer(platform: Platform, code: str) -> Viewer:
    with platform.unit_of_work(Principal.system_operator()) as s:
        org = org_by_code(s, code)
        return Viewer(org.id, org.code, org.is_member)


def _notified(platform: Platform, code: str, now: dt.datetime | None = None) -> list[CotEvent]:
    """The notified sites and movements in the picture of an organization's clients."""
    with platform.unit_of_work(Principal.system_operator()) as s:
        events = outbound.picture(s, _viewer(platform, code), now=now)
    return [e for e in events if e.uid.startswith("cmcc-notified-")]


def _record(platform: Platform, code: str, record_id: int, now: dt.datetime) -> list[CotEvent]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return outbound.for_record(s, _viewer(platform, code), "notification", record_id, now=now)


def _window(start: dt.timedelta, end: dt.timedelta) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {"valid_from": iso(now + start), "valid_to": iso(now + end)}


def test_shared_sites_and_movements_reach_the_force_as_protected_items(
    platform: Platform, client: TestClient
) -> None:
    cast = Cast(platform)
    hour = dt.timedelta(hours=1)
    clinic = notify(client, cast.partner, site_body())
    clinic = step(client, cast.centre, clinic, "shared", audiences=["force"])
    convoy = notify(client, cast.partner, movement_body(**_window(-hour, hour / 2)))
    convoy = step(client, cast.centre, convoy, "shared", audiences=["force"])
    later = notify(client, cast.partner, movement_body(title="Convoy 13"))  # in three days
    later = step(client, cast.centre, later, "shared", audiences=["force"])

    seen = {e.uid: e for e in _notified(platform, "ISF-HQ")}
    site_uid = f"cmcc-notified-site-{clinic['id']}"
    route_uid = f"cmcc-notified-movement-{convoy['id']}"
    assert set(seen) == {site_uid, route_uid}  # not the convoy whose window has not opened
    site, route = seen[site_uid], seen[route_uid]
    assert (site.type, site.callsign) == ("a-n-G-I", "Deir al-Balah field clinic")
    assert (site.lat, site.lon) == (31.4189, 34.3517)
    assert (site.remarks or "").startswith("Notified humanitarian site — protected. health site")
    assert "hours daily 08:00-16:00" in (site.remarks or "")
    assert route.type == "b-m-r" and route.callsign == "WFP convoy 12 to Khan Younis"
    assert route.detail_xml.count('type="b-m-p-w"') == 2  # start and end
    assert route.detail_xml.count("<link ") == 3  # one per point of the route
    assert 'point="31.3,34.3"' in route.detail_xml
    remarks = route.remarks or ""
    assert remarks.startswith("Notified humanitarian movement — protected. Convoy of WFP")
    assert "20 vehicles" in remarks and "via Kerem Shalom" in remarks
    ends = dt.datetime.fromisoformat(convoy["valid_to"])
    assert abs(route.stale - ends) < dt.timedelta(seconds=1)  # gone when its window ends
    for event in (site, route):
        assert not any(word in event.raw.decode() for word in CONTACT_WORDS)

    # Not shared with the party's liaison cell, nor with another partner; the partner's own.
    assert _notified(platform, "COGAT") == [] and _notified(platform, "MSF") == []
    assert {e.uid for e in _notified(platform, "WFP")} == {site_uid, route_uid}

    # The later convoy enters the picture when its window opens: the gateway watches the clock.
    opens = dt.datetime.fromisoformat(later["valid_from"])
    with platform.unit_of_work(Principal.system_operator()) as s:
        edges = outbound.window_edges(s, opens - dt.timedelta(minutes=1), opens)
    assert ("notification", later["id"]) in edges
    (shown,) = _record(platform, "ISF-HQ", later["id"], opens + dt.timedelta(minutes=1))
    assert shown.uid == f"cmcc-notified-movement-{later['id']}" and shown.type == "b-m-r"
    closes = dt.datetime.fromisoformat(later["valid_to"])
    (gone,) = _record(platform, "ISF-HQ", later["id"], closes)
    assert gone.is_delete and gone.link_uids == (shown.uid,)


def test_an_ended_notification_is_deleted_from_the_clients(
    platform: Platform, client: TestClient
) -> None:
    cast = Cast(platform)
    hour = dt.timedelta(hours=1)
    now = dt.datetime.now(dt.UTC)
    clinic = notify(client, cast.partner, site_body())
    clinic = step(client, cast.centre, clinic, "shared", audiences=["force"])
    convoy = notify(client, cast.partner, movement_body(**_window(-hour, 5 * hour)))
    convoy = step(client, cast.centre, convoy, "shared", audiences=["force"])

    step(client, cast.partner, clinic, "withdrawn", note="the clinic moved")
    (gone,) = _record(platform, "ISF-HQ", clinic["id"], now)
    assert gone.is_delete and gone.link_uids == (f"cmcc-notified-site-{clinic['id']}",)

    body = movement_body(title="WFP convoy 12 (new route)", **_window(-hour, 5 * hour))
    del body["kind"]
    body["version"] = convoy["version"]
    path = f"/api/v1/notifications/{convoy['lineage']}/versions"
    v2 = ok(client.post(path, headers=cast.partner.headers, json=body))
    (replaced,) = _record(platform, "ISF-HQ", convoy["id"], now)
    assert replaced.is_delete
    assert replaced.link_uids == (f"cmcc-notified-movement-{convoy['id']}",)
    (new,) = _record(platform, "ISF-HQ", v2["id"], now)
    assert new.uid == f"cmcc-notified-movement-{v2['id']}" and not new.is_delete
    assert new.callsign == "WFP convoy 12 (new route)"  # the new version, still shared

    step(client, cast.partner, v2, "completed")
    assert [e.uid for e in _notified(platform, "ISF-HQ")] == []
    (done,) = _record(platform, "ISF-HQ", v2["id"], now)
    assert done.is_delete


def _position(uid: str, where: tuple[float, float], at: dt.datetime) -> Report:
    ev = codec.make_event(
        uid, "a-f-G-U-C", where[0], where[1], now=at, stale_seconds=600, callsign=uid.upper()
    )
    return Report.from_device(ev)


def _alerts(platform: Platform) -> list[Alert]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        rows = s.scalars(select(Alert).where(Alert.kind == ALERT_KIND).order_by(Alert.id)).all()
        s.expunge_all()
        return list(rows)


def test_a_unit_inside_an_active_movement_raises_one_alert(
    platform: Platform, client: TestClient
) -> None:
    f = Force(platform, client, {})
    cast = Cast(platform)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, "idn-bn-1", "IDN", callsign="GARUDA-BN", unit_lineage=f.bn)
        devices.register(s, "idn-2", "IDN", callsign="GARUDA-2", pledge_ref=f.pledge["ref"])
        devices.register(s, "idn-hq", "IDN", callsign="GARUDA-HQ")  # neither unit nor pledge
    now = dt.datetime.now(dt.UTC)
    hour = dt.timedelta(hours=1)
    convoy = notify(client, cast.partner, movement_body(**_window(-hour, 5 * hour)))
    bridge = Bridge(platform)
    bridge.ingest([_position("idn-bn-1", ON_ROUTE, now - 2 * hour)])  # before the window
    bridge.ingest([_position("idn-bn-1", OFF_ROUTE, now)])
    bridge.ingest([_position("idn-hq", ON_ROUTE, now)])
    bridge.ingest([_position("unregistered", ON_ROUTE, now)])
    assert _alerts(platform) == []

    bridge.ingest([_position("idn-bn-1", ON_ROUTE, now), _position("idn-bn-1", ON_ROUTE, now)])
    (alert,) = _alerts(platform)  # one per unit and movement, not one per position
    assert alert.zone_id is not None and alert.track_id is not None and alert.unit_id is not None
    assert alert.message.startswith("IDN Battalion 1 (")
    assert "is inside the notified humanitarian movement" in alert.message
    assert (
        "WFP convoy 12 to Khan Younis" in alert.message and "reported by IDN-BN-1" in alert.message
    )

    # A new version of the movement is the same movement: no second alert for the battalion.
    body = movement_body(title="WFP convoy 12 (delayed)", **_window(-hour, 6 * hour))
    del body["kind"]
    body["version"] = convoy["version"]
    path = f"/api/v1/notifications/{convoy['lineage']}/versions"
    ok(client.post(path, headers=cast.partner.headers, json=body))
    bridge.ingest([_position("idn-bn-1", ON_ROUTE, now + dt.timedelta(minutes=1))])
    assert len(_alerts(platform)) == 1
    # Another of the contingent's devices (by its pledge): its own alert.
    bridge.ingest([_position("idn-2", ON_ROUTE, now + dt.timedelta(minutes=1))])
    first, second = _alerts(platform)
    assert second.unit_id is None and second.message.startswith("IDN IDN-2 is inside")

    # Released with its zone (the notification's marking) and its track: the centre sees it,
    # the party's liaison cell (nothing shared with it) does not.
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    listed = ok(client.get("/api/v1/alerts", headers=staff), 200)["data"]
    assert {a["id"] for a in listed if a["kind"] == ALERT_KIND} == {first.id, second.id}
    theirs = ok(client.get("/api/v1/alerts", headers=cast.liaison.headers), 200)["data"]
    assert all(a["kind"] != ALERT_KIND for a in theirs)


def test_connected_clients_get_their_picture_again(platform: Platform, client: TestClient) -> None:
    """The platform's items are stale within the hour: the gateway sends each connected client
    its picture again (here at once), so a protected site stays on a client that stays on."""
    import asyncio

    from cmcc.cot.gateway import PlatformSink
    from cmcc.cot.server import CotServer, Limits
    from tests.asyncrun import run as run_async
    from tests.unit.test_cot_server import Conn

    cast = Cast(platform)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, "isf-1", "ISF-HQ", callsign="ISF-OPS")
    clinic = notify(client, cast.partner, site_body())
    step(client, cast.centre, clinic, "shared", audiences=["force"])
    uid = f"cmcc-notified-site-{clinic['id']}"

    async def main() -> None:
        server = CotServer(PlatformSink(platform), Limits())
        await server.start("127.0.0.1", [0])
        try:
            conn = Conn(*await asyncio.open_connection("127.0.0.1", server.ports[0]))
            hello = codec.make_event(
                "isf-1", "a-f-G", 31.4, 34.4, now=dt.datetime.now(dt.UTC), stale_seconds=60
            )
            await conn.send(hello.raw)
            (first,) = [e for e in await conn.read_for(1.0) if e.uid == uid]
            await server.refresh_pictures()
            (again,) = [e for e in await conn.read_for(1.0) if e.uid == uid]
            assert again.type == first.type == "a-n-G-I" and again.stale >= first.stale
        finally:
            await server.stop()

    run_async(main())
