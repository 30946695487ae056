"""The incident log, the incident page and the recovery board, read with the browser's session
cookie: they show what the JSON API shows the same user, and writes need the CSRF header."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from cmcc.access.domain import OrgKind, Role
from cmcc.api.session import SESSION_COOKIE
from cmcc.bootstrap import Platform
from tests.factories import Caller, caller

ROW_ID = re.compile(r'<tr data-id="(\d+)">')
CSRF = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


def incident(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ceasefire_violation_fire",
        "occurred_at": "2026-03-02T21:40:00Z",
        "geometry": {"type": "Point", "coordinates": [34.435, 31.515]},
        "severity": 3,
        "releasability": "mission",
    }
    body.update(overrides)
    return body


def post(client: TestClient, who: Caller, body: dict[str, Any]) -> int:
    r = client.post("/api/v1/incidents", headers=who.headers, json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def page(client: TestClient, who: Caller, path: str, params: Any = None) -> tuple[int, str]:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, who.token)
    r = client.get(path, params=params, follow_redirects=False)
    client.cookies.clear()
    return r.status_code, r.text


def api_ids(client: TestClient, who: Caller, params: Any = None) -> list[int]:
    r = client.get("/api/v1/incidents", headers=who.headers, params=params)
    assert r.status_code == 200, r.text
    return [rec["id"] for rec in r.json()["data"]]


def page_ids(client: TestClient, who: Caller, params: Any = None) -> list[int]:
    status, html = page(client, who, "/incidents", params)
    assert status == 200, html
    return [int(i) for i in ROW_ID.findall(html)]


def setup(platform: Platform, client: TestClient) -> dict[str, Any]:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    ids = {
        "mission": post(client, staff, incident()),
        "demo": post(
            client,
            staff,
            incident(type="demonstration", occurred_at="2026-03-05T14:30:00Z", severity=1),
        ),
        "rel_gbr": post(client, staff, incident(releasability="rel:GBR", severity=5)),
        "idn_owner": post(client, idn, incident(releasability="owner")),
    }
    return {"staff": staff, "gbr": gbr, "idn": idn, "ids": ids}


def test_log_lists_what_the_api_lists_for_each_user(platform: Platform, client: TestClient) -> None:
    s = setup(platform, client)
    ids = s["ids"]
    for who in (s["staff"], s["gbr"], s["idn"]):
        assert page_ids(client, who) == api_ids(client, who)
    gbr_sees = page_ids(client, s["gbr"])
    assert ids["idn_owner"] not in gbr_sees
    assert sorted(gbr_sees) == sorted([ids["mission"], ids["demo"], ids["rel_gbr"]])
    assert ids["idn_owner"] in page_ids(client, s["idn"])
    assert ids["rel_gbr"] not in page_ids(client, s["idn"])
    _, html = page(client, s["gbr"], "/incidents")
    assert "REL TO GBR" in html and "MISSION" in html


def test_log_filters(platform: Platform, client: TestClient) -> None:
    s = setup(platform, client)
    staff, ids = s["staff"], s["ids"]
    assert page_ids(client, staff, {"type": "demonstration"}) == [ids["demo"]]
    assert page_ids(client, staff, {"type": "demonstration"}) == api_ids(
        client, staff, {"type": "demonstration"}
    )
    assert page_ids(client, staff, {"min_severity": "5"}) == [ids["rel_gbr"]]
    by_day = page_ids(client, staff, {"from": "2026-03-05", "to": "2026-03-05"})
    assert by_day == [ids["demo"]]
    assert page_ids(client, staff, {"to": "2026-03-04"}) == [ids["mission"], ids["rel_gbr"]]
    assert page_ids(client, s["idn"], {"to": "2026-03-04"}) == [ids["mission"], ids["idn_owner"]]
    assert page_ids(client, staff, {"status": "verified"}) == []
    status, html = page(client, staff, "/incidents", {"from": "yesterday"})
    assert status == 400 and "query.from" in html


def test_log_pages_by_fifty_with_the_api_cursor(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    made = [post(client, staff, incident(severity=1 + n % 5)) for n in range(52)]
    status, html = page(client, staff, "/incidents")
    assert status == 200
    first = [int(i) for i in ROW_ID.findall(html)]
    assert first == made[:50] and "52 incidents match" in html
    link = re.search(r'href="(/incidents\?cursor=[^"]+)" rel="next"', html)
    assert link is not None
    _, html2 = page(client, staff, link.group(1).replace("&amp;", "&"))
    assert [int(i) for i in ROW_ID.findall(html2)] == made[50:]


def test_detail_hides_what_the_api_hides(platform: Platform, client: TestClient) -> None:
    s = setup(platform, client)
    hidden = s["ids"]["idn_owner"]
    status, html = page(client, s["gbr"], f"/incidents/{hidden}")
    assert status == 404 and "Incident not found" in html
    assert client.get(f"/api/v1/incidents/{hidden}", headers=s["gbr"].headers).status_code == 404
    status, html = page(client, s["idn"], f"/incidents/{hidden}")
    assert status == 200 and "OWNER" in html


def test_verify_form_only_for_verifiers(platform: Platform, client: TestClient) -> None:
    s = setup(platform, client)
    rid = s["ids"]["mission"]
    status, html = page(client, s["gbr"], f"/incidents/{rid}")
    assert status == 200 and 'id="verify-form"' not in html and "Reported" in html
    status, html = page(client, s["staff"], f"/incidents/{rid}")
    assert 'id="verify-form"' in html
    form = html[html.index('id="verify-form"') :]
    options = re.findall(r'<option value="(\w+)">', form[: form.index("</select>")])
    assert options == ["under_verification"]  # the only step from reported


def test_cookie_write_without_csrf_is_refused(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    before = api_ids(client, staff)
    _, html = page(client, staff, "/incidents")
    match = CSRF.search(html)
    assert match is not None
    client.cookies.set(SESSION_COOKIE, staff.token)
    refused = client.post("/api/v1/incidents", json=incident())
    assert refused.status_code == 403
    wrong = client.post("/api/v1/incidents", json=incident(), headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    client.cookies.clear()
    assert api_ids(client, staff) == before
    client.cookies.set(SESSION_COOKIE, staff.token)
    made = client.post("/api/v1/incidents", json=incident(), headers={"X-CSRF-Token": match[1]})
    client.cookies.clear()
    assert made.status_code == 201, made.text
    assert api_ids(client, staff) == [*before, made.json()["id"]]


def test_recovery_board_by_role(platform: Platform, client: TestClient) -> None:
    donor = caller(platform, "GBR-DONOR", Role.DONOR, kind=OrgKind.DONOR)
    status, html = page(client, donor, "/recovery")
    assert status == 403 and "may not open it" in html and 'id="tasks"' not in html
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    grid = {
        "grid": "Test grid",
        "area": {
            "type": "Polygon",
            "coordinates": [
                [[34.30, 31.34], [34.302, 31.34], [34.302, 31.342], [34.30, 31.342], [34.30, 31.34]]
            ],
        },
        "size_m": 100,
    }
    r = client.post("/api/v1/search-tasks/grid", headers=staff.headers, json=grid)
    assert r.status_code == 201, r.text
    sectors = r.json()["sectors"]
    status, html = page(client, staff, "/recovery")
    assert status == 200
    assert 'id="tips-queue"' in html and 'id="rewards"' in html and 'id="hazards"' in html
    counts = re.search(r"Not started</a></th>\s*<td class=\"num\">(\d+)</td>", html)
    assert counts is not None and int(counts[1]) == sectors
    partner = caller(platform, "UNICEF", Role.HUMANITARIAN_PARTNER, kind=OrgKind.UN_AGENCY)
    status, html = page(client, partner, "/recovery")
    assert status == 200 and 'id="tips-queue"' not in html and 'id="rewards"' not in html


def test_recovery_board_tips_queue_and_rewards(platform: Platform, client: TestClient) -> None:
    from tests.integration.test_tips import send_tip

    officer = caller(platform, "CMCC", Role.TIP_OFFICER)
    first = send_tip(client, place="Near the old bakery").json()
    second = send_tip(client, place="Behind the school").json()
    tips = client.get("/api/v1/tips", headers=officer.headers).json()["data"]
    older, newer = tips[0], tips[1]
    r = client.post(
        f"/api/v1/tips/{older['id']}/outcome",
        headers=officer.headers,
        json={"version": older["version"], "outcome": "no_result"},
    )
    assert r.status_code == 200, r.text  # closed: leaves the queue
    status, html = page(client, officer, "/recovery")
    assert status == 200
    queue = html[html.index('id="tips-queue"') : html.index('id="hazards"')]
    assert f"tip_{newer['id']}" in queue and "Behind the school" in queue
    assert f"tip_{older['id']}" not in queue and "Near the old bakery" not in queue
    assert "OWNER" in queue and "1 new or under review" in queue
    for code in (first["claim_code"], second["claim_code"]):  # nothing that opens a tip
        assert code not in html and code.replace(" ", "") not in html
    assert "Remains under the rubble" not in queue  # place and age only
    assert "0 nominated, not yet approved" in html
