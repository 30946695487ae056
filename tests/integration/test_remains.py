"""The search for remains: grid cuts, the EOD escort rule over open hazard areas, recoveries,
and the personal data of the missing (who sees it, and that it never reaches the audit log in
clear). Runs on SQLite and PostgreSQL (`platform`)."""

from __future__ import annotations

import math
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from cmcc.access.domain import Principal, Role
from cmcc.bootstrap import Platform
from cmcc.geo.measure import EARTH_RADIUS_M
from cmcc.remains.service import recoveries_near
from tests.factories import caller

LON, LAT = 34.45, 31.50
M_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
NAME = "Yusuf Abu-Testname"
PHONE = "+970-59-000-4242"
FAMILY = "Maryam Abu-Testname"


def _ok(r: Any, code: int = 201) -> dict[str, Any]:
    assert r.status_code == code, r.text
    return dict(r.json())


def _error_fields(r: Any) -> list[str]:
    return [e["field"] for e in r.json().get("errors", [])]


def point(lon: float = LON, lat: float = LAT) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def square(lon: float, lat: float, half: float) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def count(platform: Platform, table: str) -> int:
    with platform.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def hazard(client: TestClient, headers: dict[str, str], **over: Any) -> dict[str, Any]:
    body = {
        "name": "Rubble field with UXO",
        "classification": "cha",
        "device_category": "uxo",
        "geometry": square(LON, LAT, 0.002),
    }
    body.update(over)
    return _ok(client.post("/api/v1/hazards", headers=headers, json=body))


def task(client: TestClient, headers: dict[str, str], **over: Any) -> dict[str, Any]:
    body = {"geometry": point(), "marker": "GAZ-1 / 2026-03-01", "team": "Civil Defence 3"}
    body.update(over)
    return _ok(client.post("/api/v1/search-tasks", headers=headers, json=body))


def step(
    client: TestClient, headers: dict[str, str], t: dict[str, Any], to: str, **over: Any
) -> Any:
    body = {"to": to, "version": t["version"], **over}
    return client.post(f"/api/v1/search-tasks/{t['id']}/status", headers=headers, json=body)


# --- grid ---------------------------------------------------------------------------------


def l_shape(size_m: float) -> dict[str, Any]:
    """3 x 3 sectors of `size_m` with the north-east one cut away (8 sectors)."""
    dlat = size_m / M_PER_DEGREE
    dlon = dlat / math.cos(math.radians(LAT))
    x0, y0 = LON, LAT - 1.5 * dlat
    ring = [
        (x0, y0),
        (x0 + 3 * dlon, y0),
        (x0 + 3 * dlon, y0 + 2 * dlat),
        (x0 + 2 * dlon, y0 + 2 * dlat),
        (x0 + 2 * dlon, y0 + 3 * dlat),
        (x0, y0 + 3 * dlat),
        (x0, y0),
    ]
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


