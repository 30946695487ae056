"""The gaza-2025 scenario's humanitarian notifications: illustrative sites and movements of the
scenario's partners, loaded through the notification services (statuses, markings kept by the
workflow, advisories against the scenario's picture), read back as a partner, the centre, the
force and a party's liaison cell see them."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.models import Organization
from cmcc.access.service import add_user, create_token
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.scenarios.loader import load_scenario
from tests.factories import Caller

FICTITIOUS_PHONE = re.compile(r"^\+970 59 000 00\d\d$")


@pytest.fixture
def loaded(platform: Platform) -> None:
    with operator_session(platform, write=True, actor="system:test") as session:
        load_scenario(session, "gaza-2025", aoi=platform.settings.aoi_bbox, fence=platform.fence())


def user(platform: Platform, code: str, role: Role) -> Caller:
    """A user of an organization of the scenario (left as the scenario made it)."""
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        account = add_user(s, f"{role.value}-{code.lower()}", code, role)
        token = create_token(s, account, platform.settings.secret_key.get_secret_value())
    return Caller(account.username, code, role, token)


def _all(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    r = client.get("/api/v1/notifications", headers=headers, params={"limit": 500})
    assert r.status_code == 200, r.text
    return {n["title"]: n for n in r.json()["data"]}


def _file() -> list[dict[str, Any]]:
    folder = resources.files("cmcc.scenarios").joinpath("gaza-2025")
    text = folder.joinpath("notifications.toml").read_text(encoding="utf-8")
    records: list[dict[str, Any]] = tomllib.loads(text)["notifications"]
    return records


def test_every_notification_of_the_file_is_illustrative_with_a_fictitious_contact() -> None:
    records = _file()
    kinds = {r["kind"] for r in records}
    assert kinds == {"site", "movement"}
    assert {r["site_type"] for r in records if r["kind"] == "site"} >= {
        "health",
        "wash",
        "shelter",
        "food_distribution",
        "warehouse",
    }
    for r in records:
        assert r["illustrative"] is True, r["title"]
        assert FICTITIOUS_PHONE.match(r["contact"]["phone"]), r["title"]
        assert r["contact"]["name"].startswith("Duty officer"), r["title"]


def test_the_scenario_notifies_sites_and_movements(
    platform: Platform, client: TestClient, loaded: None
) -> None:
    staff = user(platform, "CMCC", Role.STAFF_OFFICER)
    unrwa = user(platform, "UNRWA", Role.HUMANITARIAN_PARTNER)
    isf = user(platform, "ISF-HQ", Role.STAFF_OFFICER)
    cogat = user(platform, "COGAT", Role.LIAISON_OFFICER)
    with platform.unit_of_work(Principal.system_operator()) as s:
        cell = s.scalars(select(Organization).where(Organization.code == "COGAT")).one()
        assert cell.kind == OrgKind.PARTY_LIAISON and not cell.is_member

    # The centre sees every one, each flagged illustrative, with its contact.
    everything = _all(client, staff.headers)
    assert set(everything) == {r["title"] for r in _file()}
    assert all(n["description"].startswith("Illustrative") for n in everything.values())
    assert all(n["contact"] and n["contact"]["name"] for n in everything.values())
    statuses = {n["status"] for n in everything.values()}
    assert statuses == {"submitted", "acknowledged", "shared", "completed"}
    convoy = everything["Inter-agency convoy, Kerem Shalom to Khan Younis"]
    assert convoy["kind"] == "movement" and convoy["geometry"]["type"] == "LineString"
    assert convoy["audiences"] == ["force", "COGAT"] and not convoy["short_notice"]
    assert everything["Inter-agency convoy, Zikim to Gaza City"]["short_notice"]
    done = everything["Inter-agency convoy, Kerem Shalom to Deir al-Balah"]
    history = client.get(
        f"/api/v1/notifications/{done['lineage']}/history", headers=staff.headers
    ).json()
    assert [h["to_status"] for h in history] == ["submitted", "acknowledged", "shared", "completed"]

    # The partner sees its own, with their contacts, and what is shared with the force (it is
    # not part of the force): nothing else.
    own = _all(client, unrwa.headers)
    assert set(own) == {t for t, n in everything.items() if n["owner"] == "UNRWA"}
    assert all(n["contact"] for n in own.values())
    assert {n["owner"] for n in everything.values()} == {"OCHA", "UNRWA", "PRCS", "UNMAS"}

    # The force sees what is shared with it; the party's liaison cell what is shared with it;
    # neither reads a contact.
    force = _all(client, isf.headers)
    assert set(force) == {t for t, n in everything.items() if "force" in n["audiences"]}
    liaison = _all(client, cogat.headers)
    assert set(liaison) == {t for t, n in everything.items() if "COGAT" in n["audiences"]}
    assert liaison and all(n["contact"] is None for n in [*force.values(), *liaison.values()])

    # Advisories were computed against the scenario's picture: the convoy from Kerem Shalom
    # crosses the area under IDF control, passes the suspected hazard in Khan Younis and meets
    # the force's task securing the aid corridor.
    path = f"/api/v1/notifications/{convoy['lineage']}/advisories"
    kinds = {a["kind"] for a in client.get(path, headers=staff.headers).json()["advisories"]}
    assert {"restricted_area", "explosive_hazard", "force_task"} <= kinds
    # The liaison cell, not a member of the mission, reads them counted, not named.
    seen = client.get(path, headers=cogat.headers).json()
    assert sum(w["count"] for w in seen["withheld"]) + len(seen["advisories"]) >= 3
    assert {a["record"]["type"] for a in seen["advisories"]} <= {"zone"}  # public zones only


def test_loading_again_adds_no_notification(platform: Platform, loaded: None) -> None:
    with operator_session(platform, write=True, actor="system:test") as session:
        added = load_scenario(
            session, "gaza-2025", aoi=platform.settings.aoi_bbox, fence=platform.fence()
        )
    assert added["notifications"] == 0
