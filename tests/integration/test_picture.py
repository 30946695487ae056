"""The operational picture: zones with validity, incidents with verification, spatial and time
queries on both backends, geofence alerts (records and live feed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from tests.factories import caller

GAZA_CITY = (34.45, 31.517)
SAFE = {
    "type": "Polygon",
    "coordinates": [
        [[34.44, 31.50], [34.46, 31.50], [34.46, 31.52], [34.44, 31.52], [34.44, 31.50]]
    ],
}


def _ok(r: Any, code: int = 201) -> dict[str, Any]:
    assert r.status_code == code, r.text
    return dict(r.json())


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def incident(**over: Any) -> dict[str, Any]:
    body = {
        "type": "ceasefire_violation_fire",
        "occurred_at": "2026-03-01T10:00:00Z",
        "geometry": point(*GAZA_CITY),
        "severity": 3,
        "killed_civilian": 1,
        "source_reliability": "B",
        "info_credibility": 2,
        "narrative": "Small arms fire",
    }
    body.update(over)
    return body


def zone(**over: Any) -> dict[str, Any]:
    body = {
        "name": "Safe zone A",
        "kind": "civilian_safe_zone",
        "geometry": SAFE,
        "valid_from": "2026-01-01T00:00:00Z",
        "notional": True,
    }
    body.update(over)
    return body


def test_zone_versions_keep_history(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    line = _ok(
        client.post(
            "/api/v1/zones",
            headers=staff,
            json=zone(
                name="Yellow line", kind="area_under_idf_control", valid_from="2025-10-10T12:00:00Z"
            ),
        )
    )
    assert line["geometry"]["type"] == "Polygon" and line["lineage"] == line["id"]
    moved_geom = {
        "type": "Polygon",
        "coordinates": [
            [[34.45, 31.50], [34.46, 31.50], [34.46, 31.52], [34.45, 31.52], [34.45, 31.50]]
        ],
    }
    new = _ok(
        client.post(
            f"/api/v1/zones/{line['id']}/versions",
            headers=staff,
            json={"geometry": moved_geom, "valid_from": "2026-02-01T00:00:00Z", "version": 1},
        )
    )
    assert new["lineage"] == line["id"]

    def ids(**params: Any) -> list[int]:
        body = client.get("/api/v1/zones", headers=staff, params=params).json()
        return [z["id"] for z in body["data"]]

    assert ids(as_of="2025-12-01T00:00:00Z") == [line["id"]]
    assert ids(as_of="2026-03-01T00:00:00Z") == [new["id"]]
    assert ids(as_of="2025-01-01T00:00:00Z") == []
    assert sorted(ids(history=True, lineage=line["id"])) == [line["id"], new["id"]]
    old = client.get(f"/api/v1/zones/{line['id']}", headers=staff).json()
    assert old["valid_to"].startswith("2026-02-01")
    again = client.post(
        f"/api/v1/zones/{line['id']}/versions",
        headers=staff,
        json={"geometry": moved_geom, "valid_from": "2026-03-01T00:00:00Z", "version": 2},
    )
    assert again.status_code == 422  # only the newest version moves
    exported = client.get("/api/v1/zones/export", headers=staff, params={"history": True}).json()
    assert exported["type"] == "FeatureCollection" and len(exported["features"]) == 2


def test_bad_geometries_are_refused_with_a_reason(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[34.44, 31.50], [34.46, 31.52], [34.46, 31.50], [34.44, 31.52], [34.44, 31.50]]
        ],
    }
    cases = [
        (bowtie, "Self-intersection"),
        (point(34.45, 131.5), "out of range"),
        (point(31.517, 34.45), "swapped"),
        (point(2.35, 48.85), "outside the mission's area of interest"),
        ({"type": "Point", "coordinates": []}, "empty"),
        ({"type": "Circle", "coordinates": [1, 2]}, "not accepted"),
        ({"type": "Polygon", "coordinates": [[[34.44, 31.5], [34.46, 31.5]]]}, "malformed"),
    ]
    for geometry, reason in cases:
        r = client.post("/api/v1/incidents", headers=staff, json=incident(geometry=geometry))
        assert r.status_code == 422, (reason, r.text)
        error = r.json()["errors"][0]
        assert error["field"] == "body.geometry"
        assert reason.lower() in error["message"].lower(), (reason, error)
    far = client.post(
        "/api/v1/incidents",
        headers=staff,
        json=incident(geometry=point(2.35, 48.85), outside_aoi=True),
    )
    assert far.status_code == 201
    point_zone = client.post("/api/v1/zones", headers=staff, json=zone(geometry=point(*GAZA_CITY)))
    assert point_zone.status_code == 422  # a safe zone must be an area
    reversed_time = client.post(
        "/api/v1/incidents",
        headers=staff,
        json=incident(occurred_at="2026-03-02T00:00:00Z", reported_at="2026-03-01T00:00:00Z"),
    )
    assert reversed_time.status_code == 422


def test_incident_queries_by_place_time_and_kind(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    safe = _ok(client.post("/api/v1/zones", headers=staff, json=zone()))
    made = {}
    for name, lon, lat, when, kind in (
        ("inside", 34.45, 31.51, "2026-03-01T10:00:00Z", "ceasefire_violation_fire"),
        ("north", 34.50, 31.55, "2026-03-02T10:00:00Z", "aid_looting"),
        ("south", 34.26, 31.27, "2026-03-03T10:00:00Z", "ceasefire_violation_fire"),
        ("near", 34.4615, 31.51, "2026-03-01T11:00:00Z", "ceasefire_violation_fire"),
    ):
        made[name] = _ok(
            client.post(
                "/api/v1/incidents",
                headers=staff,
                json=incident(geometry=point(lon, lat), occurred_at=when, type=kind),
            )
        )["id"]

    def names(**params: Any) -> set[str]:
        r = client.get("/api/v1/incidents", headers=staff, params=params)
        assert r.status_code == 200, r.text
        got = {i["id"] for i in r.json()["data"]}
        return {n for n, i in made.items() if i in got}

    assert names(bbox="34.40,31.48,34.52,31.56") == {"inside", "north", "near"}
    assert names(
        bbox="34.40,31.48,34.52,31.56", datetime="2026-03-01T00:00:00Z/2026-03-01T23:59:59Z"
    ) == {"inside", "near"}
    assert names(datetime="2026-03-02T00:00:00Z/..") == {"north", "south"}
    assert names(type="aid_looting") == {"north"}
    assert names(zone=safe["id"]) == {"inside"}
    assert names(near="34.45,31.51,1500") == {"inside", "near"}
    assert names(near="34.45,31.51,500") == {"inside"}
    assert names(min_severity=4) == set()
    for params, field in (
        ({"bbox": "1,2,3"}, "query.bbox"),
        ({"bbox": "5,5,1,1"}, "query.bbox"),
        ({"datetime": "2026-03-02T00:00:00Z/2026-03-01T00:00:00Z"}, "query.datetime"),
        ({"datetime": "yesterday"}, "query.datetime"),
        ({"near": "34,31"}, "query.near"),
    ):
        r = client.get("/api/v1/incidents", headers=staff, params=params)
        assert r.status_code == 422, params
        assert r.json()["errors"][0]["field"] == field
    dupes = client.get(
        f"/api/v1/incidents/{made['inside']}/duplicates", headers=staff, params={"distance_m": 1500}
    ).json()
    assert [d["incident"]["id"] for d in dupes] == [made["near"]]
    assert 1000 < dupes[0]["distance_m"] < 1500
    assert dupes[0]["hours_apart"] == 1.0


def test_incident_list_pages_show_what_the_record_shows(
    platform: Platform, client: TestClient
) -> None:
    """The list reads incidents in bulk without the ORM (`incidents.readout`): every record of
    every page must be what the single-record route (the `IncidentPublic` schema) shows, and
    the count must be the total whichever page is asked."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    caller(platform, "UNMAS", Role.HUMANITARIAN_PARTNER)
    bodies = [
        incident(),
        incident(
            external_ref="ACLED-PSE-0001",
            type="aid_obstruction",
            occurred_at="2026-03-01T10:00:00.123456Z",
            reported_at="2026-03-02T08:30:00+02:00",
            geometry=SAFE,
            attachments=["evidence://a.jpg", "evidence://b.pdf"],
            narrative='Convoy held "for checks"\n\tfour hours; \u0642\u0627\u0641\u0644\u0629',
            source="OCHA",
            releasability="rel:UNMAS",
        ),
        incident(type="explosive_ordnance_found", geometry=point(34.30, 31.30), severity=5),
    ]
    ids = [_ok(client.post("/api/v1/incidents", headers=staff, json=b))["id"] for b in bodies]
    _ok(
        client.post(
            f"/api/v1/incidents/{ids[2]}/verification",
            headers=staff,
            json={"to": "under_verification", "note": "team sent", "version": 1},
        )
    )
    _ok(
        client.post(
            f"/api/v1/incidents/{ids[2]}/verification",
            headers=staff,
            json={
                "to": "verified",
                "note": "seen",
                "version": 2,
                "attribution": "undetermined",
                "finding": "A mortar round, unexploded.",
            },
        )
    )
    listed, cursor, counts = [], None, []
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = _ok(client.get("/api/v1/incidents", headers=staff, params=params), 200)
        listed += page["data"]
        counts.append(page["count"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [r["id"] for r in listed] == sorted(ids)
    assert counts == [3, 3]
    for record in listed:
        single = _ok(client.get(f"/api/v1/incidents/{record['id']}", headers=staff), 200)
        assert record == single
    one_page = _ok(client.get("/api/v1/incidents", headers=staff, params={"limit": 5}), 200)
    assert one_page["count"] == 3 and one_page["next_cursor"] is None
    assert _ok(
        client.get("/api/v1/incidents", headers=staff, params={"type": "aid_looting"}), 200
    ) == {"data": [], "count": 0, "next_cursor": None}


def test_verification_workflow(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    partner = caller(platform, "UNMAS", Role.HUMANITARIAN_PARTNER)
    made = _ok(client.post("/api/v1/incidents", headers=partner.headers, json=incident()))
    iid = made["id"]
    assert made["status"] == "reported"
    assert (made["acled_event_type"], made["acled_sub_event_type"]) == ("Battles", "Armed clash")

    def step(to: str, version: int, **extra: Any) -> Any:
        return client.post(
            f"/api/v1/incidents/{iid}/verification",
            headers=staff,
            json={"to": to, "note": f"step to {to}", "version": version, **extra},
        )

    assert step("verified", 1).status_code == 409  # must be under verification first
    assert (
        client.post(
            f"/api/v1/incidents/{iid}/verification",
            headers=partner.headers,
            json={"to": "under_verification", "note": "mine", "version": 1},
        ).status_code
        == 403
    )
    _ok(step("under_verification", 1))
    evidence = _ok(
        client.post(
            f"/api/v1/incidents/{iid}/evidence",
            headers=staff,
            json={
                "kind": "photo",
                "reference": "evidence://2026/03/01/0001.jpg",
                "observed_by": "Liaison team 3",
                "observed_at": "2026-03-01T10:05:00Z",
            },
        )
    )
    assert evidence["added_by"].endswith("@CMCC")
    assert step("not_verified", 2, attribution="party X").status_code == 409
    _ok(
        step(
            "verified",
            2,
            attribution="undetermined",
            finding="Fire confirmed by two teams.",
            releasability="public",
        )
    )
    final = client.get(f"/api/v1/incidents/{iid}").json()  # now public: no token needed
    assert (final["status"], final["attribution"], final["finding"]) == (
        "verified",
        "undetermined",
        "Fire confirmed by two teams.",
    )
    history = client.get(f"/api/v1/incidents/{iid}/verification", headers=staff).json()
    assert [(s["from_status"], s["to_status"]) for s in history] == [
        ("reported", "under_verification"),
        ("under_verification", "verified"),
    ]
    assert all(s["by"].endswith("@CMCC") for s in history)
    _ok(step("under_verification", 3))  # re-opened with new evidence
    reopened = client.get(f"/api/v1/incidents/{iid}", headers=staff).json()
    assert reopened["attribution"] is None


def test_incident_in_safe_zone_raises_alert(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    _ok(client.post("/api/v1/zones", headers=staff, json=zone(valid_to="2026-06-01T00:00:00Z")))
    inside = _ok(client.post("/api/v1/incidents", headers=staff, json=incident()))
    _ok(
        client.post("/api/v1/incidents", headers=staff, json=incident(geometry=point(34.30, 31.35)))
    )  # outside
    _ok(
        client.post(
            "/api/v1/incidents", headers=staff, json=incident(occurred_at="2026-07-01T00:00:00Z")
        )
    )  # after the zone closed
    hidden = _ok(
        client.post("/api/v1/incidents", headers=staff, json=incident(releasability="owner"))
    )
    alerts = client.get("/api/v1/alerts", headers=staff).json()["data"]
    assert sorted(a["incident_id"] for a in alerts) == [inside["id"], hidden["id"]]
    # In the users' words; the zone named, since only readers of the zone read the alert.
    assert (
        alerts[0]["message"] == 'Ceasefire violation: fire inside civilian safe zone "Safe zone A"'
    )
    assert alerts[0]["releasability"] == "mission" and alerts[1]["releasability"] == "owner"
    gbr_sees = client.get("/api/v1/alerts", headers=gbr).json()["data"]
    assert [a["incident_id"] for a in gbr_sees] == [inside["id"]]
    first = alerts[0]
    ack = _ok(
        client.post(
            f"/api/v1/alerts/{first['id']}/acknowledge",
            headers=staff,
            json={"version": first["version"]},
        ),
        200,
    )
    assert ack["status"] == "acknowledged"
    closed = _ok(
        client.post(
            f"/api/v1/alerts/{first['id']}/close", headers=staff, json={"version": ack["version"]}
        ),
        200,
    )
    assert closed["status"] == "closed" and closed["closed_by"].endswith("@CMCC")
    assert (
        client.post(
            f"/api/v1/alerts/{first['id']}/acknowledge",
            headers=gbr,
            json={"version": closed["version"]},
        ).status_code
        == 403
    )


def test_zone_changes_reach_the_geofence_without_restart(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    _ok(client.post("/api/v1/incidents", headers=staff, json=incident()))
    assert client.get("/api/v1/alerts", headers=staff).json()["count"] == 0
    z = _ok(client.post("/api/v1/zones", headers=staff, json=zone()))
    _ok(client.post("/api/v1/incidents", headers=staff, json=incident()))
    assert client.get("/api/v1/alerts", headers=staff).json()["count"] == 1
    _ok(
        client.patch(
            f"/api/v1/zones/{z['id']}",
            headers=staff,
            json={"version": z["version"], "valid_to": "2026-02-01T00:00:00Z"},
        ),
        200,
    )
    _ok(client.post("/api/v1/incidents", headers=staff, json=incident()))
    assert client.get("/api/v1/alerts", headers=staff).json()["count"] == 1


def test_alert_stream_delivers_only_what_the_caller_may_see(platform: Platform) -> None:
    """The live feed over a real server: a staff officer's stream gets the alert of an
    incident in a safe zone; a liaison officer's stream does not get an owner-only one."""
    import json
    import threading
    import time

    import httpx
    import uvicorn

    from cmcc.api.app import create_app
    from tests.serving import free_port

    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    received: dict[str, list[dict[str, Any]]] = {"staff": [], "gbr": []}
    subscribed = {"staff": threading.Event(), "gbr": threading.Event()}

    def listen(name: str, headers: dict[str, str], want: int) -> None:
        with httpx.stream("GET", base + "/api/v1/alerts/stream", headers=headers, timeout=10) as r:
            for line in r.iter_lines():
                if line == ": connected":  # subscribed: every alert from now on comes
                    subscribed[name].set()
                if line.startswith("data: "):
                    received[name].append(json.loads(line[6:]))
                    if len(received[name]) >= want:
                        return

    try:
        with httpx.Client(base_url=base, headers=staff) as http:
            http.post("/api/v1/zones", json=zone())
            listeners = [
                threading.Thread(target=listen, args=("staff", staff, 2), daemon=True),
                threading.Thread(target=listen, args=("gbr", gbr, 1), daemon=True),
            ]
            for t in listeners:
                t.start()
            for name, ready in subscribed.items():  # an alert before that is not for them
                assert ready.wait(30), f"the {name} stream did not connect"
            secret = http.post("/api/v1/incidents", json=incident(releasability="owner")).json()
            shared = http.post("/api/v1/incidents", json=incident()).json()
            for t in listeners:
                t.join(timeout=10)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert [a["incident_id"] for a in received["staff"]] == [secret["id"], shared["id"]]
    assert [a["incident_id"] for a in received["gbr"]] == [shared["id"]]
    assert dt.datetime.fromisoformat(received["gbr"][0]["raised_at"])


def test_ogc_collections_serve_the_picture_through_the_release_policy(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    _ok(client.post("/api/v1/zones", headers=staff, json=zone()))
    shared = _ok(client.post("/api/v1/incidents", headers=staff, json=incident()))
    secret = _ok(
        client.post(
            "/api/v1/incidents",
            headers=staff,
            json=incident(releasability="owner", geometry=point(34.30, 31.35)),
        )
    )
    ids = {c["id"] for c in client.get("/ogc/collections", headers=staff).json()["collections"]}
    assert {"zones", "incidents"} <= ids

    def features(headers: dict[str, str], **params: Any) -> set[str]:
        r = client.get("/ogc/collections/incidents/items", headers=headers, params=params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/geo+json")
        return {f["id"] for f in r.json()["features"]}

    assert features(staff) == {str(shared["id"]), str(secret["id"])}
    assert features(gbr) == {str(shared["id"])}
    assert features(staff, bbox="34.40,31.48,34.52,31.56") == {str(shared["id"])}
    assert features(staff, datetime="2026-03-02T00:00:00Z/..") == set()
    assert (
        client.get(f"/ogc/collections/incidents/items/{secret['id']}", headers=gbr).status_code
        == 404
    )
    one = client.get(f"/ogc/collections/incidents/items/{shared['id']}", headers=gbr).json()
    assert one["geometry"] == {"type": "Point", "coordinates": list(GAZA_CITY)}
    zones = client.get(
        "/ogc/collections/zones/items", headers=staff, params={"datetime": "2026-02-01T00:00:00Z"}
    ).json()
    assert [f["properties"]["kind"] for f in zones["features"]] == ["civilian_safe_zone"]
    extent = client.get("/ogc/collections/incidents", headers=gbr).json()["extent"]
    assert extent["spatial"]["bbox"][0] == [34.45, 31.517, 34.45, 31.517]  # GBR's view only
