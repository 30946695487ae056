"""The gaza-2025 scenario's force: an illustrative ORBAT (force headquarters, the CMCC outside
Gaza, notional sectors inside the area under Israeli control, the contingents made from
deployed pledges), its command arrangements, phases, tasks (one refused by the nation) and unit
reports, loaded through the services and read back through the API as a staff officer sees it."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point
from sqlalchemy import select

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.command.models import Unit
from cmcc.forces.models import Pledge
from cmcc.scenarios.loader import load_scenario
from cmcc.zones.models import Zone
from tests.factories import caller


@pytest.fixture
def loaded(platform: Platform) -> None:
    with operator_session(platform, write=True, actor="system:test") as session:
        load_scenario(session, "gaza-2025", aoi=platform.settings.aoi_bbox, fence=platform.fence())


def _walk(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for node in nodes:
        out[node["unit"]["name"]] = node
        out |= _walk(node["children"])
    return out


def _all(client: TestClient, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get(path, headers=headers, params={"limit": 500})
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def test_the_force_loads_with_its_structure(
    platform: Platform, client: TestClient, loaded: None
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    r = client.get("/api/v1/orbat", headers=staff)
    assert r.status_code == 200, r.text
    roots = {n["unit"]["name"]: n for n in r.json()}
    assert set(roots) == {
        "Civil-Military Coordination Centre",
        "International Stabilization Force Headquarters",
    }
    nodes = _walk(r.json())
    cmcc = roots["Civil-Military Coordination Centre"]["unit"]
    assert cmcc["nation"] == "USA" and cmcc["kind"] == "headquarters"
    assert "Kiryat Gat" in cmcc["location"]
    isf = roots["International Stabilization Force Headquarters"]
    assert {c["unit"]["short_name"] for c in isf["children"]} >= {"SECT 1 HQ", "SECT 2 HQ"}
    # Every unit is flagged illustrative and carries its source (the unit's own record).
    units = {u["name"]: u for u in _all(client, "/api/v1/units", staff)}
    assert set(units) == set(nodes)
    assert all(u["illustrative"] and u["source"] for u in units.values())
    # The contingents made from deployed pledges, from their transfer of authority.
    us = nodes["U.S. support element, CMCC"]["unit"]
    assert us["parent"] == cmcc["lineage"]
    assert units[us["name"]]["transfer_of_authority"] == "2025-10-17"
    assert us["strength_authorized"] == 200
    idn = nodes["Indonesian infantry battalion 1"]["unit"]
    assert units[idn["name"]]["transfer_of_authority"] == "2026-04-20" and idn["nation"] == "IDN"
    assert len([n for n in nodes if n.startswith("Egyptian police training team")]) == 2
    # Strength totals run up the tree.
    assert roots["International Stabilization Force Headquarters"]["totals"]["authorized"] >= (
        600 + 800
    )
    with platform.unit_of_work(Principal.system_operator()) as s:
        zones = {z.name: z for z in s.scalars(select(Zone))}
        strip = zones["Gaza Strip"].geometry
        idf = zones["Area under IDF control behind the yellow line (notional)"].geometry
        # The U.S. support element is at its base outside Gaza, and its caveat keeps it there.
        assert not strip.contains(Point(us["lon"], us["lat"]))
        pledge = s.scalars(select(Pledge).where(Pledge.ref == "USA-2025-01")).one()
        assert "gaza_strip" in pledge.caveats["forbidden_zone_kinds"]
        sectors = [z for z in zones.values() if z.kind == "isf_sector"]
        assert len(sectors) == 5 and all(z.notional and "[approx" in z.source for z in sectors)
        phase_one = [z for z in sectors if "Gaza City" not in z.name]
        assert all(z.geometry.within(idf) for z in phase_one)  # phase 1: under Israeli control
        deployed = {p.ref for p in s.scalars(select(Pledge).where(Pledge.deployed_on.is_not(None)))}
        made = {p.ref for p in s.scalars(select(Pledge).join(Unit, Unit.pledge_id == Pledge.id))}
        assert made and made <= deployed


def test_the_force_as_it_stood_before_the_isf(
    platform: Platform, client: TestClient, loaded: None
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    r = client.get("/api/v1/orbat", headers=staff, params={"as_of": "2026-01-01T00:00:00Z"})
    assert r.status_code == 200, r.text
    names = set(_walk(r.json()))
    assert names == {
        "Civil-Military Coordination Centre",
        "U.S. support element, CMCC",
        "UK planning officers, CMCC",
    }


def test_command_arrangements_tasks_and_reports(
    platform: Platform, client: TestClient, loaded: None
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    rels = _all(client, "/api/v1/command-relationships", staff)
    statuses = sorted(r["status"] for r in rels)
    assert statuses.count("proposed") == 1 and "agreed" in statuses
    assert statuses.count("effective") >= 5
    areas = _all(client, "/api/v1/areas", staff)
    assert len(areas) == 3
    tasks = {t["title"]: t for t in _all(client, "/api/v1/tasks", staff)}
    refused = [t for t in tasks.values() if t["status"] == "refused_by_nation"]
    assert len(refused) == 1 and refused[0]["status_reason"]
    assert refused[0]["task"] == "demilitarization"
    assert {t["status"] for t in tasks.values()} >= {"in_progress", "complete", "acknowledged"}
    reports = _all(client, "/api/v1/unit-reports", staff)
    assert {r["kind"] for r in reports} == {"perstat", "logstat"}
    assert len(reports) == 9


def test_outsiders_see_none_of_the_force(
    platform: Platform, client: TestClient, loaded: None
) -> None:
    """The force is released to the mission: an organization outside it sees no unit, no
    relationship, no task and no report, and the tree is empty."""
    ngo = caller(platform, "MSF", Role.DONOR, kind=OrgKind.NGO, member=False).headers
    assert client.get("/api/v1/orbat", headers=ngo).json() == []
    for path in ("/api/v1/units", "/api/v1/command-relationships", "/api/v1/tasks"):
        body = client.get(path, headers=ngo).json()
        assert body["count"] == 0 and body["data"] == [], path
    assert client.get("/api/v1/unit-reports", headers=ngo).json()["count"] == 0


def test_the_force_files_carry_a_source_or_say_they_are_illustrative() -> None:
    folder = resources.files("cmcc.scenarios").joinpath("gaza-2025")

    def read(name: str) -> dict[str, Any]:
        return tomllib.loads(folder.joinpath(f"{name}.toml").read_text(encoding="utf-8"))

    units, command = read("units"), read("command")
    for table, records in (*units.items(), *command.items()):
        for record in records:
            assert record.get("source"), (table, record)
    for task in read("tasks")["tasks"]:
        assert task["illustrative"], task
    for report in read("unit_reports")["reports"]:
        assert report["illustrative"] and report["remarks"].startswith("Illustrative"), report
