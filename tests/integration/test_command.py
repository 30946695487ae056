"""Command and control end to end, on both backends: a pledge becomes units, a relationship is
proposed, agreed and takes effect, tasks are accepted or refused with their reasons, the
nation's red card is final, the ORBAT reads as of two dates, unit reports roll up and raise
alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from tests.factories import caller, pledge_body

TOA = "2026-03-01"
T = "2026-03-05T06:00:00Z"


def ok(r: Any, code: int = 201) -> Any:
    assert r.status_code == code, r.text
    return r.json()


def square(x: float, y: float, d: float = 0.02) -> dict[str, Any]:
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


class Force:
    """A force HQ, a sector HQ with its sector, and IDN's battalion from a deployed pledge."""

    def __init__(self, platform: Platform, client: TestClient, caveats: dict[str, Any]) -> None:
        self.c = client
        self.staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
        self.idn = caller(platform, "IDN", Role.LIAISON_OFFICER).headers
        self.idn_staff = caller(platform, "IDN", Role.STAFF_OFFICER).headers
        body = pledge_body(state="IDN", units=2, strength=1600, deployed_on=TOA, caveats=caveats)
        self.pledge = ok(client.post("/api/v1/pledges", json=body, headers=self.idn))
        ok(
            client.post(
                f"/api/v1/pledges/{self.pledge['id']}/readiness",
                json={
                    "level": "level_2",
                    "visit": "assessment_advisory_visit",
                    "date": "2026-02-20",
                    "version": 1,
                },
                headers=self.staff,
            )
        )
        self.fhq = self.unit("ISF Force Headquarters", "headquarters", "corps")
        self.shq = self.unit("Sector South HQ", "headquarters", "brigade", parent=self.fhq)
        self.sector = ok(
            client.post(
                "/api/v1/zones",
                json={
                    "name": "Sector South",
                    "kind": "isf_sector",
                    "geometry": square(34.30, 31.30),
                    "valid_from": "2026-01-01T00:00:00Z",
                },
                headers=self.staff,
            )
        )["lineage"]
        self.idf = ok(
            client.post(
                "/api/v1/zones",
                json={
                    "name": "Behind the yellow line",
                    "kind": "area_under_idf_control",
                    "geometry": square(34.30, 31.30, 0.01),
                    "valid_from": "2026-01-01T00:00:00Z",
                },
                headers=self.staff,
            )
        )["lineage"]
        ok(
            client.post(
                "/api/v1/areas",
                json={
                    "headquarters": self.shq,
                    "zone": self.sector,
                    "valid_from": "2026-01-01T00:00:00Z",
                },
                headers=self.staff,
            )
        )
        self.contingent = self.unit("Indonesian contingent", "contingent", "brigade", nation="IDN")
        made = ok(
            client.post(
                f"/api/v1/pledges/{self.pledge['id']}/units",
                json={
                    "parent": self.contingent,
                    "transfer_of_authority": TOA,
                    "names": ["IDN Battalion 1", "IDN Battalion 2"],
                },
                headers=self.staff,
            )
        )
        self.bn = made[0]["lineage"]

    def unit(self, name: str, kind: str, echelon: str, **over: Any) -> int:
        body = {
            "name": name,
            "kind": kind,
            "echelon": echelon,
            "valid_from": "2026-01-01T00:00:00Z",
        }
        body.update(over)
        return int(ok(self.c.post("/api/v1/units", json=body, headers=self.staff))["lineage"])

    def relate(self, kind: str, hq: int | None = None) -> Any:
        return self.c.post(
            "/api/v1/command-relationships",
            json={
                "unit": self.bn,
                "headquarters": hq or self.shq,
                "kind": kind,
                "effective_from": TOA + "T00:00:00Z",
            },
            headers=self.staff,
        )

    def step(self, rel: dict[str, Any], status: str, headers: dict[str, str]) -> Any:
        return self.c.post(
            f"/api/v1/command-relationships/{rel['id']}/status",
            json={"status": status, "version": rel["version"]},
            headers=headers,
        )

    def effective(self, kind: str) -> dict[str, Any]:
        rel = ok(self.relate(kind))
        rel = ok(self.step(rel, "agreed", self.idn), 200)
        return dict(ok(self.step(rel, "effective", self.staff), 200))

    def task(self, **over: Any) -> Any:
        body = {
            "title": "Patrol the aid route",
            "task": "protection_of_civilians",
            "unit": self.bn,
            "issuer": self.shq,
            "zone": self.idf,
            "starts_at": T,
            "ends_at": "2026-03-05T18:00:00Z",
        }
        body.update(over)
        return self.c.post("/api/v1/tasks", json=body, headers=self.staff)


