"""Reconstruction funding: the plan tree, projects and the start rule (cleared areas, open
hazards), flows from pledge to payment with revisions, the totals that never double count,
bad input refused with nothing written, the release policy, the OGC collection and the CLI."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from cmcc.access.domain import OrgKind, Role
from cmcc.bootstrap import Platform
from cmcc.cli import app
from cmcc.cli.common import console
from tests.factories import caller, org

LON, LAT = 34.45, 31.50


def _ok(r: Any, code: int = 201) -> dict[str, Any]:
    assert r.status_code == code, r.text
    return dict(r.json())


def _fields(r: Any) -> list[str]:
    return [e["field"] for e in r.json().get("errors", [])]


def count(platform: Platform, table: str) -> int:
    with platform.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


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


def tree(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A plan with two phases and a programme in phase 1."""
    plan = _ok(
        client.post(
            "/api/v1/plans",
            headers=headers,
            json={
                "code": "PSE-RRP-2025",
                "title": "Gaza recovery and reconstruction plan",
                "start_date": "2026-01-01",
                "end_date": "2030-12-31",
                "budget_usd": "67000000000.00",
                "iati_identifier": "XM-CMCC-PSE-RRP-2025",
                "source": "illustrative",
            },
        )
    )
    phases = [
        _ok(
            client.post(
                "/api/v1/phases",
                headers=headers,
                json={
                    "plan_id": plan["id"],
                    "number": n,
                    "title": title,
                    "start_date": start,
                    "end_date": end,
                    "budget_usd": budget,
                },
            )
        )
        for n, title, start, end, budget in (
            (1, "Relief and early recovery", "2026-01-01", "2026-06-30", "3500000000.00"),
            (2, "Recovery", "2026-07-01", "2028-12-31", "30000000000.00"),
        )
    ]
    programme = _ok(
        client.post(
            "/api/v1/programmes",
            headers=headers,
            json={"phase_id": phases[0]["id"], "dac_code": "73010", "title": "Rubble and roads"},
        )
    )
    return {"plan": plan, "phase1": phases[0], "phase2": phases[1], "programme": programme}


def project_body(programme_id: int, **over: Any) -> dict[str, Any]:
    body = {
        "programme_id": programme_id,
        "title": "Clinic rehabilitation, Gaza City",
        "implementing_org": "UNDP",
        "geometry": point(),
        "planned_start": "2026-03-01",
        "planned_end": "2026-09-30",
        "budget_usd": "2500000.00",
        "iati_identifier": "XM-CMCC-PSE-RRP-2025-PRJ-1",
        "adm1": "Gaza",
    }
    body.update(over)
    return body


def flow_body(plan_id: int, **over: Any) -> dict[str, Any]:
    body = {
        "status": "pledge",
        "donor": "DEU",
        "amount": "1000000.00",
        "currency": "USD",
        "decision_date": "2026-02-10",
        "plan_id": plan_id,
    }
    body.update(over)
    return body


def setup(platform: Platform, client: TestClient) -> tuple[dict[str, str], dict[str, Any]]:
    org(platform, "UNDP", OrgKind.UN_AGENCY)
    for code in ("DEU", "FRA", "EGY"):
        org(platform, code)
    org(platform, "QAT", member=False)
    officer = caller(platform, "CMCC", Role.FUNDING_OFFICER).headers
    return officer, tree(client, officer)


# ---- the plan tree and projects --------------------------------------------------------------


