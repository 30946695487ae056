"""Pledges: validation, ownership, readiness ladder, renewal, concurrent updates."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cmcc.access.domain import Principal, Role
from cmcc.bootstrap import Platform
from cmcc.forces.models import Pledge
from tests.factories import caller, pledge_body


def _count(platform: Platform) -> int:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return int(s.scalar(select(func.count()).select_from(Pledge)) or 0)


def test_liaison_officer_records_own_nation_only(platform: Platform, client: TestClient) -> None:
    lo = caller(platform, "IDN", Role.LIAISON_OFFICER)
    own = client.post("/api/v1/pledges", json=pledge_body(), headers=lo.headers)
    assert own.status_code == 201, own.text
    body = own.json()
    assert (body["owner"], body["state"], body["readiness"], body["version"]) == (
        "IDN",
        "IDN",
        "level_1",
        1,
    )
    assert body["renewal_due"] == "2027-02-19"  # first renewal 12 months after registration
    other = client.post("/api/v1/pledges", json=pledge_body(state="GBR"), headers=lo.headers)
    assert other.status_code == 403
    donor = caller(platform, "GBR", Role.DONOR)
    assert (
        client.post("/api/v1/pledges", json=pledge_body(), headers=donor.headers).status_code == 403
    )


def test_bad_input_names_the_field_and_writes_nothing(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    before = _count(platform)
    cases = {
        "body.strength": pledge_body(strength=-5),
        "body.state": pledge_body(state="indonesia"),
        "body.capability": pledge_body(capability="space_marines"),
        "body.registered_on": pledge_body(registered_on="19/02/2026"),
        "body.tour_months": pledge_body(tour_months=0),
        "body.caveats.forbidden_tasks.0": pledge_body(caveats={"forbidden_tasks": ["looting"]}),
        "body.colour": pledge_body(colour="blue"),
    }
    for field, body in cases.items():
        r = client.post("/api/v1/pledges", json=body, headers=staff)
        assert r.status_code == 422, (field, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())
    unknown = client.post("/api/v1/pledges", json=pledge_body(state="XYZ"), headers=staff)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.state"
    order = client.post(
        "/api/v1/pledges",
        headers=staff,
        json=pledge_body(registered_on="2026-03-01", earliest_deployment="2026-02-01"),
    )
    assert order.status_code == 422
    assert "earliest_deployment" in order.json()["detail"]
    malformed = client.post(
        "/api/v1/pledges",
        content=b'{"ref": "x",',
        headers={**staff, "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["field"] == "body"
    huge = client.post(
        "/api/v1/pledges",
        headers={**staff, "content-type": "application/json"},
        content=b'{"notes": "' + b"x" * 2_000_000 + b'"}',
    )
    assert huge.status_code == 413
    assert _count(platform) == before


def test_duplicate_reference_is_a_conflict(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    body = pledge_body(ref="IDN-2026-01")
    assert client.post("/api/v1/pledges", json=body, headers=staff).status_code == 201
    again = client.post("/api/v1/pledges", json=body, headers=staff)
    assert again.status_code == 409


def test_stale_version_is_refused(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    pid = client.post("/api/v1/pledges", json=pledge_body(), headers=staff).json()["id"]
    first = client.patch(
        f"/api/v1/pledges/{pid}", json={"version": 1, "strength": 850}, headers=staff
    )
    assert first.status_code == 200
    assert first.json()["version"] == 2
    stale = client.patch(
        f"/api/v1/pledges/{pid}", json={"version": 1, "strength": 900}, headers=staff
    )
    assert stale.status_code == 409
    assert client.get(f"/api/v1/pledges/{pid}", headers=staff).json()["strength"] == 850


def test_concurrent_updates_are_not_lost(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    pid = client.post("/api/v1/pledges", json=pledge_body(), headers=staff).json()["id"]
    results: list[int] = []
    barrier = threading.Barrier(6)

    def update(strength: int) -> None:
        barrier.wait()
        r = client.patch(
            f"/api/v1/pledges/{pid}", json={"version": 1, "strength": strength}, headers=staff
        )
        results.append(r.status_code)

    threads = [threading.Thread(target=update, args=(900 + i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 5
    final = client.get(f"/api/v1/pledges/{pid}", headers=staff).json()
    assert final["version"] == 2


def test_readiness_climbs_one_pcrs_step_at_a_time(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    pid = client.post("/api/v1/pledges", json=pledge_body(), headers=staff).json()["id"]

    def raise_to(level: str, visit: str, version: int) -> object:
        return client.post(
            f"/api/v1/pledges/{pid}/readiness",
            headers=staff,
            json={"level": level, "visit": visit, "date": "2026-04-01", "version": version},
        )

    skip = raise_to("level_3", "sur_alignment", 1)
    assert skip.status_code == 409
    assert "skips" in skip.json()["detail"]
    wrong = raise_to("level_2", "verification_visit", 1)
    assert wrong.status_code == 409
    assert "assessment_advisory_visit" in wrong.json()["detail"]
    assert raise_to("level_2", "assessment_advisory_visit", 1).status_code == 201
    assert raise_to("level_3", "sur_alignment", 2).status_code == 201
    assert raise_to("rapid_deployment", "verification_visit", 3).status_code == 201
    visits = client.get(f"/api/v1/pledges/{pid}/readiness", headers=staff).json()
    assert [v["to_level"] for v in visits] == ["level_1", "level_2", "level_3", "rapid_deployment"]
    ready = client.get(
        "/api/v1/pledges", params={"readiness": "rapid_deployment"}, headers=staff
    ).json()
    assert [p["id"] for p in ready["data"]] == [pid]


def test_renewal_every_six_months_after_the_first_twelve(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    made = client.post(
        "/api/v1/pledges",
        headers=staff,
        json=pledge_body(registered_on="2024-01-31", earliest_deployment=None),
    )
    pid = made.json()["id"]
    assert made.json()["renewal_due"] == "2025-01-31"
    assert made.json()["renewal_overdue"] is True
    overdue = client.get("/api/v1/pledges", params={"renewal_overdue": True}, headers=staff)
    assert pid in [p["id"] for p in overdue.json()["data"]]
    renewed = client.post(
        f"/api/v1/pledges/{pid}/renewal", headers=staff, json={"date": "2025-08-31", "version": 1}
    )
    assert renewed.status_code == 200
    assert renewed.json()["renewal_due"] == "2026-02-28"  # six months later, end of February
    early = client.post(
        f"/api/v1/pledges/{pid}/renewal", headers=staff, json={"date": "2023-01-01", "version": 2}
    )
    assert early.status_code == 422
