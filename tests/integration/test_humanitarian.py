"""Humanitarian notifications end to end on both backends: submission, the centre's
acknowledgement and sharing, release to the force and to a party's liaison cell (never the
contact), versions, deconfliction advisories and the alerts near notified sites and routes."""

from __future__ import annotations

import datetime as dt
import json
import re

from fastapi.testclient import TestClient

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from cmcc.humanitarian import domain
from tests.factories import caller
from tests.humanitarian_fixtures import (
    Cast,
    iso,
    movement_body,
    notify,
    ok,
    site_body,
    soon,
    square,
    step,
)


def test_partner_notifies_and_centre_shares(platform: Platform, client: TestClient) -> None:
    cast = Cast(platform)
    n = notify(client, cast.partner, site_body())
    assert n["status"] == "submitted" and n["ref"] == f"site_{n['lineage']}"
    assert n["contact"]["name"] == "Omar Nasser"
    assert n["releasability"] == "rel:CMCC"
    path = f"/api/v1/notifications/{n['lineage']}"
    # Before it is shared: the centre sees it with its contact; nobody else does.
    assert ok(client.get(path, headers=cast.centre.headers), 200)["contact"]["name"]
    for outsider in (cast.isf, cast.liaison, cast.other):
        assert client.get(path, headers=outsider.headers).status_code == 404
    # Only the centre acknowledges and shares.
    denied = client.post(
        f"{path}/status", headers=cast.partner.headers, json={"version": 1, "to": "acknowledged"}
    )
    assert denied.status_code == 403
    n = step(client, cast.centre, n, "acknowledged")
    n = step(client, cast.centre, n, "shared", audiences=["force", "COGAT"])
    assert n["audiences"] == ["force", "COGAT"]
    # The force and the party's liaison cell see it, without its contact; another partner not.
    for reader in (cast.isf, cast.liaison):
        seen = ok(client.get(path, headers=reader.headers), 200)
        assert seen["title"] == "Deir al-Balah field clinic" and seen["contact"] is None
    assert client.get(path, headers=cast.other.headers).status_code == 404
    listed = ok(client.get("/api/v1/notifications", headers=cast.liaison.headers), 200)
    assert [x["lineage"] for x in listed["data"]] == [n["lineage"]]
    assert listed["data"][0]["contact"] is None
    history = ok(client.get(f"{path}/history", headers=cast.partner.headers), 200)
    assert [h["to_status"] for h in history] == ["submitted", "acknowledged", "shared"]


def test_no_status_says_approved(platform: Platform, client: TestClient) -> None:
    cast = Cast(platform)
    n = notify(client, cast.partner, movement_body())
    r = client.post(
        f"/api/v1/notifications/{n['lineage']}/status",
        headers=cast.centre.headers,
        json={"version": n["version"], "to": "approved"},
    )
    assert r.status_code == 422
    # No word of the humanitarian API says approved or denied: its paths, their schemas, the
    # vocabulary's labels.
    spec = ok(client.get("/openapi.json"), 200)
    ours = {k: v for k, v in spec["paths"].items() if "/notifications" in k or "advisories" in k}
    names = set(re.findall(r"#/components/schemas/([A-Za-z_]+)", json.dumps(ours)))
    for _ in range(3):  # the schemas they refer to, and those these refer to
        more = json.dumps([spec["components"]["schemas"][x] for x in names])
        names |= set(re.findall(r"#/components/schemas/([A-Za-z_]+)", more))
    text = json.dumps(ours) + json.dumps([spec["components"]["schemas"][x] for x in names])
    labels = [*domain.STATUS_LABELS.values(), *domain.ADVISORY_LABELS.values()]
    for word in ("approv", "denied", "permission granted"):
        assert word not in text.lower() and not any(word in x.lower() for x in labels)
    assert "NotificationStatus" in names