def test_plan_tree_reads_and_corrections(platform: Platform, client: TestClient) -> None:
    officer, t = setup(platform, client)
    assert t["phase1"]["iati_identifier"] == "XM-CMCC-PSE-RRP-2025-P1"
    assert t["programme"]["dac_name"].startswith("Immediate post-emergency reconstruction")
    assert t["plan"]["budget_usd"] == "67000000000.00"
    listed = _ok(
        client.get("/api/v1/phases", params={"plan_id": t["plan"]["id"]}, headers=officer), 200
    )
    assert [p["number"] for p in listed["data"]] == [1, 2]
    fixed = _ok(
        client.patch(
            f"/api/v1/phases/{t['phase2']['id']}",
            headers=officer,
            json={"version": t["phase2"]["version"], "budget_usd": "30500000000.00"},
        ),
        200,
    )
    assert fixed["budget_usd"] == "30500000000.00" and fixed["version"] == 2
    stale = client.patch(
        f"/api/v1/phases/{t['phase2']['id']}",
        headers=officer,
        json={"version": 1, "title": "x"},
    )
    assert stale.status_code == 409
    same_number = client.post(
        "/api/v1/phases",
        headers=officer,
        json={
            "plan_id": t["plan"]["id"],
            "number": 1,
            "title": "again",
            "start_date": "2026-01-01",
            "end_date": "2026-02-01",
            "budget_usd": "1.00",
        },
    )
    assert same_number.status_code == 409
    bad_dac = client.post(
        "/api/v1/programmes",
        headers=officer,
        json={"phase_id": t["phase1"]["id"], "dac_code": "99999", "title": "x"},
    )
    assert bad_dac.status_code == 422 and _fields(bad_dac) == ["body.dac_code"]
    donor = caller(platform, "DEU", Role.DONOR).headers
    refused = client.post(
        "/api/v1/programmes",
        headers=donor,
        json={"phase_id": t["phase1"]["id"], "dac_code": "15250", "title": "Mine action"},
    )
    assert refused.status_code == 403


def test_project_starts_only_in_a_cleared_area_clear_of_hazards(
    platform: Platform, client: TestClient
) -> None:
    officer, t = setup(platform, client)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    deminer = caller(platform, "GBR", Role.MINE_ACTION_OFFICER).headers
    p = _ok(
        client.post("/api/v1/projects", headers=officer, json=project_body(t["programme"]["id"]))
    )
    assert p["status"] == "pipeline" and p["implementing_org"] == "UNDP"

    def start(version: int) -> Any:
        return client.post(
            f"/api/v1/projects/{p['id']}/status",
            headers=officer,
            json={"to": "in_progress", "version": version, "on": "2026-03-02"},
        )

    nowhere = start(p["version"])
    assert nowhere.status_code == 409
    assert "not inside any cleared area" in nowhere.json()["detail"]
    # a cleared area that covers the site, and an open hazard area touching it that the funding
    # officer may not see (owner-only): still blocks, counted but not named
    _ok(
        client.post(
            "/api/v1/zones",
            headers=staff,
            json={
                "name": "Cleared block 7",
                "kind": "cleared_area",
                "geometry": square(LON, LAT, 0.01),
                "valid_from": "2026-01-01T00:00:00Z",
            },
        )
    )
    hidden = _ok(
        client.post(
            "/api/v1/hazards",
            headers=deminer,
            json={
                "name": "UXO in rubble",
                "classification": "cha",
                "device_category": "uxo",
                "geometry": square(LON, LAT, 0.001),
                "releasability": "owner",
            },
        )
    )
    blocked = start(p["version"])
    assert blocked.status_code == 409
    detail = blocked.json()["detail"]
    assert "1 hazard area(s) not released to you" in detail and hidden["ref"] not in detail
    assert "cleared area" not in detail
    # released to the mission: named
    released = _ok(
        client.patch(
            f"/api/v1/hazards/{hidden['id']}",
            headers=deminer,
            json={"version": hidden["version"], "releasability": "mission"},
        ),
        200,
    )
    named = start(p["version"])
    assert named.status_code == 409 and hidden["ref"] in named.json()["detail"]
    _ok(
        client.post(
            f"/api/v1/hazards/{hidden['id']}/status",
            headers=deminer,
            json={
                "to": "closed",
                "reason": "cleared by EOD team 2",
                "version": released["version"],
            },
        ),
        200,
    )
    started = _ok(start(p["version"]), 200)
    assert started["status"] == "in_progress" and started["actual_start"] == "2026-03-02"
    # an area partly outside the cleared area is refused, naming the area it overlaps
    wide = _ok(
        client.post(
            "/api/v1/projects",
            headers=officer,
            json=project_body(
                t["programme"]["id"],
                geometry=square(LON + 0.01, LAT, 0.003),
                iati_identifier="XM-CMCC-PSE-RRP-2025-PRJ-2",
            ),
        )
    )
    partly = client.post(
        f"/api/v1/projects/{wide['id']}/status",
        headers=officer,
        json={"to": "in_progress", "version": wide["version"]},
    )
    assert partly.status_code == 409 and "Cleared block 7" in partly.json()["detail"]
    done = _ok(
        client.post(
            f"/api/v1/projects/{p['id']}/status",
            headers=officer,
            json={"to": "completed", "version": started["version"], "on": "2026-09-01"},
        ),
        200,
    )
    assert done["actual_end"] == "2026-09-01"
    again = client.post(
        f"/api/v1/projects/{p['id']}/status",
        headers=officer,
        json={"to": "in_progress", "version": done["version"]},
    )
    assert again.status_code == 409
    # lists by status and place; the OGC collection
    listed = _ok(
        client.get("/api/v1/projects", params={"status": "completed"}, headers=officer), 200
    )
    assert [x["id"] for x in listed["data"]] == [p["id"]]
    boxed = _ok(
        client.get(
            "/api/v1/projects", params={"bbox": "34.40,31.45,34.455,31.55"}, headers=officer
        ),
        200,
    )
    assert [x["id"] for x in boxed["data"]] == [p["id"]]
    items = _ok(client.get("/ogc/collections/projects/items", headers=officer), 200)
    assert {f["id"] for f in items["features"]} == {str(p["id"]), str(wide["id"])}


