"""Bodies and callers shared by the humanitarian coordination tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from cmcc.access.domain import OrgKind, Role
from cmcc.bootstrap import Platform
from tests.factories import Caller, caller

# A route from Kerem Shalom north towards Khan Younis, and a site in Deir al-Balah.
ROUTE = {"type": "LineString", "coordinates": [[34.2706, 31.2208], [34.30, 31.30], [34.32, 31.34]]}
SITE = {"type": "Point", "coordinates": [34.3517, 31.4189]}


def ok(r: Any, code: int = 201) -> Any:
    assert r.status_code == code, r.text
    return r.json()


def soon(hours: float = 72) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=hours)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def movement_body(**over: Any) -> dict[str, Any]:
    start = soon()
    body: dict[str, Any] = {
        "kind": "movement",
        "title": "WFP convoy 12 to Khan Younis",
        "movement_type": "convoy",
        "geometry": ROUTE,
        "waypoints": [{"name": "Kerem Shalom", "lon": 34.2706, "lat": 31.2208}],
        "valid_from": iso(start),
        "valid_to": iso(start + dt.timedelta(hours=8)),
        "vehicles": 20,
        "cargo_category": "food",
        "personnel_count": 14,
        "contact": {"name": "Amal Haddad", "phone": "+970 59 000 0000", "email": "a@wfp.example"},
    }
    body.update(over)
    return body


def site_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "site",
        "title": "Deir al-Balah field clinic",
        "site_type": "health",
        "geometry": SITE,
        "hours": "daily 08:00-16:00",
        "valid_from": iso(soon(-24)),
        "contact": {"name": "Omar Nasser", "phone": "+970 59 111 1111", "email": ""},
    }
    body.update(over)
    return body


def square(lon: float, lat: float, half: float = 0.005) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


class Cast:
    """The partner, the centre, a nation of the force, a party's liaison cell, another
    partner."""

    def __init__(self, platform: Platform) -> None:
        self.centre = caller(platform, "CMCC", Role.STAFF_OFFICER)
        self.partner = caller(platform, "WFP", Role.HUMANITARIAN_PARTNER, kind=OrgKind.UN_AGENCY)
        self.other = caller(platform, "MSF", Role.HUMANITARIAN_PARTNER, kind=OrgKind.NGO)
        self.isf = caller(platform, "ISF-HQ", Role.STAFF_OFFICER, kind=OrgKind.ISF_HQ)
        self.liaison = caller(
            platform, "COGAT", Role.LIAISON_OFFICER, kind=OrgKind.PARTY_LIAISON, member=False
        )


def notify(client: TestClient, who: Caller, body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = ok(client.post("/api/v1/notifications", headers=who.headers, json=body))
    return out


def step(
    client: TestClient, who: Caller, n: dict[str, Any], to: str, **extra: Any
) -> dict[str, Any]:
    body = {"version": n["version"], "to": to, **extra}
    out: dict[str, Any] = ok(
        client.post(f"/api/v1/notifications/{n['lineage']}/status", headers=who.headers, json=body),
        200,
    )
    return out