def test_pledge_to_units_to_relationship_to_task(platform: Platform, client: TestClient) -> None:
    f = Force(platform, client, {})
    units = ok(client.get("/api/v1/units", headers=f.staff), 200)["data"]
    bn = next(u for u in units if u["lineage"] == f.bn)
    assert (bn["nation"], bn["capability"], bn["strength_authorized"], bn["owner"]) == (
        "IDN",
        "infantry_battalion",
        800,
        "IDN",
    )
    assert bn["sidc"] == "SFGPUCI----F---"  # friendly infantry battalion (2525C)
    assert bn["parent"] == f.contingent and bn["transfer_of_authority"] == TOA
    # Not a second time.
    again = client.post(
        f"/api/v1/pledges/{f.pledge['id']}/units",
        json={"parent": f.contingent, "transfer_of_authority": TOA},
        headers=f.staff,
    )
    assert again.status_code == 409

    # Before any relationship: no authority.
    refused = f.task()
    assert refused.status_code == 409
    assert any("no authority" in e["message"] for e in refused.json()["errors"])

    rel = ok(f.relate("opcon"))
    assert rel["status"] == "proposed"
    # The force cannot agree for the nation; the nation can.
    assert f.step(rel, "agreed", f.staff).status_code == 403
    assert f.step(rel, "effective", f.staff).status_code == 409  # not agreed yet
    rel = ok(f.step(rel, "agreed", f.idn), 200)
    assert rel["agreed_by"].endswith("@IDN")
    rel = ok(f.step(rel, "effective", f.staff), 200)

    task = ok(f.task())
    assert (task["status"], task["unit"], task["issuer"]) == ("issued", f.bn, f.shq)
    # OPCON over the contingent reaches its battalion; the force HQ holds nothing.
    assert f.task(issuer=f.fhq).status_code == 409

    # The nation's red card: recorded with its reason, final.
    no_reason = client.post(
        f"/api/v1/tasks/{task['id']}/status",
        json={"status": "refused_by_nation", "version": task["version"]},
        headers=f.idn,
    )
    assert no_reason.status_code == 422
    red = ok(
        client.post(
            f"/api/v1/tasks/{task['id']}/status",
            json={
                "status": "refused_by_nation",
                "reason": "national capital withholds consent",
                "version": task["version"],
            },
            headers=f.idn,
        ),
        200,
    )
    assert (red["status"], red["status_reason"]) == (
        "refused_by_nation",
        "national capital withholds consent",
    )
    override = client.post(
        f"/api/v1/tasks/{task['id']}/status",
        json={"status": "in_progress", "version": red["version"]},
        headers=f.staff,
    )
    assert override.status_code == 409 and "never overridden" in override.json()["detail"]
    listed = ok(
        client.get("/api/v1/tasks", params={"status": "refused_by_nation"}, headers=f.staff), 200
    )
    assert [t["id"] for t in listed["data"]] == [task["id"]]


def test_every_refusal_names_its_reason(platform: Platform, client: TestClient) -> None:
    f = Force(
        platform,
        client,
        {
            "forbidden_tasks": ["offensive_operations"],
            "only_zone_kinds": ["area_under_idf_control"],
        },
    )
    f.effective("tacon")
    assert f.task().status_code == 201
    caveat = f.task(task="offensive_operations")
    assert caveat.status_code == 409
    assert "caveat forbids the task offensive_operations" in caveat.text
    outside = f.task(zone=None, lon=34.45, lat=31.45)  # outside the area under IDF control
    assert "caveat allows only area_under_idf_control" in outside.text
    # Readiness: the battalion's strength present falls below half its authorized strength.
    unit = ok(client.get(f"/api/v1/units/{f.bn}", headers=f.staff), 200)
    ok(
        client.post(
            f"/api/v1/units/{f.bn}/versions",
            json={
                "version": unit["version"],
                "valid_from": "2026-03-04T00:00:00Z",
                "strength_present": 300,
            },
            headers=f.staff,
        )
    )
    weak = f.task()
    assert weak.status_code == 409 and "not ready: 300 present of 800 authorized" in weak.text
    # The dry run says the same, writing nothing.
    body = {
        "title": "x",
        "task": "protection_of_civilians",
        "unit": f.bn,
        "issuer": f.shq,
        "zone": f.idf,
        "starts_at": T,
        "ends_at": "2026-03-05T18:00:00Z",
    }
    reasons = ok(client.post("/api/v1/tasks/check", json=body, headers=f.staff), 200)
    assert reasons == ["not ready: 300 present of 800 authorized (below 50 %)"]