def test_movement_across_an_open_hazard_gets_the_advisory(
    platform: Platform, client: TestClient
) -> None:
    cast = Cast(platform)
    unmas = caller(platform, "UNMAS", Role.MINE_ACTION_OFFICER)
    hazard = ok(
        client.post(
            "/api/v1/hazards",
            headers=unmas.headers,
            json={
                "name": "Bani Suheila crossroads",
                "classification": "cha",
                "device_category": "aircraft_bomb",
                "geometry": square(34.30, 31.30),
                "releasability": "owner",
            },
        )
    )
    n = notify(client, cast.partner, movement_body())
    assert n["advisories"] == 1
    path = f"/api/v1/notifications/{n['lineage']}/advisories"
    # The partner may not see UNMAS's hazard: the advisory is counted, not named.
    seen = ok(client.get(path, headers=cast.partner.headers), 200)
    assert seen["advisories"] == []
    assert seen["withheld"] == [
        {"kind": "explosive_hazard", "label": "open explosive hazard", "count": 1}
    ]
    # Released to the mission, the partner (a member) sees it named.
    hz = ok(client.get(f"/api/v1/hazards/{hazard['id']}", headers=unmas.headers), 200)
    ok(
        client.patch(
            f"/api/v1/hazards/{hazard['id']}",
            headers=unmas.headers,
            json={"version": hz["version"], "releasability": "rel:WFP"},
        ),
        200,
    )
    seen = ok(client.get(path, headers=cast.partner.headers), 200)
    assert seen["withheld"] == []
    (adv,) = seen["advisories"]
    assert adv["kind"] == "explosive_hazard" and adv["record"]["ref"] == f"hazard_{hazard['id']}"
    assert "on the route" in adv["message"] and adv["distance_m"] == 0
    # Closing the hazard re-checks the movement: the advisory goes.
    hz = ok(client.get(f"/api/v1/hazards/{hazard['id']}", headers=unmas.headers), 200)
    ok(
        client.post(
            f"/api/v1/hazards/{hazard['id']}/status",
            headers=unmas.headers,
            json={"version": hz["version"], "to": "closed", "reason": "cleared"},
        ),
        200,
    )
    assert ok(client.get(path, headers=cast.partner.headers), 200)["withheld"] == []
    assert ok(client.get(path, headers=cast.partner.headers), 200)["advisories"] == []


def test_zone_drawn_later_rechecks_active_notifications(
    platform: Platform, client: TestClient
) -> None:
    cast = Cast(platform)
    n = notify(client, cast.partner, movement_body())
    assert n["advisories"] == 0
    zone = ok(
        client.post(
            "/api/v1/zones",
            headers=cast.centre.headers,
            json={
                "name": "Closed military area",
                "kind": "restricted_area",
                "geometry": square(34.32, 31.34, 0.002),
                "valid_from": iso(soon(-1)),
            },
        )
    )
    seen = ok(
        client.get(
            f"/api/v1/notifications/{n['lineage']}/advisories", headers=cast.partner.headers
        ),
        200,
    )
    (adv,) = seen["advisories"]
    assert adv["kind"] == "restricted_area" and adv["record"]["id"] == zone["id"]
    assert 'restricted area "Closed military area"' in adv["message"]


def test_incident_near_a_site_raises_an_alert(platform: Platform, client: TestClient) -> None:
    cast = Cast(platform)
    n = notify(client, cast.partner, site_body())
    n = step(client, cast.centre, n, "shared", audiences=["force"])
    lon, lat = 34.3517, 31.4189 + 0.002  # about 220 m north of the clinic
    incident = ok(
        client.post(
            "/api/v1/incidents",
            headers=cast.isf.headers,
            json={
                "type": "ceasefire_violation_fire",
                "occurred_at": iso(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)),
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "severity": 3,
                "source_reliability": "B",
                "info_credibility": 2,
                "narrative": "Gunfire near the clinic",
                "releasability": "rel:CMCC",
            },
        )
    )
    alerts = ok(client.get("/api/v1/alerts", headers=cast.isf.headers), 200)["data"]
    mine = [a for a in alerts if a["incident_id"] == incident["id"]]
    assert len(mine) == 1 and "Deir al-Balah field clinic" in mine[0]["message"]
    # The partner may not see the incident, hence not its alert either.
    partner_alerts = ok(client.get("/api/v1/alerts", headers=cast.partner.headers), 200)["data"]
    assert all(a["incident_id"] != incident["id"] for a in partner_alerts)


def test_withdrawn_notification_stops_protecting(platform: Platform, client: TestClient) -> None:
    cast = Cast(platform)
    n = notify(client, cast.partner, site_body())
    # The centre may not withdraw a partner's notification; the partner may.
    r = client.post(
        f"/api/v1/notifications/{n['lineage']}/status",
        headers=cast.centre.headers,
        json={"version": n["version"], "to": "withdrawn"},
    )
    assert r.status_code == 403
    n = step(client, cast.partner, n, "withdrawn", note="clinic moved")
    assert n["status"] == "withdrawn"
    again = client.post(
        f"/api/v1/notifications/{n['lineage']}/status",
        headers=cast.partner.headers,
        json={"version": n["version"], "to": "completed"},
    )
    assert again.status_code == 409
    active = ok(client.get("/api/v1/notifications?active=true", headers=cast.partner.headers), 200)
    assert active["count"] == 0