def test_bad_projects_are_refused_with_nothing_written(
    platform: Platform, client: TestClient
) -> None:
    officer, t = setup(platform, client)
    prog = t["programme"]["id"]
    cases = [
        (project_body(prog, geometry=point(2.35, 48.85)), "body.geometry"),
        (project_body(prog, geometry=point(LAT, LON)), "body.geometry"),
        (project_body(prog, planned_end="2026-01-01"), "body.planned_end"),
        (project_body(prog, budget_usd="-5.00"), "body.budget_usd"),
        (project_body(prog, implementing_org="NOPE"), "body.implementing_org"),
        (project_body(prog + 99), "body.programme_id"),
        (
            project_body(
                prog,
                geometry={"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.01, LAT]]},
            ),
            "body.geometry",
        ),
    ]
    for body, field in cases:
        r = client.post("/api/v1/projects", headers=officer, json=body)
        assert r.status_code == 422 and field in _fields(r), (field, r.text)
    assert count(platform, "funding_projects") == 0


# ---- flows ------------------------------------------------------------------------------------


def test_pledge_commitment_payment_never_double_count(
    platform: Platform, client: TestClient
) -> None:
    officer, t = setup(platform, client)
    plan, phase1 = t["plan"]["id"], t["phase1"]["id"]
    pledge = _ok(
        client.post("/api/v1/flows", headers=officer, json=flow_body(plan, phase_id=phase1))
    )
    assert pledge["lineage_id"] == pledge["id"] and pledge["version_no"] == 1
    assert pledge["version"] == 1 and pledge["plan_id"] == plan
    commitment = _ok(
        client.post(
            "/api/v1/flows",
            headers=officer,
            json=flow_body(
                plan,
                status="commitment",
                fulfils_id=pledge["id"],
                amount="550000.00",
                currency="EUR",
                exchange_rate="1.0900000000",
                decision_date="2026-03-01",
                programme_id=t["programme"]["id"],
            ),
        )
    )
    assert commitment["amount_usd"] == "599500.00" and commitment["phase_id"] == phase1
    paid = _ok(
        client.post(
            "/api/v1/flows",
            headers=officer,
            json=flow_body(
                plan,
                status="paid",
                fulfils_id=commitment["id"],
                amount="400000.00",
                decision_date="2026-03-01",
                flow_date="2026-04-15",
                phase_id=phase1,
            ),
        )
    )
    # a payment beyond what the commitment has left is refused, unless overridden
    over = client.post(
        "/api/v1/flows",
        headers=officer,
        json=flow_body(
            plan, status="paid", fulfils_id=commitment["id"], amount="200000.00", phase_id=phase1
        ),
    )
    assert over.status_code == 422 and _fields(over) == ["body.amount"]
    summary = _ok(client.get("/api/v1/funding/summary", headers=officer), 200)
    deu = summary["rows"][0]
    assert deu["key"] == "DEU"
    assert Decimal(deu["pledged_usd"]) == Decimal("1000000.00")
    assert Decimal(deu["committed_usd"]) == Decimal("599500.00")
    assert Decimal(deu["paid_usd"]) == Decimal("400000.00")
    assert Decimal(deu["outstanding_pledges_usd"]) == Decimal("400500.00")
    assert Decimal(deu["unpaid_commitments_usd"]) == Decimal("199500.00")
    assert Decimal(deu["total_usd"]) == Decimal("1000000.00")  # not 1,999,500
    assert Decimal(deu["disbursement_rate"]) == Decimal("0.6672")
    # the pledge grows: a new version, the old one kept
    revised = _ok(
        client.post(
            f"/api/v1/flows/{pledge['id']}/revisions",
            headers=officer,
            json={"version": pledge["version"], "amount": "1200000.00", "notes": "top-up"},
        )
    )
    assert revised["lineage_id"] == pledge["id"] and revised["version_no"] == 2
    assert revised["id"] != pledge["id"] and revised["phase_id"] == phase1
    old = _ok(client.get(f"/api/v1/flows/{pledge['id']}", headers=officer), 200)
    assert old["is_current"] is False and old["amount"] == "1000000.00"
    stale = client.post(
        f"/api/v1/flows/{pledge['id']}/revisions",
        headers=officer,
        json={"version": old["version"], "amount": "5.00"},
    )
    assert stale.status_code == 409
    listed = client.get(f"/api/v1/flows/{revised['id']}/versions", headers=officer)
    versions = listed.json()
    assert [v["version_no"] for v in versions] == [1, 2]
    current = _ok(client.get("/api/v1/flows", headers=officer), 200)
    assert {f["id"] for f in current["data"]} == {revised["id"], commitment["id"], paid["id"]}
    history = _ok(client.get("/api/v1/flows", params={"history": True}, headers=officer), 200)
    assert history["count"] == 4
    by_phase = _ok(
        client.get("/api/v1/funding/summary", params={"by": "phase"}, headers=officer), 200
    )
    p1 = by_phase["rows"][0]
    assert p1["key"] == "PSE-RRP-2025:P1" and Decimal(p1["total_usd"]) == Decimal("1200000.00")
    assert Decimal(p1["funded_usd"]) == Decimal("599500.00")
    assert Decimal(p1["gap_usd"]) == Decimal("3500000000.00") - Decimal("599500.00")
    assert Decimal(by_phase["rows"][1]["gap_usd"]) == Decimal("30000000000.00")
    by_month = _ok(
        client.get("/api/v1/funding/summary", params={"by": "month"}, headers=officer), 200
    )
    assert [r["key"] for r in by_month["rows"]] == ["2026-02", "2026-03", "2026-04"]
    by_sector = _ok(
        client.get("/api/v1/funding/summary", params={"by": "sector"}, headers=officer), 200
    )
    assert {r["key"] for r in by_sector["rows"]} == {"73010", None}
    # filters
    paid_only = _ok(
        client.get("/api/v1/flows", params={"status": "paid", "month": "2026-04"}, headers=officer),
        200,
    )
    assert [f["id"] for f in paid_only["data"]] == [paid["id"]]
    # with an override the over-payment is recorded, the reason kept in the notes
    forced = _ok(
        client.post(
            "/api/v1/flows",
            headers=officer,
            json=flow_body(
                plan,
                status="paid",
                fulfils_id=commitment["id"],
                amount="200000.00",
                phase_id=phase1,
                override_reason="second tranche paid before the amendment was signed",
            ),
        )
    )
    assert "second tranche" in forced["notes"]


def test_bad_flows_are_refused_with_nothing_written(platform: Platform, client: TestClient) -> None:
    officer, t = setup(platform, client)
    plan = t["plan"]["id"]
    other = _ok(
        client.post(
            "/api/v1/plans",
            headers=officer,
            json={
                "code": "OTHER",
                "title": "Another plan",
                "start_date": "2026-01-01",
                "end_date": "2026-12-31",
                "budget_usd": "1.00",
                "iati_identifier": "XM-CMCC-OTHER",
            },
        )
    )
    pledge = _ok(client.post("/api/v1/flows", headers=officer, json=flow_body(plan)))
    cases = [
        (flow_body(plan, currency="XYZ", exchange_rate="1.5"), "body.currency"),
        (flow_body(plan, currency="EUR"), "body.exchange_rate"),
        (flow_body(plan, amount="-10.00"), "body.amount"),
        (flow_body(plan, amount="0"), "body.amount"),
        (flow_body(plan, amount="10.001"), "body.amount"),
        (flow_body(plan, decision_date="2026-03-01", flow_date="2026-02-01"), "body.flow_date"),
        (flow_body(plan, donor="NOPE"), "body.donor"),
        (flow_body(None, phase_id=None), "body.plan_id"),
        (flow_body(other["id"], phase_id=t["phase1"]["id"]), "body.plan_id"),
        (flow_body(plan, fulfils_id=pledge["id"]), "body.fulfils_id"),
        (flow_body(plan, status="paid", fulfils_id=pledge["id"]), "body.fulfils_id"),
        (
            flow_body(plan, status="commitment", donor="FRA", fulfils_id=pledge["id"]),
            "body.fulfils_id",
        ),
        (
            flow_body(plan, currency="EUR", exchange_rate="1.1", amount_usd="900.00"),
            "body.amount_usd",
        ),
    ]
    for body, field in cases:
        r = client.post("/api/v1/flows", headers=officer, json=body)
        assert r.status_code == 422 and field in _fields(r), (field, r.text)
    assert count(platform, "funding_flows") == 1
    donor = caller(platform, "DEU", Role.DONOR).headers
    assert client.post("/api/v1/flows", headers=donor, json=flow_body(plan)).status_code == 403
    assert count(platform, "funding_flows") == 1


def test_donors_read_through_the_release_policy(platform: Platform, client: TestClient) -> None:
    officer, t = setup(platform, client)
    plan = t["plan"]["id"]
    _ok(
        client.patch(
            f"/api/v1/plans/{plan}",
            headers=officer,
            json={"version": t["plan"]["version"], "releasability": "public"},
        ),
        200,
    )
    mine = _ok(
        client.post(
            "/api/v1/flows",
            headers=officer,
            json=flow_body(plan, donor="QAT", amount="700.00", releasability="rel:QAT"),
        )
    )
    _ok(
        client.post(
            "/api/v1/flows",
            headers=officer,
            json=flow_body(plan, donor="DEU", amount="300.00", releasability="owner"),
        )
    )
    _ok(
        client.post(
            "/api/v1/flows", headers=officer, json=flow_body(plan, donor="EGY", amount="50.00")
        )
    )
    qatar = caller(platform, "QAT", Role.DONOR, member=False).headers
    seen = _ok(client.get("/api/v1/flows", headers=qatar), 200)
    assert [f["id"] for f in seen["data"]] == [mine["id"]]
    own = _ok(client.get("/api/v1/funding/summary", params={"donor": "me"}, headers=qatar), 200)
    assert own["donor"] == "QAT" and Decimal(own["total"]["total_usd"]) == Decimal("700.00")
    everything = _ok(client.get("/api/v1/funding/summary", headers=officer), 200)
    assert Decimal(everything["total"]["total_usd"]) == Decimal("1050.00")
    member = caller(platform, "IDN", Role.DONOR).headers
    mission = _ok(client.get("/api/v1/funding/summary", headers=member), 200)
    assert Decimal(mission["total"]["pledged_usd"]) == Decimal("50.00")
    r = client.get("/api/v1/funding/summary", params={"donor": "me"})
    assert r.status_code == 422 and _fields(r) == ["query.donor"]
    assert client.get(f"/api/v1/flows/{mine['id']}", headers=member).status_code == 404


def test_cli_report(
    platform: Platform, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "_width", 220)  # the tables' columns unwrapped
    officer, t = setup(platform, client)
    _ok(
        client.post(
            "/api/v1/flows",
            headers=officer,
            json=flow_body(t["plan"]["id"], phase_id=t["phase1"]["id"]),
        )
    )
    env = {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
    }
    runner = CliRunner()
    out = runner.invoke(app, ["funding", "report", "--by", "phase"], env=env)
    assert out.exit_code == 0, out.output
    assert "phase 1" in out.output
    p1 = next(line for line in out.output.splitlines() if ":P1 " in line and "│" in line)
    assert "1.00" in p1.split("│")[2]  # USD 1,000,000 pledged, shown in millions
    mine = runner.invoke(app, ["funding", "report", "--donor", "DEU"], env=env)
    assert mine.exit_code == 0 and "DEU" in mine.output
    bad = runner.invoke(app, ["funding", "report", "--donor", "NOPE"], env=env)
    assert bad.exit_code == 1