def test_relationship_refused_by_caveat_names_it(platform: Platform, client: TestClient) -> None:
    f = Force(
        platform,
        client,
        {"forbidden_relationships": ["opcon"], "forbidden_zone_kinds": ["isf_sector"]},
    )
    opcon = f.relate("opcon")
    assert opcon.status_code == 409
    assert "caveat forbids placing the unit under OPCON" in opcon.text
    tacon = f.relate("tacon")  # the sector HQ's area is an ISF sector
    assert tacon.status_code == 409 and "caveat forbids isf_sector" in tacon.text
    assert f.relate("national").status_code == 201


def test_orbat_read_as_of_two_dates(platform: Platform, client: TestClient) -> None:
    f = Force(platform, client, {})
    unit = ok(client.get(f"/api/v1/units/{f.bn}", headers=f.staff), 200)
    # On 1 April the battalion moves under the sector HQ.
    ok(
        client.post(
            f"/api/v1/units/{f.bn}/versions",
            json={
                "version": unit["version"],
                "valid_from": "2026-04-01T00:00:00Z",
                "parent": f.shq,
                "strength_present": 700,
            },
            headers=f.staff,
        )
    )

    def tree(as_of: str) -> dict[int, Any]:
        roots = ok(client.get("/api/v1/orbat", params={"as_of": as_of}, headers=f.staff), 200)
        found: dict[int, Any] = {}
        stack = list(roots)
        while stack:
            node = stack.pop()
            found[node["unit"]["lineage"]] = node
            stack.extend(node["children"])
        return found

    march, april = tree("2026-03-15T00:00:00Z"), tree("2026-04-15T00:00:00Z")
    assert march[f.bn]["unit"]["parent"] == f.contingent
    assert april[f.bn]["unit"]["parent"] == f.shq
    assert f.bn in {c["unit"]["lineage"] for c in april[f.shq]["children"]}
    assert march[f.contingent]["totals"]["present"] == 1600
    assert april[f.contingent]["totals"]["present"] == 800
    assert april[f.shq]["totals"]["present"] == 700
    before = tree("2026-02-15T00:00:00Z")
    assert f.bn not in before and f.fhq in before  # the units exist from their TOA
    history = ok(client.get(f"/api/v1/units/{f.bn}/history", headers=f.staff), 200)
    assert [h["strength_present"] for h in history] == [800, 700]


