"""The TAK gateway's bridge to the platform: tracks in batches, the `tracks` collection, caveat
alerts from positions, spot markers as draft incidents, the outbound picture; both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cmcc.access.domain import Principal, Role
from cmcc.access.service import org_by_code
from cmcc.audit.models import AuditEntry
from cmcc.audit.service import verify
from cmcc.bootstrap import Platform
from cmcc.core.errors import NotFound
from cmcc.core.releasability import Viewer
from cmcc.cot import devices, outbound, tracks
from cmcc.cot.bridge import ALERT_KIND, Bridge
from cmcc.cot.codec import make_event, parse_xml
from cmcc.cot.event import CotEvent
from cmcc.cot.ogc import TrackCollection
from cmcc.incidents.models import Alert, Incident
from cmcc.interop.ogcapi.provider import ItemQuery
from tests.factories import caller, from_devices, org, pledge_body

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
SYSTEM = Principal.system_operator()
GAZA = {  # a stand-in for the Strip
    "type": "Polygon",
    "coordinates": [
        [[34.30, 31.30], [34.50, 31.30], [34.50, 31.55], [34.30, 31.55], [34.30, 31.30]]
    ],
}
INSIDE = (31.45, 34.40)  # lat, lon
OUTSIDE = (31.20, 34.25)
TRACK_DETAIL = '<track speed="3.5" course="270.0"/><__group name="Cyan" role="Team Member"/>'


def position(
    uid: str, at: dt.datetime, lat: float, lon: float, callsign: str | None = None
) -> CotEvent:
    return make_event(
        uid,
        "a-f-G-U-C",
        lat,
        lon,
        now=at,
        stale_seconds=120,
        how="m-g",
        callsign=callsign or uid.upper(),
        detail_children=TRACK_DETAIL,
    )


def viewer(platform: Platform, code: str) -> Viewer:
    with platform.unit_of_work(SYSTEM) as s:
        o = org_by_code(s, code)
        return Viewer(o.id, o.code, o.is_member)


def register(platform: Platform, uid: str, code: str, **kw: Any) -> None:
    with platform.unit_of_work(SYSTEM, write=True) as s:
        devices.register(s, uid, code, **kw)


def ok(r: Any, code: int = 201) -> dict[str, Any]:
    assert r.status_code == code, r.text
    return dict(r.json())


def test_batch_of_positions_becomes_tracks(platform: Platform) -> None:
    org(platform, "USA")
    register(platform, "usa-1", "USA", callsign="EAGLE 1")
    bridge = Bridge(platform)
    batch = [
        position("usa-1", T0, 31.40, 34.40),
        position("usa-1", T0 + dt.timedelta(seconds=10), 31.41, 34.41),
        position("usa-2", T0 + dt.timedelta(seconds=5), 31.42, 34.42),
        make_event("hostile", "a-h-G", 31.4, 34.4, now=T0, stale_seconds=60),  # not friendly
        make_event("ping", "t-x-c-t", 0.0, 0.0, now=T0, stale_seconds=60),
    ]
    assert bridge.ingest(from_devices(batch)) == 3
    assert bridge.ingest(from_devices([])) == 0

    everyone = Viewer(None, None, True, sees_all=True)
    with platform.unit_of_work(SYSTEM) as s:
        latest = {t.uid: t for t in tracks.latest(s, everyone)}
        assert set(latest) == {"usa-1", "usa-2"}
        first = latest["usa-1"]
        assert (first.lat, first.lon, first.time) == (31.41, 34.41, T0 + dt.timedelta(seconds=10))
        assert (first.speed, first.course, first.hae) == (3.5, 270.0, None)
        assert first.owner_code == "USA" and first.releasability == "mission"
        assert latest["usa-2"].owner_code == "CMCC" and latest["usa-2"].releasability == "owner"
        window = tracks.positions(s, everyone, "usa-1", T0, T0 + dt.timedelta(seconds=5))
        assert [p.time for p in window] == [T0]
        at_start = tracks.latest(s, everyone, at=T0 + dt.timedelta(seconds=1))
        assert [(t.uid, t.time) for t in at_start] == [("usa-1", T0)]

        # One audit entry for the batch, in the chain, whose digest covers the rows.
        entries = list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.entity == "tracks").order_by(AuditEntry.seq)
            )
        )
        assert len(entries) == 1
        assert '"count":3' in entries[0].changes
        assert verify(s).ok
        first_id, last_id = (int(x) for x in entries[0].record_id.split("-"))
        digest = entries[0].changes.split('"sha256":"')[1].split('"')[0]
        assert tracks.verify_batch(s, first_id, last_id, digest)
    with platform.unit_of_work(SYSTEM, write=True) as s:
        s.get_one(tracks.Track, first_id).speed = 99.0  # tampering (audited on its own)
    with platform.unit_of_work(SYSTEM) as s:
        assert not tracks.verify_batch(s, first_id, last_id, digest)


def test_latest_per_uid_respects_releasability(platform: Platform) -> None:
    for code in ("USA", "GBR"):
        org(platform, code)
    register(platform, "usa-secret", "USA", releasability="owner")
    register(platform, "usa-open", "USA")
    bridge = Bridge(platform)
    bridge.ingest(
        from_devices(
            [
                position("usa-secret", T0, 31.40, 34.40),
                position("usa-open", T0, 31.41, 34.41),
                position("stranger", T0, 31.42, 34.42),  # unregistered: CMCC's, owner only
            ]
        )
    )
    usa, gbr, cmcc = (viewer(platform, c) for c in ("USA", "GBR", "CMCC"))
    with platform.unit_of_work(SYSTEM) as s:
        assert [t.uid for t in tracks.latest(s, usa)] == ["usa-open", "usa-secret"]
        assert [t.uid for t in tracks.latest(s, gbr)] == ["usa-open"]
        assert [t.uid for t in tracks.latest(s, cmcc)] == ["stranger", "usa-open"]
        assert tracks.positions(s, gbr, "usa-secret") == []
        assert [t.uid for t in tracks.latest(s, Viewer.public())] == []

        collection = TrackCollection()
        page = collection.query(s, gbr, ItemQuery(None, None, 10, 0))
        assert [f["id"] for f in page.features] == ["usa-open"] and page.number_matched == 1
        feature = page.features[0]
        assert feature["geometry"] == {"type": "Point", "coordinates": [34.41, 31.41]}
        assert feature["properties"]["owner"] == "USA"
        assert collection.get(s, usa, "usa-secret")["properties"]["speed"] == 3.5
        with pytest.raises(NotFound):  # like a uid that does not exist
            collection.get(s, gbr, "usa-secret")


def test_tracks_collection_datetime_selects_latest_before(platform: Platform) -> None:
    bridge = Bridge(platform)
    bridge.ingest(
        from_devices(
            [position("u1", T0 + dt.timedelta(minutes=m), 31.4, 34.3 + m / 100) for m in range(3)]
        )
    )
    cmcc = viewer(platform, "CMCC")
    collection = TrackCollection()
    with platform.unit_of_work(SYSTEM) as s:
        now = collection.query(s, cmcc, ItemQuery(None, None, 10, 0)).features
        assert now[0]["properties"]["time"] == (T0 + dt.timedelta(minutes=2)).isoformat()
        moment = T0 + dt.timedelta(minutes=1, seconds=30)
        then = collection.query(s, cmcc, ItemQuery(None, (moment, moment), 10, 0)).features
        assert then[0]["properties"]["time"] == (T0 + dt.timedelta(minutes=1)).isoformat()
        before = collection.query(s, cmcc, ItemQuery(None, (None, T0 - dt.timedelta(1)), 10, 0))
        assert before.features == [] and before.number_matched == 0
        boxed = collection.query(s, cmcc, ItemQuery((34.315, 31.3, 34.5, 31.5), None, 10, 0))
        assert [f["id"] for f in boxed.features] == ["u1"]
        missed = collection.query(s, cmcc, ItemQuery((34.29, 31.3, 34.305, 31.5), None, 10, 0))
        assert missed.features == []  # u1's latest position is outside, an older one inside
        bbox, span = collection.extent(s, cmcc)
        assert bbox is not None and span == (T0, T0 + dt.timedelta(minutes=2))


def test_caveat_alert_raised_once_on_entry(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    zone = ok(
        client.post(
            "/api/v1/zones",
            headers=staff,
            json={
                "name": "Gaza Strip",
                "kind": "gaza_strip",
                "geometry": GAZA,
                "valid_from": "2026-01-01T00:00:00Z",
            },
        )
    )
    pledge = ok(
        client.post(
            "/api/v1/pledges",
            headers=staff,
            json=pledge_body(state="USA", caveats={"forbidden_zone_kinds": ["gaza_strip"]}),
        )
    )
    org(platform, "USA")
    org(platform, "IDN")
    register(platform, "usa-1", "USA", pledge_ref=pledge["ref"])
    register(platform, "idn-1", "IDN")  # no pledge: no caveats to break
    bridge = Bridge(platform)

    def step(minutes: int, where: tuple[float, float], uid: str = "usa-1") -> None:
        bridge.ingest(from_devices([position(uid, T0 + dt.timedelta(minutes=minutes), *where)]))

    def alerts() -> list[Alert]:
        with platform.unit_of_work(SYSTEM) as s:
            stmt = select(Alert).where(Alert.kind == ALERT_KIND).order_by(Alert.id)
            return list(s.scalars(stmt))

    step(0, OUTSIDE)
    assert alerts() == []
    step(1, INSIDE)
    step(1, INSIDE, "idn-1")
    assert len(alerts()) == 1
    # Still inside, in one batch and in later ones: no new alert.
    bridge.ingest(
        from_devices([position("usa-1", T0 + dt.timedelta(minutes=m), *INSIDE) for m in (2, 3)])
    )
    step(4, INSIDE)
    [alert] = alerts()
    assert alert.zone_id == zone["id"] and alert.status == "open"
    assert "USA unit USA-1" in alert.message and pledge["ref"] in alert.message
    assert alert.owner_code == "USA" and alert.marking_text == "mission"
    assert alert.track_id is not None and alert.pledge_id == pledge["id"]
    # Out and in again: a second entry.
    step(5, OUTSIDE)
    step(6, INSIDE)
    assert len(alerts()) == 2


def test_spot_marker_becomes_one_draft_incident(platform: Platform) -> None:
    org(platform, "USA")
    register(platform, "usa-1", "USA")
    bridge = Bridge(platform)
    marker = make_event(
        "spot-77",
        "b-m-p-s-m",
        31.45,
        34.40,
        now=T0,
        stale_seconds=3600,
        callsign="EAGLE 1",
        remarks="Crater on the road, <unexploded?> round",
    )
    assert bridge.ingest(from_devices([marker, marker])) == 1
    assert bridge.ingest(from_devices([marker])) == 0  # a repeat updates nothing
    with platform.unit_of_work(SYSTEM) as s:
        [incident] = s.scalars(select(Incident).where(Incident.external_ref == "cot:spot-77"))
        assert incident.status == "reported" and incident.type == "other"
        assert "Crater on the road, <unexploded?> round" in incident.narrative
        assert "EAGLE 1" in incident.narrative
        assert incident.owner_code == "CMCC" and incident.releasability == "owner"
        assert incident.occurred_at == T0
        assert (incident.geometry.x, incident.geometry.y) == (34.40, 31.45)


def test_outbound_picture_respects_releasability(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    for code in ("USA", "GBR"):
        org(platform, code)
    shared = ok(
        client.post(
            "/api/v1/zones",
            headers=staff,
            json={
                "name": "Sector North",
                "kind": "isf_sector",
                "geometry": GAZA,
                "valid_from": "2026-01-01T00:00:00Z",
                "releasability": "mission",
            },
        )
    )
    hidden = ok(
        client.post(
            "/api/v1/zones",
            headers=staff,
            json={
                "name": "Secret site",
                "kind": "restricted_area",
                "geometry": GAZA,
                "valid_from": "2026-01-01T00:00:00Z",
                "releasability": "rel:GBR",
            },
        )
    )
    incident = ok(
        client.post(
            "/api/v1/incidents",
            headers=staff,
            json={
                "type": "explosive_ordnance_found",
                "occurred_at": "2026-03-01T10:00:00Z",
                "geometry": {"type": "Point", "coordinates": [34.45, 31.5]},
                "severity": 3,
                "narrative": "Mortar round",
                "releasability": "mission",
            },
        )
    )
    draft = ok(
        client.post(
            "/api/v1/incidents",
            headers=staff,
            json={
                "type": "other",
                "occurred_at": "2026-03-01T10:00:00Z",
                "geometry": {"type": "Point", "coordinates": [34.46, 31.5]},
                "severity": 1,
                "releasability": "mission",
            },
        )
    )
    for n, body in enumerate(
        [
            {"to": "under_verification", "note": "team sent"},
            {"to": "verified", "note": "seen", "attribution": "undetermined"},
        ]
    ):
        ok(
            client.post(
                f"/api/v1/incidents/{incident['id']}/verification",
                headers=staff,
                json={**body, "version": n + 1},
            )
        )
    usa, gbr = viewer(platform, "USA"), viewer(platform, "GBR")
    with platform.unit_of_work(SYSTEM) as s:
        for_usa = {e.uid: e for e in outbound.picture(s, usa)}
        for_gbr = {e.uid: e for e in outbound.picture(s, gbr)}
        for_public = outbound.picture(s, Viewer.public())
        assert set(for_usa) == {f"cmcc-zone-{shared['id']}", f"cmcc-incident-{incident['id']}"}
        assert f"cmcc-zone-{hidden['id']}" in for_gbr
        assert f"cmcc-incident-{draft['id']}" not in for_gbr  # not verified
        assert for_public == []
        drawing = for_usa[f"cmcc-zone-{shared['id']}"]
        assert drawing.type == "u-d-f" and drawing.callsign == "Sector North"
        assert drawing.detail_xml.count("<link point=") == 5
        assert '<link point="31.3,34.3"/>' in drawing.detail_xml
        assert drawing.stale - drawing.time == dt.timedelta(hours=1)
        marker = for_usa[f"cmcc-incident-{incident['id']}"]
        assert marker.type == "b-m-p-s-m" and (marker.lat, marker.lon) == (31.5, 34.45)
        assert "Mortar round" in (marker.remarks or "")
        assert parse_xml(drawing.raw).uid == drawing.uid  # what goes on the wire parses back

        # Not released to USA: deletes by uid only, which the server sends to a client only if
        # it was shown that uid (test_a_narrowed_record_is_deleted_from_clients_that_had_it).
        [told] = outbound.for_record(s, usa, "zone", hidden["id"])
        assert told.type == "t-x-d-d" and told.link_uids == (f"cmcc-zone-{hidden['id']}",)
        [again] = outbound.for_record(s, gbr, "zone", hidden["id"])
        assert again.uid == f"cmcc-zone-{hidden['id']}"
        assert outbound.for_record(s, usa, "incident", draft["id"]) != []  # visible: delete
        [gone] = outbound.for_record(s, usa, "incident", draft["id"])
        assert gone.type == "t-x-d-d" and f'uid="cmcc-incident-{draft["id"]}"' in gone.detail_xml


def test_a_narrowed_record_is_deleted_from_clients_that_had_it(
    platform: Platform, client: TestClient
) -> None:
    """A zone shown to USA's device is narrowed to GBR: the device is sent a delete of it; a
    client that was never shown it is told nothing (not even a delete)."""
    import asyncio

    from cmcc.cot.gateway import PlatformSink
    from cmcc.cot.server import CotServer, Limits
    from tests.asyncrun import run as run_async
    from tests.unit.test_cot_server import Conn

    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    for code in ("USA", "GBR", "TUR"):
        org(platform, code)
    register(platform, "usa-1", "USA")
    register(platform, "tur-1", "TUR", releasability="owner")
    zone = ok(
        client.post(
            "/api/v1/zones",
            headers=staff,
            json={
                "name": "Sector North",
                "kind": "isf_sector",
                "geometry": GAZA,
                "valid_from": "2026-01-01T00:00:00Z",
                "releasability": "rel:USA",
            },
        )
    )
    uid = f"cmcc-zone-{zone['id']}"
    now = dt.datetime.now(dt.UTC)

    async def main() -> None:
        server = CotServer(PlatformSink(platform), Limits())
        await server.start("127.0.0.1", [0])
        port = server.ports[0]
        try:
            usa = Conn(*await asyncio.open_connection("127.0.0.1", port))
            tur = Conn(*await asyncio.open_connection("127.0.0.1", port))
            for conn, who in ((usa, "usa-1"), (tur, "tur-1")):
                ev = make_event(who, "a-f-G-U-C", *OUTSIDE, now=now, stale_seconds=60)
                await conn.send(ev.raw)
            assert uid in {e.uid for e in await usa.read_for(1.0)}
            assert uid not in {e.uid for e in await tur.read_for(0.5)}
            r = client.patch(
                f"/api/v1/zones/{zone['id']}",
                headers=staff,
                json={"version": zone["version"], "releasability": "rel:GBR"},
            )
            assert r.status_code == 200, r.text
            await server.platform_changed("zone", zone["id"])
            [gone] = [e for e in await usa.read_for(1.0) if e.type == "t-x-d-d"]
            assert gone.link_uids == (uid,)
            assert await tur.read_for(0.5) == []  # never shown it: told nothing
            await server.platform_changed("zone", zone["id"])  # again: nothing left to delete
            assert await usa.read_for(0.5) == []
        finally:
            await server.stop()

    run_async(main())