def test_grid_cut_makes_one_task_per_sector(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    out = _ok(
        client.post(
            "/api/v1/search-tasks/grid",
            headers=staff,
            json={"area": l_shape(100), "size_m": 100, "grid": "Shujaiya block 4"},
        )
    )
    assert (out["rows"], out["columns"], out["sectors"]) == (3, 3, 8)
    labels = [t["sector"] for t in out["tasks"]]
    assert labels == ["A-01", "A-02", "B-01", "B-02", "B-03", "C-01", "C-02", "C-03"]
    assert {t["status"] for t in out["tasks"]} == {"not_started"}
    assert {t["geometry"]["type"] for t in out["tasks"]} == {"Polygon"}
    listed = _ok(
        client.get("/api/v1/search-tasks", headers=staff, params={"grid": "Shujaiya block 4"}),
        200,
    )
    assert listed["count"] == 8
    # A 150 m cut of the same area: 2 x 2 cells, each clipped to the L (none is empty).
    out = _ok(
        client.post(
            "/api/v1/search-tasks/grid",
            headers=staff,
            json={"area": l_shape(100), "size_m": 150, "grid": "Shujaiya coarse"},
        )
    )
    assert (out["rows"], out["columns"], out["sectors"]) == (2, 2, 4)


def test_grid_cut_refuses_too_many_sectors_and_writes_nothing(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    audit_before = count(platform, "audit_log")
    big = square(LON, LAT, 0.05)  # about 9.5 x 11 km: some 10,000 sectors of 100 m
    r = client.post(
        "/api/v1/search-tasks/grid",
        headers=staff,
        json={"area": big, "size_m": 100, "grid": "Too fine"},
    )
    assert r.status_code == 422, r.text
    assert _error_fields(r) == ["body.size_m"]
    assert "2,500" in r.json()["detail"]
    for body, field in (
        ({"area": big, "size_m": 5, "grid": "g"}, "body.size_m"),
        ({"area": big, "size_m": 2000, "grid": "g"}, "body.size_m"),
        ({"area": point(), "size_m": 100, "grid": "g"}, "body.area"),
        ({"area": square(LON, LAT, 0.001), "size_m": 100}, "body.grid"),
    ):
        r = client.post("/api/v1/search-tasks/grid", headers=staff, json=body)
        assert r.status_code == 422 and field in _error_fields(r), r.text
    assert count(platform, "search_tasks") == 0
    assert count(platform, "audit_log") == audit_before
    # Coarser sectors over the same area are accepted.
    out = _ok(
        client.post(
            "/api/v1/search-tasks/grid",
            headers=staff,
            json={"area": big, "size_m": 1000, "grid": "Coarse"},
        )
    )
    assert out["sectors"] == count(platform, "search_tasks") > 0


def test_grid_sectors_are_linked_to_the_open_hazards_they_touch(
    platform: Platform, client: TestClient
) -> None:
    mine = caller(platform, "CMCC", Role.MINE_ACTION_OFFICER).headers
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    dlat = 100 / M_PER_DEGREE
    h = hazard(client, mine, geometry=square(LON + 0.0001, LAT, dlat / 10))  # inside A-01 only
    out = _ok(
        client.post(
            "/api/v1/search-tasks/grid",
            headers=staff,
            json={"area": l_shape(100), "size_m": 100, "grid": "G"},
        )
    )
    linked = {t["sector"]: t["hazards"] for t in out["tasks"] if t["hazards"]}
    assert linked == {"B-01": [h["ref"]]}


# --- the hazard rule ----------------------------------------------------------------------


def test_a_task_over_an_open_hazard_starts_only_with_an_eod_escort(
    platform: Platform, client: TestClient
) -> None:
    mine = caller(platform, "CMCC", Role.MINE_ACTION_OFFICER).headers
    officer = caller(platform, "CMCC", Role.RECOVERY_OFFICER).headers
    h = hazard(client, mine)
    t = task(client, officer)
    assert t["hazards"] == [h["ref"]] and t["status"] == "not_started"
    r = step(client, officer, t, "in_progress")
    assert r.status_code == 409, r.text
    assert h["ref"] in r.json()["detail"] and "eod_escort" in r.json()["detail"]
    t = _ok(client.get(f"/api/v1/search-tasks/{t['id']}", headers=officer), 200)
    assert t["status"] == "not_started"
    t = _ok(
        client.patch(
            f"/api/v1/search-tasks/{t['id']}",
            headers=officer,
            json={"version": t["version"], "eod_escort": "EOD team 2 (UNMAS)"},
        ),
        200,
    )
    assert t["escort_confirmed_at"] is not None
    t = _ok(step(client, officer, t, "in_progress", note="escort on site"))
    assert t["status"] == "in_progress" and t["status_changed_by"].startswith("recovery_officer")
    history = client.get(f"/api/v1/search-tasks/{t['id']}/status", headers=officer).json()
    assert [(s["from_status"], s["to_status"]) for s in history] == [("not_started", "in_progress")]


def test_the_hazard_picture_is_checked_again_when_the_search_starts(
    platform: Platform, client: TestClient
) -> None:
    mine = caller(platform, "CMCC", Role.MINE_ACTION_OFFICER).headers
    officer = caller(platform, "CMCC", Role.RECOVERY_OFFICER).headers
    t = task(client, officer)
    assert t["hazards"] == []
    h = hazard(client, mine)  # reported after the task was made
    r = step(client, officer, t, "in_progress")
    assert r.status_code == 409 and h["ref"] in r.json()["detail"], r.text
    # With the escort given in the same step, it starts.
    t = _ok(step(client, officer, t, "in_progress", eod_escort="EOD team 5"))
    assert t["eod_escort"] == "EOD team 5" and t["hazards"] == [h["ref"]]


def test_a_task_over_a_closed_hazard_starts_without_escort(
    platform: Platform, client: TestClient
) -> None:
    mine = caller(platform, "CMCC", Role.MINE_ACTION_OFFICER).headers
    officer = caller(platform, "CMCC", Role.RECOVERY_OFFICER).headers
    h = hazard(client, mine)
    _ok(
        client.post(
            f"/api/v1/hazards/{h['id']}/status",
            headers=mine,
            json={"to": "closed", "reason": "cleared by EOD team 2", "version": h["version"]},
        ),
        200,
    )
    t = task(client, officer)
    assert t["hazards"] == []
    t = _ok(step(client, officer, t, "in_progress"))
    assert t["status"] == "in_progress" and t["eod_escort"] is None


def test_hazards_not_released_to_the_caller_still_block_but_are_not_named(
    platform: Platform, client: TestClient
) -> None:
    other_mine = caller(platform, "GBR", Role.MINE_ACTION_OFFICER).headers
    officer = caller(platform, "CMCC", Role.RECOVERY_OFFICER).headers
    h = hazard(client, other_mine, releasability="owner")
    t = task(client, officer)
    assert t["hazards"] == []  # linked, but not shown to a caller who may not see it
    r = step(client, officer, t, "in_progress")
    assert r.status_code == 409, r.text
    assert h["ref"] not in r.json()["detail"] and "not released to you" in r.json()["detail"]


def test_workflow_steps_and_their_rules(platform: Platform, client: TestClient) -> None:
    officer = caller(platform, "CMCC", Role.RECOVERY_OFFICER).headers
    donor = caller(platform, "NOR", Role.DONOR).headers
    t = task(client, officer, team="")
    assert step(client, donor, t, "assigned", team="T").status_code == 403
    r = step(client, officer, t, "assigned")
    assert r.status_code == 422 and _error_fields(r) == ["body.team"], r.text
    r = step(client, officer, t, "completed", team="T")
    assert r.status_code == 409, r.text
    r = step(client, officer, t, "not_possible")
    assert r.status_code == 422 and _error_fields(r) == ["body.note"], r.text
    t = _ok(step(client, officer, t, "not_possible", note="building about to collapse"))
    assert step(client, officer, {**t, "version": 1}, "assigned", team="T").status_code == 409
    t = _ok(step(client, officer, t, "assigned", team="Civil Defence 3"))
    assert t["status"] == "assigned" and t["team"] == "Civil Defence 3"


# --- recoveries ---------------------------------------------------------------------------


def recovery(task_id: int | None = None, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task_id": task_id,
        "recovered_at": "2026-03-02T09:30:00Z",
        "geometry": point(),
        "place": "Basement, north stairwell",
        "remains_found": 2,
        "remains_recovered": 1,
    }
    body.update(over)
    return body


def test_recoveries_need_a_started_task(platform: Platform, client: TestClient) -> None:
    officer = caller(platform, "CMCC", Role.RECOVERY_OFFICER).headers
    t = task(client, officer)
    r = client.post("/api/v1/recoveries", headers=officer, json=recovery(t["id"]))
    assert r.status_code == 409 and "not_started" in r.json()["detail"], r.text
    t = _ok(step(client, officer, t, "in_progress"))
    rec = _ok(client.post("/api/v1/recoveries", headers=officer, json=recovery(t["id"])))
    assert rec["task_id"] == t["id"] and rec["remains_recovered"] == 1
    t = _ok(step(client, officer, t, "completed", note="two found, one recovered"))
    more = _ok(client.post("/api/v1/recoveries", headers=officer, json=recovery(t["id"])))
    listed = _ok(
        client.get("/api/v1/recoveries", headers=officer, params={"task_id": t["id"]}), 200
    )
    assert [r["id"] for r in listed["data"]] == [rec["id"], more["id"]]
    # Identification, then handover to the family once confirmed.
    rec = _ok(
        client.patch(
            f"/api/v1/recoveries/{rec['id']}",
            headers=officer,
            json={
                "version": rec["version"],
                "identification_status": "confirmed",
                "identification_method": "dna",
                "handover_to": "family",
                "handover_date": "2026-03-10",
            },
        ),
        200,
    )
    assert rec["handover_to"] == "family" and rec["identification_method"] == "dna"


def test_bad_input_names_the_field_and_writes_nothing(
    platform: Platform, client: TestClient
) -> None:
    officer = caller(platform, "CMCC", Role.RECOVERY_OFFICER).headers
    audit_before = count(platform, "audit_log")
    bad_tasks = [
        ({"geometry": {"type": "Point", "coordinates": [31.5, 34.45]}}, "body.geometry"),
        (
            {"geometry": {"type": "LineString", "coordinates": [[LON, LAT], [LON, 31.51]]}},
            "body.geometry",
        ),
        ({"geometry": point(), "status": "completed"}, "body.status"),
        (
            {"geometry": point(), "escort_confirmed_at": "2026-03-01T00:00:00Z"},
            "body.escort_confirmed_at",
        ),
        ({"geometry": point(), "releasability": "secret"}, "body.releasability"),
    ]
    for body, field in bad_tasks:
        r = client.post("/api/v1/search-tasks", headers=officer, json=body)
        assert r.status_code == 422 and field in _error_fields(r), (field, r.text)
    bad_recoveries = [
        (recovery(remains_found=1, remains_recovered=2), "body.remains_recovered"),
        (
            recovery(identification_status="confirmed", identification_method="visual"),
            "body.identification_method",
        ),
        (recovery(identification_status="preliminary"), "body.identification_method"),
        (
            recovery(
                identification_status="preliminary",
                identification_method="visual",
                handover_to="family",
                handover_date="2026-03-03",
            ),
            "body.handover_to",
        ),
        (recovery(handover_to="authority"), "body.handover_date"),
        (recovery(recovered_at="2099-01-01T00:00:00Z"), "body.recovered_at"),
        (recovery(geometry=square(LON, LAT, 0.001)), "body.geometry"),
        (recovery(task_id=999_999), "body.task_id"),
        (recovery(personal_data={"missing_name": NAME}), "body.personal_data"),
        (recovery(remains_found=-1), "body.remains_found"),
    ]
    for body, field in bad_recoveries:
        r = client.post("/api/v1/recoveries", headers=officer, json=body)
        assert r.status_code == 422 and field in _error_fields(r), (field, r.text)
    for table in ("search_tasks", "recoveries", "recovery_personal_data"):
        assert count(platform, table) == 0
    assert count(platform, "audit_log") == audit_before


# --- personal data ------------------------------------------------------------------------


def test_personal_data_is_seen_only_by_the_owners_recovery_officers(
    platform: Platform, client: TestClient
) -> None:
    officer = caller(platform, "CMCC", Role.RECOVERY_OFFICER).headers
    readers = {
        "admin": caller(platform, "CMCC", Role.ADMIN).headers,
        "staff of the owner": caller(platform, "CMCC", Role.STAFF_OFFICER).headers,
        "recovery officer of another org": caller(platform, "GBR", Role.RECOVERY_OFFICER).headers,
        "anonymous": {},
    }
    t = task(client, officer, releasability="public")
    t = _ok(step(client, officer, t, "in_progress"))
    rec = _ok(
        client.post(
            "/api/v1/recoveries",
            headers=officer,
            json=recovery(t["id"], releasability="public"),
        )
    )
    url = f"/api/v1/recoveries/{rec['id']}"
    personal = {
        "missing_name": NAME,
        "age": 34,
        "family_contact_name": FAMILY,
        "family_contact_phone": PHONE,
        "notes": "Brother identified the clothing",
    }
    for who, headers in readers.items():
        r = client.put(f"{url}/personal-data", headers=headers, json=personal)
        assert r.status_code in (401, 403), (who, r.text)
    mine = _ok(client.get(url, headers=officer), 200)
    assert mine["personal_data"] is None  # may read it; none recorded yet
    _ok(client.put(f"{url}/personal-data", headers=officer, json=personal), 200)
    mine = _ok(client.get(url, headers=officer), 200)
    assert mine["personal_data"]["missing_name"] == NAME
    assert _ok(client.get(f"{url}/personal-data", headers=officer), 200)["age"] == 34
    # Everyone else: the recovery without the field; the personal-data route refused.
    for who, headers in readers.items():
        body = _ok(client.get(url, headers=headers), 200)
        assert "personal_data" not in body, who
        assert client.get(f"{url}/personal-data", headers=headers).status_code in (401, 403), who
    # Lists, OGC items and every collection's items: never, whoever asks.
    everyone = {**readers, "owner's recovery officer": officer}
    for who, headers in everyone.items():
        pages = [
            client.get("/api/v1/recoveries", headers=headers),
            client.get("/api/v1/search-tasks", headers=headers),
            client.get(f"/api/v1/search-tasks/{t['id']}", headers=headers),
            client.get("/ogc/collections/search-tasks/items", headers=headers),
            client.get(f"/ogc/collections/search-tasks/items/{t['id']}", headers=headers),
        ]
        collections = client.get("/ogc/collections", headers=headers).json()["collections"]
        pages += [
            client.get(f"/ogc/collections/{c['id']}/items", headers=headers) for c in collections
        ]
        for page in pages:
            assert page.status_code == 200, (who, page.url, page.text)
            assert NAME not in page.text and PHONE not in page.text, (who, page.url)
        listed = client.get("/api/v1/recoveries", headers=headers).json()["data"]
        assert listed and all("personal_data" not in r for r in listed), who
    # The audit log records that the personal data changed, never its values.
    _ok(
        client.put(f"{url}/personal-data", headers=officer, json={**personal, "age": 35}),
        200,
    )
    with platform.engine.connect() as conn:
        rows = conn.execute(text("SELECT entity, changes FROM audit_log")).all()
    assert rows
    for entity, changes in rows:
        for secret in (NAME, FAMILY, PHONE, "Brother identified"):
            assert secret not in changes, (entity, changes)
    personal_rows = [c for e, c in rows if e == "recovery_personal_data"]
    assert len(personal_rows) == 2 and all("<redacted>" in c for c in personal_rows)
    auditor = caller(platform, "CMCC", Role.AUDITOR).headers
    audit = client.get("/api/v1/audit", headers=auditor, params={"limit": 500})
    assert audit.status_code == 200 and NAME not in audit.text and PHONE not in audit.text


def test_recoveries_near_sees_every_recovery(platform: Platform, client: TestClient) -> None:
    officer = caller(platform, "GBR", Role.RECOVERY_OFFICER).headers
    near = _ok(
        client.post("/api/v1/recoveries", headers=officer, json=recovery(releasability="owner"))
    )
    far = recovery(geometry=point(LON + 0.01, LAT))  # about 950 m east
    _ok(client.post("/api/v1/recoveries", headers=officer, json=far))
    with platform.unit_of_work(Principal.anonymous()) as session:
        found = recoveries_near(session, LON + 0.001, LAT, 200)
        assert [r.id for r in found] == [near["id"]]
        assert len(recoveries_near(session, LON, LAT, 2000)) == 2


def test_moving_a_task_relinks_its_hazards(platform: Platform, client: TestClient) -> None:
    mine = caller(platform, "CMCC", Role.MINE_ACTION_OFFICER).headers
    officer = caller(platform, "CMCC", Role.RECOVERY_OFFICER).headers
    h = hazard(client, mine)
    t = task(client, officer, geometry=point(LON + 0.01, LAT))
    assert t["hazards"] == []
    url = f"/api/v1/search-tasks/{t['id']}"
    t = _ok(
        client.patch(url, headers=officer, json={"version": t["version"], "geometry": point()}), 200
    )
    assert t["hazards"] == [h["ref"]]
    away = {"version": t["version"], "geometry": point(LON + 0.01, LAT)}
    t = _ok(client.patch(url, headers=officer, json=away), 200)
    assert t["hazards"] == []
    with platform.engine.connect() as conn:
        actions = (
            conn.execute(
                text(
                    "SELECT action FROM audit_log WHERE entity = 'search_task_hazards' ORDER BY seq"
                )
            )
            .scalars()
            .all()
        )
    assert actions == ["create", "delete"]