def test_new_version_keeps_history_and_sharing(platform: Platform, client: TestClient) -> None:
    cast = Cast(platform)
    n = notify(client, cast.partner, movement_body())
    n = step(client, cast.centre, n, "shared", audiences=["COGAT"])
    body = movement_body(title="WFP convoy 12 (new route)")
    del body["kind"]
    body["version"] = n["version"]
    v2 = ok(
        client.post(
            f"/api/v1/notifications/{n['lineage']}/versions",
            headers=cast.partner.headers,
            json=body,
        )
    )
    assert v2["lineage"] == n["lineage"] and v2["id"] != n["id"]
    assert v2["status"] == "shared" and v2["title"].endswith("(new route)")
    seen = ok(
        client.get(f"/api/v1/notifications/{n['lineage']}", headers=cast.liaison.headers), 200
    )
    assert seen["id"] == v2["id"] and seen["contact"] is None
    versions = ok(
        client.get(f"/api/v1/notifications/{n['lineage']}/versions", headers=cast.partner.headers),
        200,
    )
    assert [v["replaced_at"] is None for v in versions] == [False, True]
    # A stale version is refused.
    body["version"] = n["version"]
    stale = client.post(
        f"/api/v1/notifications/{n['lineage']}/versions", headers=cast.partner.headers, json=body
    )
    assert stale.status_code in (404, 409)


def test_bad_notifications_are_refused_with_the_field(
    platform: Platform, client: TestClient
) -> None:
    cast = Cast(platform)
    cases = [
        (movement_body(geometry={"type": "Point", "coordinates": [34.3, 31.3]}), "geometry"),
        (movement_body(valid_to=None), "valid_to"),
        (site_body(site_type=None), "site_type"),
        (site_body(vehicles=3), "vehicles"),
        (movement_body(crossing="NOWHERE"), "crossing"),
    ]
    for body, field in cases:
        r = client.post("/api/v1/notifications", headers=cast.partner.headers, json=body)
        assert r.status_code == 422, (field, r.text)
        assert field in r.text
    assert ok(client.get("/api/v1/notifications", headers=cast.partner.headers), 200)["count"] == 0
    # A donor may not notify.
    donor = caller(platform, "WB", Role.DONOR)
    assert (
        client.post("/api/v1/notifications", headers=donor.headers, json=site_body()).status_code
        == 403
    )


def test_audit_keeps_no_contact(platform: Platform, client: TestClient) -> None:
    from sqlalchemy import select

    from cmcc.access.domain import Principal
    from cmcc.audit.models import AuditEntry

    cast = Cast(platform)
    n = notify(client, cast.partner, site_body())
    body = site_body(title="Deir al-Balah field clinic (moved)")
    del body["kind"]
    body["contact"] = {"name": "Rana Saleh", "phone": "+970 59 222 2222", "email": "r@x.example"}
    body["version"] = n["version"]
    ok(
        client.post(
            f"/api/v1/notifications/{n['lineage']}/versions",
            headers=cast.partner.headers,
            json=body,
        )
    )
    with platform.unit_of_work(Principal.system_operator()) as s:
        rows = s.scalars(
            select(AuditEntry.changes).where(AuditEntry.entity == "notification_contacts")
        ).all()
        everything = " ".join(s.scalars(select(AuditEntry.changes)).all())
    assert len(rows) == 2 and all("<redacted>" in r for r in rows)
    for secret in ("Omar Nasser", "Rana Saleh", "+970 59 111 1111", "r@x.example"):
        assert secret not in everything


def test_a_crossing_closed_during_the_window_is_advised(
    platform: Platform, client: TestClient
) -> None:
    cast = Cast(platform)
    crossing = ok(
        client.post(
            "/api/v1/crossings",
            headers=cast.centre.headers,
            json={"code": "KS", "name": "Kerem Shalom", "lon": 34.2706, "lat": 31.2208},
        )
    )
    status = {"crossing_id": crossing["id"], "status": "open", "since": iso(soon(-48))}
    ok(client.post("/api/v1/crossing-statuses", headers=cast.centre.headers, json=status))
    n = notify(client, cast.partner, movement_body(crossing="KS"))
    path = f"/api/v1/notifications/{n['lineage']}/advisories"
    assert ok(client.get(path, headers=cast.partner.headers), 200)["advisories"] == []
    # The crossing closes during the convoy's window: the movement is checked again.
    closed = {"crossing_id": crossing["id"], "status": "closed", "since": iso(soon(74))}
    ok(client.post("/api/v1/crossing-statuses", headers=cast.centre.headers, json=closed))
    (adv,) = ok(client.get(path, headers=cast.partner.headers), 200)["advisories"]
    assert adv["kind"] == "crossing" and adv["record"]["ref"] == "KS"
    assert "Kerem Shalom: closed" in adv["message"]
