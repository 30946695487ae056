"""Explosive ordnance hazards: hazard areas with their statuses, EO spot reports, land release,
accidents, refs and links, the handover feed to the cleared areas of the picture, and the
spatial question other modules ask (open hazards touching a geometry). Both backends."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from shapely.geometry import LineString, box
from sqlalchemy import func, select

from cmcc.access.domain import Principal, Role
from cmcc.access.service import authenticate
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.hazards.service import open_hazards_touching
from tests.factories import Caller, caller

# About 94 m x 111 m in Gaza City: 10 540 m² on the sphere.
SQUARE = (34.450, 31.500, 34.451, 31.501)
SQUARE_M2 = 10_540
BOWTIE = {
    "type": "Polygon",
    "coordinates": [
        [[34.45, 31.50], [34.46, 31.51], [34.46, 31.50], [34.45, 31.51], [34.45, 31.50]]
    ],
}
HAZARD_TABLES = (
    "hazard_areas",
    "hazard_status_changes",
    "eo_spot_reports",
    "land_release_activities",
    "eo_accidents",
    "hazard_links",
)


def _ok(r: Any, code: int = 201) -> dict[str, Any]:
    assert r.status_code == code, r.text
    return dict(r.json())


def square(minx: float, miny: float, maxx: float, maxy: float) -> dict[str, Any]:
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {"type": "Polygon", "coordinates": [ring]}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def hazard_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Al-Shifa north block",
        "classification": "sha",
        "device_category": "aircraft_bomb",
        "device_type": "Mk 84 reported under rubble",
        "description": "Residents report an unexploded bomb in the collapsed building",
        "geometry": square(*SQUARE),
    }
    body.update(over)
    return body


def officer(platform: Platform, org: str = "GBR") -> Caller:
    return caller(platform, org, Role.MINE_ACTION_OFFICER)


def new_hazard(client: TestClient, who: Caller, **over: Any) -> dict[str, Any]:
    return _ok(client.post("/api/v1/hazards", headers=who.headers, json=hazard_body(**over)))


def counts(platform: Platform) -> dict[str, int]:
    """Rows in each table of the module, and audit entries: to show a refusal wrote nothing."""
    from sqlalchemy import table

    with platform.unit_of_work(Principal.system_operator()) as s:
        out = {t: s.scalar(select(func.count()).select_from(table(t))) or 0 for t in HAZARD_TABLES}
        out["audit"] = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return out


def test_create_list_get_patch(platform: Platform, client: TestClient) -> None:
    gbr = officer(platform)
    h = new_hazard(client, gbr)
    assert h["ref"] == f"hazard_{h['id']}" and h["status"] == "open" and h["owner"] == "GBR"
    assert h["classification"] == "sha" and h["device_category"] == "aircraft_bomb"
    assert abs(h["area_m2"] - SQUARE_M2) < SQUARE_M2 * 0.01
    far = new_hazard(client, gbr, name="Rafah field", geometry=square(34.25, 31.28, 34.26, 31.29))

    # Get by id and by ref: the same record.
    assert _ok(client.get(f"/api/v1/hazards/{h['id']}", headers=gbr.headers), 200) == h
    assert _ok(client.get(f"/api/v1/hazards/{h['ref']}", headers=gbr.headers), 200) == h
    assert client.get("/api/v1/hazards/eo_spot_1", headers=gbr.headers).status_code == 422

    def listed(**params: str) -> list[int]:
        page = _ok(client.get("/api/v1/hazards", headers=gbr.headers, params=params), 200)
        return [x["id"] for x in page["data"]]

    assert listed() == [h["id"], far["id"]]
    assert listed(bbox="34.44,31.49,34.46,31.51") == [h["id"]]
    assert listed(status="open", classification="sha") == [h["id"], far["id"]]
    assert listed(classification="cha") == []
    page = _ok(client.get("/api/v1/hazards", headers=gbr.headers, params={"limit": 1}), 200)
    assert page["count"] == 2 and page["next_cursor"]

    # Patch with the version read; a second patch with the stale version is refused.
    patch = {"version": 1, "classification": "cha", "description": "EOD team saw the tail fin"}
    changed = _ok(client.patch(f"/api/v1/hazards/{h['ref']}", headers=gbr.headers, json=patch), 200)
    assert changed["classification"] == "cha" and changed["version"] == 2
    r = client.patch(f"/api/v1/hazards/{h['id']}", headers=gbr.headers, json=patch)
    assert r.status_code == 409
    # Redrawing the area recomputes its size (twice as tall).
    bigger = square(34.450, 31.500, 34.451, 31.502)
    body = {"version": 2, "geometry": bigger}
    redrawn = _ok(client.patch(f"/api/v1/hazards/{h['id']}", headers=gbr.headers, json=body), 200)
    assert abs(redrawn["area_m2"] - 2 * SQUARE_M2) < SQUARE_M2 * 0.02

    # Writes need write_hazards.
    lo = caller(platform, "GBR", Role.LIAISON_OFFICER)
    assert client.post("/api/v1/hazards", headers=lo.headers, json=hazard_body()).status_code == 403
    assert client.post("/api/v1/hazards", json=hazard_body()).status_code == 401


def test_release_policy(platform: Platform, client: TestClient) -> None:
    gbr, idn = officer(platform, "GBR"), officer(platform, "IDN")
    secret = new_hazard(client, gbr, releasability="owner")
    shared = new_hazard(client, gbr, name="Shared", releasability="rel:IDN")
    public = new_hazard(client, gbr, name="Public", releasability="public")

    assert client.get(f"/api/v1/hazards/{secret['id']}", headers=idn.headers).status_code == 404
    assert client.get(f"/api/v1/hazards/{secret['ref']}", headers=idn.headers).status_code == 404
    seen = _ok(client.get("/api/v1/hazards", headers=idn.headers), 200)
    assert [x["id"] for x in seen["data"]] == [shared["id"], public["id"]]
    anonymous = _ok(client.get("/api/v1/hazards"), 200)
    assert [x["id"] for x in anonymous["data"]] == [public["id"]]

    collections = _ok(client.get("/ogc/collections", headers=idn.headers), 200)["collections"]
    assert "hazards" in {c["id"] for c in collections}
    items = _ok(client.get("/ogc/collections/hazards/items", headers=idn.headers), 200)
    assert {f["properties"]["ref"] for f in items["features"]} == {shared["ref"], public["ref"]}
    secret_item = f"/ogc/collections/hazards/items/{secret['id']}"
    assert client.get(secret_item, headers=idn.headers).status_code == 404
    assert client.get(secret_item, headers=gbr.headers).status_code == 200

    # A record the caller may not see cannot be written to, nor linked to.
    r = client.patch(
        f"/api/v1/hazards/{secret['id']}", headers=idn.headers, json={"version": 1, "name": "x"}
    )
    assert r.status_code == 404
    spot = {
        "device_category": "uxo",
        "found_at": "2026-03-01T08:00:00Z",
        "disposition": "left_in_place",
        "geometry": point(34.4505, 31.5005),
        "hazard": secret["ref"],
    }
    r = client.post("/api/v1/eo-spots", headers=idn.headers, json=spot)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.hazard"


def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    platform: Platform, client: TestClient
) -> None:
    gbr = officer(platform)
    h = new_hazard(client, gbr)
    before = counts(platform)

    def refused(method: str, url: str, body: dict[str, Any], code: int, field: str) -> None:
        r = client.request(method, url, headers=gbr.headers, json=body)
        assert r.status_code == code, r.text
        if field:
            assert field in {e["field"] for e in r.json().get("errors", [])}, r.text

    refused("POST", "/api/v1/hazards", hazard_body(geometry=BOWTIE), 422, "body.geometry")
    refused(
        "POST", "/api/v1/hazards", hazard_body(geometry=point(34.45, 31.5)), 422, "body.geometry"
    )
    refused(
        "POST", "/api/v1/hazards", hazard_body(classification="maybe"), 422, "body.classification"
    )
    release = {
        "kind": "clearance",
        "hazard": h["ref"],
        "organization": "UNMAS",
        "start_date": "2026-03-01",
        "cleared_m2": -5,
    }
    refused("POST", "/api/v1/land-release", release, 422, "body.cleared_m2")
    too_much = {**release, "cleared_m2": 2 * SQUARE_M2}
    refused("POST", "/api/v1/land-release", too_much, 422, "body.cleared_m2")
    unknown = {**release, "cleared_m2": 10, "hazard": "hazard_999999"}
    refused("POST", "/api/v1/land-release", unknown, 422, "body.hazard")
    backwards = {**release, "cleared_m2": 10, "end_date": "2026-02-01"}
    refused("POST", "/api/v1/land-release", backwards, 422, "body")
    status = f"/api/v1/hazards/{h['id']}/status"
    refused("POST", status, {"to": "exploded", "reason": "typo", "version": 1}, 422, "body.to")
    refused("POST", status, {"to": "open", "reason": "already open", "version": 1}, 409, "")
    # Handover without land release is refused.
    refused("POST", status, {"to": "handed_over", "reason": "done", "version": 1}, 409, "")
    link = {"from_ref": h["ref"], "to_ref": "eo_spot_424242", "relation": "related"}
    refused("POST", "/api/v1/hazard-links", link, 422, "body.to_ref")
    refused("POST", "/api/v1/hazard-links", {**link, "to_ref": "spot-3"}, 422, "body.to_ref")
    refused("POST", "/api/v1/hazard-links", {**link, "to_ref": h["ref"]}, 422, "body.to_ref")
    accident = {
        "kind": "civilian",
        "device_category": "uxo",
        "occurred_at": "2026-03-02T09:00:00Z",
        "killed": -1,
        "geometry": point(34.4505, 31.5005),
    }
    refused("POST", "/api/v1/eo-accidents", accident, 422, "body.killed")
    refused(
        "POST",
        "/api/v1/eo-accidents",
        {**accident, "killed": 0, "geometry": BOWTIE},
        422,
        "body.geometry",
    )

    assert counts(platform) == before


def _land_release(
    client: TestClient, who: Caller, hazard: dict[str, Any], **over: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "clearance",
        "hazard": hazard["ref"],
        "organization": "UNMAS Gaza",
        "start_date": "2026-03-01",
        "releasability": "mission",
    }
    body.update(over)
    return _ok(client.post("/api/v1/land-release", headers=who.headers, json=body))


def test_handover_feeds_the_cleared_areas_of_the_picture(
    platform: Platform, client: TestClient
) -> None:
    gbr = officer(platform)
    h = new_hazard(client, gbr, releasability="rel:IDN")
    area = h["area_m2"]
    survey = _land_release(
        client, gbr, h, kind="non_technical_survey", cancelled_m2=area // 2, end_date="2026-03-02"
    )
    assert survey["ref"] == f"land_release_{survey['id']}" and survey["released_m2"] == area // 2
    clearance = _land_release(client, gbr, h, cleared_m2=area - area // 2)
    status = f"/api/v1/hazards/{h['id']}/status"
    # The clearance is not completed yet: half the area is released, handover is refused.
    r = client.post(
        status, headers=gbr.headers, json={"to": "handed_over", "reason": "x y", "version": 1}
    )
    assert r.status_code == 409 and "land release" in r.json()["detail"]
    done = {"version": clearance["version"], "end_date": "2026-03-20"}
    _ok(
        client.patch(f"/api/v1/land-release/{clearance['ref']}", headers=gbr.headers, json=done),
        200,
    )

    closed = _ok(
        client.post(
            status, headers=gbr.headers, json={"to": "closed", "reason": "cleared", "version": 1}
        ),
        200,
    )
    assert closed["status"] == "closed"
    handed = _ok(
        client.post(
            status,
            headers=gbr.headers,
            json={"to": "handed_over", "reason": "Handed to the municipality", "version": 2},
        ),
        200,
    )
    assert handed["status"] == "handed_over" and handed["handed_over_at"]
    zone_id = handed["cleared_zone_id"]
    assert zone_id is not None

    zones = _ok(
        client.get("/api/v1/zones", headers=gbr.headers, params={"kind": "cleared_area"}), 200
    )
    [zone] = [z for z in zones["data"] if z["id"] == zone_id]
    assert zone["owner"] == "GBR" and zone["releasability"] == "rel:IDN"
    assert zone["source"] == h["ref"] and zone["valid_from"] == handed["handed_over_at"]
    assert zone["geometry"]["type"] == "Polygon"
    idn = officer(platform, "IDN")
    assert client.get(f"/api/v1/zones/{zone_id}", headers=idn.headers).status_code == 200

    r = client.get(status, headers=gbr.headers)
    assert r.status_code == 200
    history = r.json()
    assert [(c["from_status"], c["to_status"]) for c in history] == [
        ("open", "closed"),
        ("closed", "handed_over"),
    ]
    assert history[1]["by"] == f"{gbr.username}@GBR"
    assert history[1]["reason"] == "Handed to the municipality"
    # Handed over is final; its land release and its area no longer change.
    r = client.post(
        status, headers=gbr.headers, json={"to": "open", "reason": "new find", "version": 3}
    )
    assert r.status_code == 409
    r = client.post(
        "/api/v1/land-release",
        headers=gbr.headers,
        json={
            "kind": "clearance",
            "hazard": h["id"],
            "organization": "x",
            "start_date": "2026-04-01",
        },
    )
    assert r.status_code == 409


def test_spots_accidents_and_links(platform: Platform, client: TestClient) -> None:
    gbr, idn = officer(platform, "GBR"), officer(platform, "IDN")
    h = new_hazard(client, gbr)
    spot = _ok(
        client.post(
            "/api/v1/eo-spots",
            headers=gbr.headers,
            json={
                "device_category": "cluster_munition",
                "device_type": "M77 submunition",
                "found_at": "2026-03-01T08:00:00Z",
                "disposition": "destroyed",
                "geometry": point(34.4505, 31.5005),
                "hazard": h["ref"],
            },
        )
    )
    assert spot["ref"] == f"eo_spot_{spot['id']}" and spot["hazard_id"] == h["id"]
    accident = _ok(
        client.post(
            "/api/v1/eo-accidents",
            headers=gbr.headers,
            json={
                "kind": "civilian",
                "device_category": "uxo",
                "occurred_at": "2026-03-02T09:00:00Z",
                "killed": 1,
                "injured": 2,
                "geometry": point(34.4502, 31.5002),
                "hazard": h["id"],
                "releasability": "owner",
            },
        )
    )
    assert accident["ref"] == f"eo_accident_{accident['id']}"
    assert (accident["killed"], accident["injured"]) == (1, 2)
    assert _ok(client.get(f"/api/v1/eo-accidents/{accident['ref']}", headers=gbr.headers), 200)
    spots = _ok(
        client.get("/api/v1/eo-spots", headers=gbr.headers, params={"hazard": h["ref"]}), 200
    )
    assert [s["id"] for s in spots["data"]] == [spot["id"]]
    patched = _ok(
        client.patch(
            f"/api/v1/eo-spots/{spot['id']}",
            headers=gbr.headers,
            json={"version": 1, "disposition": "removed"},
        ),
        200,
    )
    assert patched["disposition"] == "removed"

    link = {"from_ref": spot["ref"], "to_ref": accident["ref"], "relation": "related"}
    made = _ok(client.post("/api/v1/hazard-links", headers=gbr.headers, json=link))
    assert made["created_by"] == f"{gbr.username}@GBR"
    assert client.post("/api/v1/hazard-links", headers=gbr.headers, json=link).status_code == 409

    def links(who: Caller, ref: str) -> set[tuple[str, str, str]]:
        page = _ok(
            client.get("/api/v1/hazard-links", headers=who.headers, params={"ref": ref}), 200
        )
        return {(x["from_ref"], x["relation"], x["to_ref"]) for x in page["data"]}

    assert links(gbr, h["ref"]) == {
        (spot["ref"], "found_in", h["ref"]),
        (accident["ref"], "caused_by", h["ref"]),
    }
    assert links(gbr, spot["ref"]) == {
        (spot["ref"], "found_in", h["ref"]),
        (spot["ref"], "related", accident["ref"]),
    }
    # IDN sees the hazard and the spot (mission) but not the accident (owner): its links hide.
    assert links(idn, h["ref"]) == {(spot["ref"], "found_in", h["ref"])}
    assert links(idn, spot["ref"]) == {(spot["ref"], "found_in", h["ref"])}
    r = client.get("/api/v1/hazard-links", headers=idn.headers, params={"ref": accident["ref"]})
    assert r.status_code == 422  # the accident is unknown to IDN, as if it did not exist
    r = client.post(
        "/api/v1/hazard-links", headers=idn.headers, json={**link, "relation": "caused_by"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.to_ref"


def _principal(platform: Platform, who: Caller) -> Principal:
    with platform.unit_of_work(Principal.anonymous()) as s:
        return authenticate(s, who.token, platform.settings.secret_key.get_secret_value())


def test_open_hazards_touching(platform: Platform, client: TestClient) -> None:
    gbr, idn = officer(platform, "GBR"), officer(platform, "IDN")
    touching = new_hazard(client, gbr, name="Touching")
    closed = new_hazard(client, gbr, name="Closed", classification="cha")
    _ok(
        client.post(
            f"/api/v1/hazards/{closed['id']}/status",
            headers=gbr.headers,
            json={"to": "closed", "reason": "recorded twice", "version": 1},
        ),
        200,
    )
    new_hazard(client, gbr, name="Distant", geometry=square(34.25, 31.28, 34.26, 31.29))
    # Its bounding box meets the search area, the polygon itself does not (an L shape).
    l_shape = {
        "type": "Polygon",
        "coordinates": [
            [
                [34.455, 31.500],
                [34.456, 31.500],
                [34.456, 31.510],
                [34.445, 31.510],
                [34.445, 31.509],
                [34.455, 31.509],
                [34.455, 31.500],
            ]
        ],
    }
    new_hazard(client, gbr, name="L shape", geometry=l_shape)
    hidden = new_hazard(client, gbr, name="Owner only", releasability="owner")

    search = box(34.4505, 31.5005, 34.4535, 31.5055)  # overlaps SQUARE's corner
    with platform.unit_of_work(Principal.anonymous()) as s:
        found = open_hazards_touching(s, _principal(platform, gbr), platform.spatial, search)
        assert [h.id for h in found] == [touching["id"], hidden["id"]]
        for_idn = open_hazards_touching(s, _principal(platform, idn), platform.spatial, search)
        assert [h.id for h in for_idn] == [touching["id"]]
        route = LineString([(34.4400, 31.5005), (34.4520, 31.5005)])  # crosses the square
        on_route = open_hazards_touching(s, _principal(platform, idn), platform.spatial, route)
        assert [h.ref for h in on_route] == [touching["ref"]]
        nowhere = open_hazards_touching(
            s, _principal(platform, gbr), platform.spatial, box(34.30, 31.40, 34.31, 31.41)
        )
        assert nowhere == []


def test_writes_are_audited(platform: Platform, client: TestClient) -> None:
    gbr = officer(platform)
    h = new_hazard(client, gbr)
    _ok(
        client.patch(
            f"/api/v1/hazards/{h['id']}",
            headers=gbr.headers,
            json={"version": 1, "name": "Renamed"},
        ),
        200,
    )
    _land_release(client, gbr, h, cleared_m2=h["area_m2"], end_date="2026-03-10")
    _ok(
        client.post(
            f"/api/v1/hazards/{h['id']}/status",
            headers=gbr.headers,
            json={"to": "handed_over", "reason": "released", "version": 2},
        ),
        200,
    )
    with platform.unit_of_work(Principal.system_operator()) as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    actor = f"{gbr.username}@GBR"
    mine = {(e.entity, e.action) for e in entries if e.actor == actor}
    assert {
        ("hazard_areas", "create"),
        ("hazard_areas", "update"),
        ("land_release_activities", "create"),
        ("hazard_links", "create"),
        ("hazard_status_changes", "create"),
        ("zones", "create"),
    } <= mine
    renamed = [e for e in entries if e.entity == "hazard_areas" and e.record_id == str(h["id"])]
    assert any('"Renamed"' in e.changes for e in renamed)