def test_hidden_parent_is_not_named(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    secret = ok(
        client.post(
            "/api/v1/units",
            headers=staff,
            json={
                "name": "Close protection HQ",
                "kind": "headquarters",
                "echelon": "company",
                "releasability": "owner",
            },
        )
    )
    child = ok(
        client.post(
            "/api/v1/units",
            headers=staff,
            json={"name": "Liaison team", "echelon": "team", "parent": secret["lineage"]},
        )
    )
    seen = ok(client.get(f"/api/v1/units/{child['lineage']}", headers=gbr), 200)
    assert seen["parent"] is None
    roots = ok(client.get("/api/v1/orbat", headers=gbr), 200)
    assert [n["unit"]["lineage"] for n in roots] == [child["lineage"]]
    assert client.get(f"/api/v1/units/{secret['lineage']}", headers=gbr).status_code == 404


def test_unit_reports_roll_up_and_raise_alerts(platform: Platform, client: TestClient) -> None:
    f = Force(platform, client, {})
    day = dt.date(2026, 3, 5)
    perstat = {
        "unit": f.bn,
        "report_date": str(day),
        "kind": "perstat",
        "perstat": {"present": 760, "on_leave": 30, "casualties": {"injured": 2}},
    }
    ok(client.post("/api/v1/unit-reports", json=perstat, headers=f.idn))
    logstat = {
        "unit": f.bn,
        "report_date": str(day),
        "kind": "logstat",
        "logstat": {"days_of_supply": {"water": 1.5, "rations": 7, "fuel": 4}},
    }
    ok(client.post("/api/v1/unit-reports", json=logstat, headers=f.idn))
    # Another nation cannot file the battalion's report.
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    assert client.post("/api/v1/unit-reports", json=perstat, headers=gbr).status_code == 403
    # Names are not figures: the casualties are counts by category only.
    bad = dict(perstat, perstat={"present": 1, "casualties": {"Ahmad": 1}})
    assert client.post("/api/v1/unit-reports", json=bad, headers=f.idn).status_code == 422

    rows = ok(
        client.get(
            "/api/v1/unit-reports/rollup",
            params={"date": str(day), "by": "nation"},
            headers=f.staff,
        ),
        200,
    )
    idn = next(r for r in rows if r["key"] == "IDN")
    assert (idn["units"], idn["reported"], idn["present"], idn["overdue"]) == (2, 1, 760, 1)
    assert idn["casualties"] == {"injured": 2} and idn["lowest_days_of_supply"]["water"] == 1.5
    sectors = ok(
        client.get(
            "/api/v1/unit-reports/rollup",
            params={"date": str(day), "by": "sector"},
            headers=f.staff,
        ),
        200,
    )
    assert {r["key"] for r in sectors} == {"no sector"}  # under the contingent, not a sector
    # Placed under the sector HQ, the battalion inherits its area and reports in its sector.
    unit = ok(client.get(f"/api/v1/units/{f.bn}", headers=f.staff), 200)
    ok(
        client.post(
            f"/api/v1/units/{f.bn}/versions",
            json={
                "version": unit["version"],
                "valid_from": "2026-03-02T00:00:00Z",
                "parent": f.shq,
            },
            headers=f.staff,
        )
    )
    area = client.get(f"/api/v1/units/{f.bn}/area", params={"as_of": T}, headers=f.staff)
    assert ok(area, 200) == [f.sector]
    sectors = ok(
        client.get(
            "/api/v1/unit-reports/rollup",
            params={"date": str(day), "by": "sector"},
            headers=f.staff,
        ),
        200,
    )
    assert {r["key"]: r["units"] for r in sectors} == {"Sector South": 1, "no sector": 1}

    raised = ok(
        client.post("/api/v1/unit-reports/overdue", params={"date": str(day)}, headers=f.staff), 200
    )
    assert raised == 1  # battalion 2 filed nothing
    alerts = ok(client.get("/api/v1/alerts", headers=f.staff), 200)["data"]
    kinds = sorted(a["kind"] for a in alerts)
    assert kinds == ["report_overdue", "supply_low"]
    low = next(a for a in alerts if a["kind"] == "supply_low")
    assert "water 1.5 days" in low["message"] and low["unit_id"] is not None
    # Running the check again raises nothing new.
    assert (
        ok(
            client.post("/api/v1/unit-reports/overdue", params={"date": str(day)}, headers=f.staff),
            200,
        )
        == 0
    )


def test_deployment_phase_refuses_tasks_outside_its_areas(
    platform: Platform, client: TestClient
) -> None:
    f = Force(platform, client, {})
    f.effective("opcon")
    phase = {
        "number": 1,
        "name": "Phase 1",
        "starts_on": "2026-01-01",
        "ends_on": "2026-06-30",
        "zone_kinds": ["area_under_idf_control"],
    }
    ok(client.post("/api/v1/deployment-phases", json=phase, headers=f.staff))
    bad = dict(phase, zone_kinds=["no_such_kind"], number=2)
    r = client.post("/api/v1/deployment-phases", json=bad, headers=f.staff)
    assert r.status_code == 422 and "body.zone_kinds.0" in r.text
    assert f.task().status_code == 201  # inside the area under IDF control
    outside = f.task(zone=None, lon=34.315, lat=31.315)  # in the sector, beyond the line
    assert outside.status_code == 409
    assert "outside the deployment phase: Phase 1 deploys only in area_under_idf_control" in (
        outside.text
    )
    # After phase 1 ends, the same task is accepted.
    later = f.task(
        zone=None,
        lon=34.315,
        lat=31.315,
        starts_at="2026-07-02T06:00:00Z",
        ends_at="2026-07-02T18:00:00Z",
    )
    assert later.status_code == 201, later.text


def test_a_refusal_never_tells_of_a_zone_the_issuer_may_not_see(
    platform: Platform, client: TestClient
) -> None:
    f = Force(platform, client, {"forbidden_zone_kinds": ["restricted_area"]})
    f.effective("opcon")
    gbr = caller(platform, "GBR", Role.STAFF_OFFICER).headers
    hidden = {
        "name": "GBR only",
        "kind": "restricted_area",
        "geometry": square(34.30, 31.30, 0.01),
        "valid_from": "2026-01-01T00:00:00Z",
        "releasability": "owner",
    }
    ok(client.post("/api/v1/zones", json=hidden, headers=gbr))
    # GBR's staff, who see the zone, are refused with the caveat named...
    body = {
        "title": "Patrol",
        "task": "protection_of_civilians",
        "unit": f.bn,
        "issuer": f.shq,
        "zone": f.idf,
        "starts_at": T,
        "ends_at": "2026-03-05T18:00:00Z",
    }
    seen = client.post("/api/v1/tasks", json=body, headers=gbr)
    assert seen.status_code == 409 and "caveat forbids restricted_area" in seen.text
    # ...the CMCC, who may not see it, is not told of it: the task is checked against the
    # zones it may see (the unit's positions still raise alerts for those who see the zone).
    assert f.task().status_code == 201
