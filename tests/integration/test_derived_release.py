"""What is derived from a record follows its marking: alerts (from an incident or a unit's
position, a pledge and a zone), cleared areas derived from hazards, audit entries, and the
funding totals maintained on a flow. Both backends.

Each test names the defect of issue 12 it holds: the alert that outlived its incident's marking,
the alert that revealed a zone, the audit log read around the release policy, and the hidden
flow that changed a visible one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.service import org_by_code
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.cot import devices
from cmcc.cot.bridge import Bridge
from cmcc.cot.codec import make_event
from cmcc.humanitarian import markings, notifications
from cmcc.humanitarian.models import Advisory
from cmcc.incidents.router import _visible_alert
from tests.factories import Caller, caller, from_devices, org, pledge_body
from tests.humanitarian_fixtures import Cast, iso, notify, site_body, square, step

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[34.44, 31.50], [34.46, 31.50], [34.46, 31.52], [34.44, 31.52], [34.44, 31.50]]
    ],
}
INSIDE = {"type": "Point", "coordinates": [34.45, 31.51]}


def ok(r: Any, code: int = 201) -> dict[str, Any]:
    assert r.status_code == code, r.text
    return dict(r.json())


def zone_body(kind: str = "civilian_safe_zone", **over: Any) -> dict[str, Any]:
    body = {
        "name": "Al-Mawasi",
        "kind": kind,
        "geometry": SQUARE,
        "valid_from": "2026-01-01T00:00:00Z",
    }
    body.update(over)
    return body


def incident_body(**over: Any) -> dict[str, Any]:
    body = {
        "type": "ceasefire_violation_fire",
        "occurred_at": "2026-03-01T10:00:00Z",
        "geometry": INSIDE,
        "severity": 3,
    }
    body.update(over)
    return body


def remark(
    client: TestClient, who: Caller, path: str, record: dict[str, Any], marking: str
) -> dict[str, Any]:
    """PATCH a record's marking, with the version last read."""
    body = {"version": record["version"], "releasability": marking}
    return ok(client.patch(f"{path}/{record['id']}", headers=who.headers, json=body), 200)


def alert_ids(client: TestClient, who: Caller) -> set[int]:
    r = ok(client.get("/api/v1/alerts", headers=who.headers, params={"limit": 500}), 200)
    assert r["count"] == len(r["data"])
    return {a["id"] for a in r["data"]}


def live(platform: Platform, who: Caller, alert_id: int) -> bool:
    """Whether the live feed (server-sent events) would send this alert to the caller: the
    feed renders each new alert through this function, per subscriber."""
    with platform.unit_of_work(Principal.system_operator()) as s:
        principal = _principal(s, who)
    return _visible_alert(platform, principal, alert_id) is not None


def _principal(session: Any, who: Caller) -> Principal:
    from cmcc.access.service import authenticate

    return authenticate(session, who.token, "test-secret-" + "x" * 32)


def test_an_alert_follows_its_incidents_marking(platform: Platform, client: TestClient) -> None:
    """Defect 1: narrowed from mission to owner, the incident takes its alert with it, from
    the list, the record and the live feed; widened again, the alert is back."""
    cmcc = caller(platform, "CMCC", Role.STAFF_OFFICER)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER)
    ok(client.post("/api/v1/zones", headers=cmcc.headers, json=zone_body()))
    inc = ok(client.post("/api/v1/incidents", headers=idn.headers, json=incident_body()))
    [alert] = alert_ids(client, idn)
    assert alert in alert_ids(client, gbr) and live(platform, gbr, alert)

    narrowed = remark(client, idn, "/api/v1/incidents", inc, "owner")
    assert alert_ids(client, gbr) == set() and alert_ids(client, cmcc) == set()
    assert client.get(f"/api/v1/alerts/{alert}", headers=gbr.headers).status_code == 404
    assert not live(platform, gbr, alert)
    assert alert_ids(client, idn) == {alert} and live(platform, idn, alert)
    assert ok(client.get(f"/api/v1/alerts/{alert}", headers=idn.headers), 200)["releasability"] == (
        "owner"
    )

    remark(client, idn, "/api/v1/incidents", narrowed, "rel:GBR")
    assert alert_ids(client, gbr) == {alert} and alert_ids(client, cmcc) == set()


