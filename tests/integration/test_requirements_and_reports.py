"""SURs, matching pledges to them under caveats, the gap report, the projection, contributions."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from tests.factories import caller, pledge_body, requirement_body


def _ok(r: Any, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return dict(r.json())


def _ready(client: TestClient, headers: dict[str, str], pid: int) -> None:
    for level, visit in (("level_2", "assessment_advisory_visit"), ("level_3", "sur_alignment")):
        version = client.get(f"/api/v1/pledges/{pid}", headers=headers).json()["version"]
        _ok(
            client.post(
                f"/api/v1/pledges/{pid}/readiness",
                headers=headers,
                json={"level": level, "visit": visit, "date": "2026-03-01", "version": version},
            )
        )


def _pledged(client: TestClient, staff: dict[str, str], iso3: str) -> None:
    for to in ("approached", "interested", "pledged"):
        _ok(
            client.post(
                f"/api/v1/states/{iso3}/transitions",
                headers=staff,
                json={"to": to, "date": "2026-01-01", "reason": "test"},
            )
        )


def test_matching_checks_capability_caveats_and_size(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    req = _ok(client.post("/api/v1/requirements", json=requirement_body(units=2), headers=staff))
    inside = req["id"]

    engineers = _ok(
        client.post("/api/v1/pledges", headers=staff, json=pledge_body(capability="engineers"))
    )
    no_gaza = _ok(
        client.post(
            "/api/v1/pledges",
            headers=staff,
            json=pledge_body(state="USA", caveats={"forbidden_zone_kinds": ["gaza_strip"]}),
        )
    )
    idf_only = _ok(
        client.post(
            "/api/v1/pledges",
            headers=staff,
            json=pledge_body(caveats={"only_zone_kinds": ["area_under_idf_control"]}),
        )
    )
    good = [
        _ok(
            client.post(
                "/api/v1/pledges",
                headers=staff,
                json=pledge_body(caveats={"forbidden_tasks": ["offensive_operations"]}),
            )
        )
        for _ in range(3)
    ]

    def match(pid: int) -> Any:
        return client.post(
            f"/api/v1/requirements/{inside}/matches", json={"pledge_id": pid}, headers=staff
        )

    cap = match(engineers["id"])
    assert cap.status_code == 409
    assert "engineers" in cap.json()["detail"]
    gaza = match(no_gaza["id"])
    assert gaza.status_code == 409
    assert "forbids gaza_strip" in gaza.json()["detail"]
    idf = match(idf_only["id"])
    assert idf.status_code == 409
    assert "allows only area_under_idf_control" in idf.json()["detail"]
    assert match(good[0]["id"]).json()["requirement_id"] == inside
    _ok(match(good[1]["id"]))
    full = match(good[2]["id"])
    assert full.status_code == 409
    assert "needs 2 units" in full.json()["detail"]

    candidates = client.get(f"/api/v1/requirements/{inside}/candidates", headers=staff).json()
    by_id = {c["pledge"]["id"]: c for c in candidates}
    assert by_id[good[2]["id"]]["permitted"] is True
    assert by_id[no_gaza["id"]]["permitted"] is False
    assert engineers["id"] not in by_id

    unmatch = client.delete(f"/api/v1/requirements/{inside}/matches/{good[1]['id']}", headers=staff)
    assert unmatch.status_code == 204
    _ok(match(good[2]["id"]))


def test_gap_report_counts_level_3_matches_only(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    _pledged(client, staff, "IDN")
    req = _ok(
        client.post(
            "/api/v1/requirements",
            headers=staff,
            json=requirement_body(units=3, strength_per_unit=800),
        )
    )
    _ok(
        client.post(
            "/api/v1/requirements",
            headers=staff,
            json=requirement_body(
                capability="engineers", units=1, strength_per_unit=300, zone_kinds=[], tasks=[]
            ),
        )
    )
    p1 = _ok(client.post("/api/v1/pledges", headers=staff, json=pledge_body(strength=800)))
    p2 = _ok(client.post("/api/v1/pledges", headers=staff, json=pledge_body(strength=750)))
    _ok(client.post("/api/v1/pledges", headers=staff, json=pledge_body(strength=700)))
    for p in (p1, p2):
        _ok(
            client.post(
                f"/api/v1/requirements/{req['id']}/matches",
                json={"pledge_id": p["id"]},
                headers=staff,
            )
        )
    _ready(client, staff, p1["id"])
    report = client.get("/api/v1/forces/gaps", headers=staff).json()
    rows = {r["capability"]: r for r in report["rows"]}
    inf = rows["infantry_battalion"]
    assert (inf["required_units"], inf["required_strength"]) == (3, 2400)
    assert (inf["matched_units"], inf["matched_strength"]) == (2, 1550)
    assert (inf["ready_units"], inf["ready_strength"]) == (1, 800)
    assert (inf["gap_units"], inf["gap_strength"]) == (2, 1600)
    assert (inf["unmatched_pledged_units"], inf["unmatched_pledged_strength"]) == (1, 700)
    assert rows["engineers"]["gap_units"] == 1
    assert report["total_gap_units"] == 3


def test_projection_against_targets(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    early = _ok(
        client.post(
            "/api/v1/forces/targets",
            headers=staff,
            json={"name": "early 2026", "strength": 5000, "due": "2026-03-31"},
        )
    )
    _ok(
        client.post(
            "/api/v1/forces/targets",
            headers=staff,
            json={"name": "end 2026", "strength": 10000, "due": "2026-12-31"},
        )
    )
    _pledged(client, staff, "IDN")
    for to in ("committed",):
        _ok(
            client.post(
                "/api/v1/states/IDN/transitions",
                headers=staff,
                json={"to": to, "date": "2026-02-20", "reason": "MOU signed"},
            )
        )
    _pledged(client, staff, "MAR")
    for start, strength, state in (
        ("2026-03-01", 3000, "IDN"),
        ("2026-05-01", 3000, "IDN"),
        ("2026-06-01", 5000, "MAR"),
    ):
        _ok(
            client.post(
                "/api/v1/pledges",
                headers=staff,
                json=pledge_body(
                    state=state,
                    strength=strength,
                    registered_on="2026-02-19",
                    earliest_deployment=start,
                    duration_months=12,
                    tour_months=6,
                ),
            )
        )
    proj = client.get(
        "/api/v1/forces/projection",
        headers=staff,
        params={"start": "2026-01-01", "end": "2027-12-31", "step_days": 1},
    ).json()
    committed = {t["name"]: t for t in proj["committed_targets"]}
    pledged = {t["name"]: t for t in proj["pledged_targets"]}
    assert committed["early 2026"]["met_on"] == "2026-05-01"  # 6,000 committed from 1 May
    assert committed["early 2026"]["met_by_due"] is False
    assert committed["early 2026"]["shortfall_on_due"] == 2000
    assert committed["end 2026"]["met_on"] is None
    assert pledged["end 2026"]["met_on"] == "2026-06-01"  # 11,000 with Morocco
    by_day = {p["on"]: p for p in proj["series"]}
    assert by_day["2026-06-01"]["pledged"] == 11000
    assert by_day["2027-03-01"]["committed"] == 3000  # the first pledge ended after 12 months
    assert by_day["2027-06-01"]["pledged"] == 0
    assert {r["month"]: r["contingents"] for r in proj["rotations"]}["2026-09-01"] == 1
    # Targets are editable, and the projection follows.
    _ok(
        client.patch(
            f"/api/v1/forces/targets/{early['id']}",
            headers=staff,
            json={"version": 1, "strength": 3000},
        ),
        200,
    )
    again = client.get(
        "/api/v1/forces/projection",
        headers=staff,
        params={"start": "2026-01-01", "end": "2027-12-31"},
    ).json()
    assert {t["name"]: t for t in again["committed_targets"]}["early 2026"][
        "met_on"
    ] == "2026-03-01"
    bad = client.get(
        "/api/v1/forces/projection",
        headers=staff,
        params={"start": "2027-01-01", "end": "2026-01-01"},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.end"


def test_contributions_and_totals(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    base = {"state": "QAT", "status": "pledged", "date": "2026-02-19"}
    _ok(
        client.post(
            "/api/v1/contributions",
            headers=staff,
            json={**base, "amount": "1000000.00", "currency": "USD"},
        )
    )
    paid = _ok(
        client.post(
            "/api/v1/contributions",
            headers=staff,
            json={
                **base,
                "status": "paid",
                "amount": "500000.00",
                "currency": "EUR",
                "usd_amount": "540000.10",
            },
        )
    )
    assert paid["usd_amount"] == "540000.10"
    for body, field in (
        ({**base, "amount": "-1", "currency": "USD"}, "body.amount"),
        ({**base, "amount": "10", "currency": "XXQ", "usd_amount": "10"}, "body.currency"),
        ({**base, "amount": "10", "currency": "EUR"}, "body"),
        ({**base, "amount": "10.001", "currency": "USD"}, "body.amount"),
    ):
        r = client.post("/api/v1/contributions", headers=staff, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, r.json()
    totals = {
        t["state"]: t for t in client.get("/api/v1/contributions/totals", headers=staff).json()
    }
    assert totals["QAT"]["pledged_usd"] == "1000000.00"
    assert totals["QAT"]["paid_usd"] == "540000.10"
    listed = client.get("/api/v1/contributions", params={"status": "paid"}, headers=staff).json()
    assert [c["id"] for c in listed["data"]] == [paid["id"]]