@pytest.mark.parametrize(
    "kind", ["civilian_safe_zone", "notified_humanitarian_site", "restricted_area"]
)
def test_an_alert_is_read_only_by_who_may_see_its_zone(
    platform: Platform, client: TestClient, kind: str
) -> None:
    """Defect 2: an incident of IDN inside a zone GBR keeps to itself: GBR, who sees both, is
    alerted; IDN, who filed it but may not see the zone, learns nothing of the zone; nor does
    the centre. Once GBR releases the zone, IDN reads the alert."""
    gbr_staff = caller(platform, "GBR", Role.STAFF_OFFICER)
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    cmcc = caller(platform, "CMCC", Role.STAFF_OFFICER)
    z = ok(
        client.post(
            "/api/v1/zones", headers=gbr_staff.headers, json=zone_body(kind, releasability="owner")
        )
    )
    ok(client.post("/api/v1/incidents", headers=idn.headers, json=incident_body()))
    [alert] = alert_ids(client, gbr)
    body = ok(client.get(f"/api/v1/alerts/{alert}", headers=gbr.headers), 200)
    assert body["zone_id"] == z["id"] and "Al-Mawasi" in body["message"]
    assert alert_ids(client, idn) == set() and alert_ids(client, cmcc) == set()
    assert client.get(f"/api/v1/alerts/{alert}", headers=idn.headers).status_code == 404
    assert not live(platform, idn, alert) and live(platform, gbr, alert)

    remark(client, gbr_staff, "/api/v1/zones", z, "rel:IDN")
    assert alert_ids(client, idn) == {alert} and alert_ids(client, cmcc) == set()


def test_imported_incidents_alerts_follow_both_sources(
    platform: Platform, client: TestClient
) -> None:
    """The import raises its alerts in bulk: the same rule holds for them."""
    gbr_staff = caller(platform, "GBR", Role.STAFF_OFFICER)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    ok(
        client.post(
            "/api/v1/zones", headers=gbr_staff.headers, json=zone_body(releasability="owner")
        )
    )
    feature = {
        "type": "Feature",
        "geometry": INSIDE,
        "properties": {k: v for k, v in incident_body().items() if k != "geometry"}
        | {"external_ref": "imp-1"},
    }
    r = client.post(
        "/api/v1/incidents/import",
        headers=idn.headers | {"Content-Type": "application/geo+json"},
        content=_geojson([feature]),
    )
    assert r.status_code in (200, 201), r.text
    assert len(alert_ids(client, gbr_staff)) == 1 and alert_ids(client, idn) == set()


def _geojson(features: list[dict[str, Any]]) -> bytes:
    import orjson

    return orjson.dumps({"type": "FeatureCollection", "features": features})


def test_a_caveat_alert_is_read_only_by_who_may_see_position_pledge_and_zone(
    platform: Platform, client: TestClient
) -> None:
    """A unit's position where its pledge's caveats forbid it: the alert names the position,
    the pledge and the zone, and is read only by who may see all three."""
    org(platform, "USA")
    usa = caller(platform, "USA", Role.LIAISON_OFFICER)
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER)
    cmcc = caller(platform, "CMCC", Role.STAFF_OFFICER)
    strip = ok(
        client.post(
            "/api/v1/zones", headers=cmcc.headers, json=zone_body("gaza_strip", name="Gaza Strip")
        )
    )
    pledge = ok(
        client.post(
            "/api/v1/pledges",
            headers=usa.headers,
            json=pledge_body(
                state="USA",
                capability="logistics",
                caveats={"forbidden_zone_kinds": ["gaza_strip"]},
                releasability="owner",
            ),
        )
    )
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, "usa-1", "USA", callsign="EAGLE 1", pledge_ref=pledge["ref"])
    Bridge(platform).ingest(
        from_devices(
            [
                make_event(
                    "usa-1", "a-f-G-U-C", 31.51, 34.45, now=T0, stale_seconds=60, callsign="EAGLE 1"
                )
            ]
        )
    )
    [alert] = alert_ids(client, usa)
    assert (
        "EAGLE 1" in ok(client.get(f"/api/v1/alerts/{alert}", headers=usa.headers), 200)["message"]
    )
    # GBR and the centre see the position and the zone, not the pledge whose caveats it breaks.
    assert alert_ids(client, gbr) == set() and alert_ids(client, cmcc) == set()
    remark(client, usa, "/api/v1/pledges", pledge, "mission")
    assert alert_ids(client, gbr) == {alert} and live(platform, gbr, alert)
    # The zone narrowed to the centre's own: the centre alone sees the zone, and it may see the
    # position and the pledge (now mission), so it alone reads the alert.
    remark(client, cmcc, "/api/v1/zones", strip, "owner")
    assert alert_ids(client, gbr) == set() and alert_ids(client, usa) == set()
    assert alert_ids(client, cmcc) == {alert}


def test_a_cleared_area_follows_its_hazards_marking(platform: Platform, client: TestClient) -> None:
    """The zone derived from a hazard handed over follows the hazard's marking, and cannot be
    re-marked on its own."""
    mine = caller(platform, "GBR", Role.MINE_ACTION_OFFICER)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    hazard = ok(
        client.post(
            "/api/v1/hazards",
            headers=mine.headers,
            json={
                "name": "Field 7",
                "classification": "cha",
                "device_category": "uxo",
                "geometry": SQUARE,
            },
        )
    )
    ok(
        client.post(
            "/api/v1/land-release",
            headers=mine.headers,
            json={
                "kind": "clearance",
                "hazard": hazard["ref"],
                "organization": "UNMAS Gaza",
                "start_date": "2026-03-01",
                "end_date": "2026-03-10",
                "cleared_m2": hazard["area_m2"],
            },
        )
    )
    status = f"/api/v1/hazards/{hazard['id']}/status"
    closed = ok(
        client.post(
            status,
            headers=mine.headers,
            json={"version": hazard["version"], "to": "closed", "reason": "cleared"},
        ),
        200,
    )
    handed = ok(
        client.post(
            status,
            headers=mine.headers,
            json={
                "version": closed["version"],
                "to": "handed_over",
                "reason": "to the municipality",
            },
        ),
        200,
    )
    zone_id = handed["cleared_zone_id"]
    assert ok(client.get(f"/api/v1/zones/{zone_id}", headers=idn.headers), 200)
    remark(client, mine, "/api/v1/hazards", handed, "owner")
    assert client.get(f"/api/v1/zones/{zone_id}", headers=idn.headers).status_code == 404
    zone = ok(client.get(f"/api/v1/zones/{zone_id}", headers=mine.headers), 200)
    assert zone["releasability"] == "owner"
    # Mine-action staff own the hazard; a staff officer of the centre may not widen the zone
    # (it cannot see it), and its owner is told to re-mark the hazard.
    assert (
        client.patch(
            f"/api/v1/zones/{zone_id}",
            headers=staff.headers,
            json={"version": zone["version"], "releasability": "mission"},
        ).status_code
        == 404
    )
    gbr_staff = caller(platform, "GBR", Role.STAFF_OFFICER)
    r = client.patch(
        f"/api/v1/zones/{zone_id}",
        headers=gbr_staff.headers,
        json={"version": zone["version"], "releasability": "mission"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.releasability"


def _audit(client: TestClient, who: Caller, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = dict(params, limit=500) | ({"cursor": cursor} if cursor else {})
        page = ok(client.get("/api/v1/audit", headers=who.headers, params=q), 200)
        out.extend(page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            return out


def test_audit_reads_follow_the_release_policy(platform: Platform, client: TestClient) -> None:
    """Defect 3: an auditor of a nation reads the entries about records it may see, and nothing
    about the others (nor their verification steps), while the chain check covers the whole
    log. Narrowing a record takes its past entries with it."""
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    gbr_auditor = caller(platform, "GBR", Role.AUDITOR)
    cmcc_auditor = caller(platform, "CMCC", Role.AUDITOR)
    secret = ok(
        client.post(
            "/api/v1/pledges",
            headers=idn.headers,
            json=pledge_body(ref="IDN-SECRET", strength=4399, releasability="owner"),
        )
    )
    shared = ok(client.post("/api/v1/pledges", headers=idn.headers, json=pledge_body()))
    hidden_inc = ok(
        client.post(
            "/api/v1/incidents", headers=idn.headers, json=incident_body(releasability="owner")
        )
    )
    ok(
        client.post(
            f"/api/v1/incidents/{hidden_inc['id']}/evidence",
            headers=idn.headers,
            json={"kind": "report", "reference": "IDN patrol report 12"},
        )
    )

    def about(entries: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {(e["entity"], e["record_id"]) for e in entries}

    seen = _audit(client, gbr_auditor)
    assert ("pledges", str(shared["id"])) in about(seen)
    assert ("pledges", str(secret["id"])) not in about(seen)
    assert ("incidents", str(hidden_inc["id"])) not in about(seen)
    assert not [e for e in seen if e["entity"] == "incident_evidence"]
    assert not [e for e in seen if "IDN-SECRET" in e["changes"] or ":4399" in e["changes"]]
    # Users and tokens of other organizations stay with them; organizations are for everyone.
    assert not [e for e in seen if e["entity"] in ("users", "api_tokens") and "IDN" in e["changes"]]
    assert [e for e in seen if e["entity"] == "organizations"]
    # The centre is not a party to IDN's own records either.
    assert ("pledges", str(secret["id"])) not in about(_audit(client, cmcc_auditor))
    assert ("pledges", str(secret["id"])) not in about(
        _audit(client, gbr_auditor, entity="pledges", record_id=str(secret["id"]))
    )
    # The chain check covers every entry, whoever asks.
    everything = ok(client.get("/api/v1/audit/verify", headers=gbr_auditor.headers), 200)
    assert everything["ok"] and everything["entries"] > len(seen)

    remark(client, idn, "/api/v1/pledges", shared, "owner")
    assert ("pledges", str(shared["id"])) not in about(_audit(client, gbr_auditor))
    idn_auditor = caller(platform, "IDN", Role.AUDITOR)
    mine = about(_audit(client, idn_auditor))
    assert {("pledges", str(secret["id"])), ("incidents", str(hidden_inc["id"]))} <= mine
    assert [e for e in _audit(client, idn_auditor) if e["entity"] == "incident_evidence"]
    # A role without read_audit is refused whatever it asks for.
    assert client.get("/api/v1/audit", headers=staff.headers).status_code == 403


def test_audit_batches_are_read_when_every_row_is(platform: Platform, client: TestClient) -> None:
    """Stored positions are audited a batch at a time: the entry is read by who may see every
    position of the batch."""
    org(platform, "USA")
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, "usa-1", "USA")
        devices.register(s, "usa-2", "USA", releasability="owner")
    bridge = Bridge(platform)
    ev = [
        make_event(uid, "a-f-G-U-C", 31.3, 34.3, now=T0, stale_seconds=60, how="m-g")
        for uid in ("usa-1",)
    ]
    bridge.ingest(from_devices(ev))
    bridge.ingest(
        from_devices(
            [
                make_event(uid, "a-f-G-U-C", 31.3, 34.3, now=T0, stale_seconds=60, how="m-g")
                for uid in ("usa-1", "usa-2")
            ]
        )
    )
    gbr_auditor = caller(platform, "GBR", Role.AUDITOR)
    usa_auditor = caller(platform, "USA", Role.AUDITOR)
    assert len(_audit(client, gbr_auditor, entity="tracks")) == 1
    assert len(_audit(client, usa_auditor, entity="tracks")) == 2


def test_a_hidden_flow_leaves_a_visible_one_as_it_was(
    platform: Platform, client: TestClient
) -> None:
    """Defect 4: a commitment GBR may not see converts a pledge GBR may see: the pledge's
    version and time of change stay as GBR read them, and GBR's next write on it succeeds."""
    from tests.integration.test_funding import flow_body, setup

    officer, t = setup(platform, client)
    plan = t["plan"]["id"]
    gbr = caller(platform, "GBR", Role.FUNDING_OFFICER)
    pledge = ok(
        client.post("/api/v1/flows", headers=gbr.headers, json=flow_body(plan, donor="DEU"))
    )
    before = ok(client.get(f"/api/v1/flows/{pledge['id']}", headers=gbr.headers), 200)
    commitment = ok(
        client.post(
            "/api/v1/flows",
            headers=officer,
            json=flow_body(
                plan,
                status="commitment",
                fulfils_id=pledge["id"],
                amount="400000.00",
                decision_date="2026-03-01",
                releasability="owner",
            ),
        )
    )
    after = ok(client.get(f"/api/v1/flows/{pledge['id']}", headers=gbr.headers), 200)
    assert (after["version"], after["updated_at"]) == (before["version"], before["updated_at"])
    assert client.get(f"/api/v1/flows/{commitment['id']}", headers=gbr.headers).status_code == 404
    # Nor does the audit log tell GBR of a change to its pledge.
    gbr_auditor = caller(platform, "GBR", Role.AUDITOR)
    entries = _audit(client, gbr_auditor, entity="funding_flows")
    assert not [e for e in entries if e["action"] == "update"]
    ok(
        client.post(
            f"/api/v1/flows/{pledge['id']}/revisions",
            headers=gbr.headers,
            json={"version": before["version"], "notes": "confirmed by letter"},
        )
    )
    # The centre still sees the pledge less the commitment it can see.
    summary = ok(client.get("/api/v1/funding/summary", headers=officer), 200)
    assert summary["total"]["outstanding_pledges_usd"] == "600000.00"


class Battalion:
    """IDN's battalion under its own headquarters (released to the mission), tasked under an
    effective OPCON, with a PERSTAT filed."""

    def __init__(self, platform: Platform, client: TestClient) -> None:
        self.c = client
        self.staff = caller(platform, "IDN", Role.STAFF_OFFICER)
        self.lo = caller(platform, "IDN", Role.LIAISON_OFFICER)
        self.gbr = caller(platform, "GBR", Role.LIAISON_OFFICER)
        unit = {"valid_from": "2026-01-01T00:00:00Z", "releasability": "mission"}
        self.hq = self.post(
            "/api/v1/units",
            unit | {"name": "Sector HQ", "kind": "headquarters", "echelon": "brigade"},
        )["lineage"]
        self.unit = self.post(
            "/api/v1/units",
            unit | {"name": "IDN battalion", "echelon": "battalion", "parent": self.hq},
        )["lineage"]
        rel = self.post(
            "/api/v1/command-relationships",
            {
                "unit": self.unit,
                "headquarters": self.hq,
                "kind": "opcon",
                "effective_from": "2026-01-02T00:00:00Z",
            },
        )
        path = f"/api/v1/command-relationships/{rel['id']}/status"
        rel = ok(
            client.post(
                path, headers=self.lo.headers, json={"version": rel["version"], "status": "agreed"}
            ),
            200,
        )
        ok(
            client.post(
                path,
                headers=self.staff.headers,
                json={"version": rel["version"], "status": "effective"},
            ),
            200,
        )
        self.rel = rel["id"]
        self.task = self.post(
            "/api/v1/tasks",
            {
                "title": "Patrol the market",
                "task": "protection_of_civilians",
                "unit": self.unit,
                "issuer": self.hq,
                "lon": 34.45,
                "lat": 31.51,
                "starts_at": "2026-03-01T06:00:00Z",
                "ends_at": "2026-03-02T06:00:00Z",
            },
        )["id"]
        self.report = self.perstat("2026-03-01")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return ok(self.c.post(path, headers=self.staff.headers, json=body))

    def perstat(self, day: str) -> int:
        body = {
            "unit": self.unit,
            "report_date": day,
            "kind": "perstat",
            "perstat": {"present": 500},
        }
        return int(self.post("/api/v1/unit-reports", body)["id"])

    def seen(self, who: Caller) -> dict[str, set[int]]:
        out = {}
        for name in ("tasks", "unit-reports", "command-relationships"):
            r = self.c.get(f"/api/v1/{name}", headers=who.headers, params={"limit": 500})
            assert r.status_code == 200, r.text
            out[name] = {item["id"] for item in r.json()["data"]}
        return out

    def gets(self, who: Caller) -> list[int]:
        return [
            self.c.get(path, headers=who.headers).status_code
            for path in (f"/api/v1/tasks/{self.task}", f"/api/v1/unit-reports/{self.report}")
        ]


def _remark_unit(platform: Platform, lineage: int, marking: str) -> None:
    """Every version of the unit re-marked (no API changes a version's marking in place)."""
    from sqlalchemy import select

    from cmcc.command.models import Unit
    from cmcc.core.releasability import Marking

    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        for unit in s.scalars(select(Unit).where((Unit.id == lineage) | (Unit.lineage == lineage))):
            unit.marking = Marking.parse(marking)


def test_tasks_and_reports_follow_their_units_marking(
    platform: Platform, client: TestClient
) -> None:
    """A task, a report and a command relationship name the unit: when the unit's marking is
    narrowed they go with it, though their own marking still says mission; widened to GBR,
    they are back."""
    bn = Battalion(platform, client)
    everything = bn.seen(bn.staff)
    assert bn.seen(bn.gbr) == everything and bn.gets(bn.gbr) == [200, 200]

    _remark_unit(platform, bn.unit, "owner")
    assert bn.seen(bn.gbr) == {
        "tasks": set(),
        "unit-reports": set(),
        "command-relationships": set(),
    }
    assert bn.gets(bn.gbr) == [404, 404]
    assert bn.seen(bn.lo) == everything  # the nation still sees its own

    _remark_unit(platform, bn.unit, "rel:GBR")
    assert bn.seen(bn.gbr) == everything and bn.gets(bn.gbr) == [200, 200]


def test_a_narrower_version_hides_what_is_reported_under_it(
    platform: Platform, client: TestClient
) -> None:
    """The unit narrowed by a new version (owner only from 1 April): the force as of March still
    shows it to GBR, with the task and report released then; as of now it is gone, and the
    report filed under the narrower version (marked like the unit by default) is not released."""
    bn = Battalion(platform, client)
    unit = ok(client.get(f"/api/v1/units/{bn.unit}", headers=bn.staff.headers), 200)
    ok(
        client.post(
            f"/api/v1/units/{bn.unit}/versions",
            headers=bn.staff.headers,
            json={
                "version": unit["version"],
                "valid_from": "2026-04-01T00:00:00Z",
                "releasability": "owner",
            },
        )
    )
    later = bn.perstat("2026-04-02")

    def orbat(who: Caller, as_of: str | None = None) -> set[int]:
        params = {"as_of": as_of} if as_of else {}
        r = client.get("/api/v1/orbat", headers=who.headers, params=params)
        assert r.status_code == 200, r.text
        found: set[int] = set()
        todo = list(r.json())
        while todo:
            node = todo.pop()
            found.add(node["unit"]["lineage"])
            todo.extend(node["children"])
        return found

    assert bn.unit in orbat(bn.gbr, "2026-03-15T00:00:00Z")
    assert bn.unit not in orbat(bn.gbr) and bn.unit in orbat(bn.staff)
    seen = bn.seen(bn.gbr)
    assert bn.task in seen["tasks"] and bn.report in seen["unit-reports"]
    assert later not in seen["unit-reports"]
    assert client.get(f"/api/v1/unit-reports/{later}", headers=bn.gbr.headers).status_code == 404
    assert later in bn.seen(bn.lo)["unit-reports"]


def test_advisories_and_alerts_of_a_notified_site_follow_their_sources(
    platform: Platform, client: TestClient
) -> None:
    """A site notified by WFP, an open hazard beside it (an advisory) and an incident reported
    by the force's headquarters inside its protective zone (an alert). Before the centre shares
    the site, the force reads neither the site, nor its advisory, nor the alert; shared with the
    force, it reads all three; the hazard narrowed, the advisory is counted instead of named;
    the site narrowed again, all of it goes, its audit entries with it. The contact's entries
    are read only by its organization and the centre, and hold none of its values."""
    cast = Cast(platform)
    unmas = caller(platform, "UNMAS", Role.MINE_ACTION_OFFICER)
    hazard = ok(
        client.post(
            "/api/v1/hazards",
            headers=unmas.headers,
            json={
                "name": "Rubble beside the clinic",
                "classification": "sha",
                "device_category": "uxo",
                "geometry": square(34.3527, 31.4189, 0.0003),
            },
        )
    )
    site = notify(client, cast.partner, site_body())
    lineage = site["lineage"]
    ok(
        client.post(
            "/api/v1/incidents",
            headers=cast.isf.headers,
            json=incident_body(
                occurred_at=iso(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)),
                geometry={"type": "Point", "coordinates": [34.3517, 31.4199]},
            ),
        )
    )
    [alert] = alert_ids(client, cast.centre)
    path = f"/api/v1/notifications/{lineage}/advisories"

    def advice(who: Caller) -> tuple[list[str], dict[str, int]] | None:
        r = client.get(path, headers=who.headers)
        if r.status_code == 404:
            return None
        body = ok(r, 200)
        named = [a["record"]["ref"] for a in body["advisories"]]
        return named, {w["kind"]: w["count"] for w in body["withheld"]}

    with platform.unit_of_work(Principal.system_operator()) as s:
        [advisory] = s.scalars(select(Advisory.id).where(Advisory.notification_id == site["id"]))
    ref = f"hazard_{hazard['id']}"
    assert advice(cast.partner) == ([ref], {})
    assert alert in alert_ids(client, cast.partner)
    # Not shared yet: the force reads nothing of it, not even the alert on its own incident.
    assert advice(cast.isf) is None and alert_ids(client, cast.isf) == set()

    step(client, cast.centre, site, "shared", audiences=["force"])
    assert advice(cast.isf) == ([ref], {}) and alert_ids(client, cast.isf) == {alert}
    assert advice(cast.liaison) is None and alert_ids(client, cast.liaison) == set()
    isf_auditor = caller(platform, "ISF-HQ", Role.AUDITOR, kind=OrgKind.ISF_HQ)

    def entries(who: Caller) -> set[tuple[str, str]]:
        return {(e["entity"], e["record_id"]) for e in _audit(client, who)}

    seen = entries(isf_auditor)
    assert ("humanitarian_notifications", str(site["id"])) in seen
    assert ("deconfliction_advisories", str(advisory)) in seen
    assert {e for e in seen if e[0] == "notification_status_changes"}
    assert not {e for e in seen if e[0] == "notification_contacts"}

    # The hazard narrowed to UNMAS: the advisory stays, counted for those who may not see it.
    hz = ok(client.get(f"/api/v1/hazards/{hazard['id']}", headers=unmas.headers), 200)
    remark(client, unmas, "/api/v1/hazards", hz, "owner")
    for who in (cast.partner, cast.isf):
        assert advice(who) == ([], {"explosive_hazard": 1})

    # The site narrowed to WFP and the centre: the force loses the site, the advisory, the
    # alert and their audit entries.
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        notifications.set_marking(
            s, lineage, markings.owner_and_centre(s, org_by_code(s, "WFP").id)
        )
    assert advice(cast.isf) is None and alert_ids(client, cast.isf) == set()
    history = client.get(f"/api/v1/notifications/{lineage}/history", headers=cast.isf.headers)
    assert history.status_code == 404
    tables = ("humanitarian_notifications", "deconfliction_advisories")
    assert not {e for e in entries(isf_auditor) if e[0] in (*tables, "notification_status_changes")}
    assert alert_ids(client, cast.partner) == {alert}

    # The contact: its entries for WFP's and the centre's auditors only, without its values.
    wfp_auditor = caller(platform, "WFP", Role.AUDITOR, kind=OrgKind.UN_AGENCY)
    cmcc_auditor = caller(platform, "CMCC", Role.AUDITOR)
    for who in (wfp_auditor, cmcc_auditor):
        assert {e for e in entries(who) if e[0] == "notification_contacts"}
    with platform.unit_of_work(Principal.system_operator()) as s:
        log = s.execute(select(AuditEntry.entity, AuditEntry.changes)).all()
    contact = site_body()["contact"]
    assert [c for entity, c in log if entity == "notification_contacts"]
    for entity, changes in log:
        if entity == "notification_contacts":
            assert '"name":"<redacted>"' in changes.replace(" ", ""), changes
        for value in (contact["name"], contact["phone"]):
            assert value not in changes, (entity, changes)
