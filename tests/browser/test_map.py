"""The map in Chromium: the layers through the release policy, details on click, the time
slider, placing an incident and drawing a zone, and an alert that appears live."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.cot import codec, devices
from cmcc.cot.bridge import Bridge
from tests.browser.conftest import PASSWORD, Visit
from tests.factories import from_devices

SAFE_ZONE_POINT = (34.436, 31.516)  # inside "Notional safe zone 1 (Gaza City, west)"


def _count(page: Page, layer: str) -> int:
    text = page.locator(f"#count-{layer}").inner_text()
    match = re.fullmatch(r"\((\d+)\)", text)
    assert match, f"no count for {layer}: {text!r}"
    return int(match.group(1))


def _ready(visit: Visit) -> None:
    visit.page.wait_for_selector("body[data-map-ready=true]")


def _api_count(visit: Visit, collection: str, when: str) -> int:
    """What the collection answers for the map's query (search tasks: created up to `when`)."""
    if collection == "search-tasks":
        when = "../" + when
    answer = visit.page.request.get(
        f"{visit.base}/ogc/collections/{collection}/items",
        params={"f": "json", "limit": "5000", "datetime": when},
    )
    assert answer.ok, answer.text()
    body: dict[str, Any] = answer.json()
    return len(body["features"])


def _token(base: str, user: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def test_layers_details_and_time(visit: Visit) -> None:
    visit.login("staff", "/map")
    page = visit.page
    _ready(visit)
    now = dt.datetime.now(dt.UTC).isoformat()
    for layer in ("zones", "hazards", "search-tasks", "projects"):
        assert _count(page, layer) == _api_count(visit, layer, now) > 0, layer
    # Every zone of the scenario is drawn as a shape on the map (SVG paths of the layer).
    expect(page.locator('path[data-layer="zones"]')).to_have_count(
        _api_count(visit, "zones", now) - page.locator('circle[data-layer="zones"]').count()
    )
    page.evaluate("document.body.dataset.mapReady = ''")
    page.get_by_label("Incidents in the last").select_option(label="Since the ceasefire")
    _ready(visit)
    since = f"2025-10-10T12:00:00Z/{now}"
    assert _count(page, "incidents") == _api_count(visit, "incidents", since) >= 5
    page.locator('path[data-layer="hazards"]').first.click(force=True)
    details = page.locator("#details")
    expect(details.locator(".marking")).to_be_visible()
    expect(details.locator("h3")).not_to_be_empty()
    visit.shot("map")

    # Back to the day of the ceasefire: the two safe zones (valid from 1 Nov 2025), the five
    # notional ISF sectors (from 20 Jan 2026) and the zones around notified humanitarian sites
    # and movements (the scenario's are all later) are not drawn.
    before = _count(page, "zones")
    zones_now = visit.page.request.get(
        f"{visit.base}/ogc/collections/zones/items",
        params={"f": "json", "limit": "5000", "datetime": now},
    ).json()["features"]
    notified = sum(1 for z in zones_now if z["properties"]["kind"].startswith("notified_"))
    page.evaluate("document.body.dataset.mapReady = ''")
    page.locator("#as-of").fill("0")
    page.locator("#as-of").dispatch_event("change")
    _ready(visit)
    assert _count(page, "zones") == before - 7 - notified
    expect(page.locator("#as-of-text")).to_contain_text("2025-10-10")


def _verify(base: str, incident_id: int) -> None:
    """Reported -> under verification -> verified, through the API as the staff officer."""
    headers = {"Authorization": f"Bearer {_token(base, 'staff')}"}
    url = f"{base}/api/v1/incidents/{incident_id}"
    for step in ("under_verification", "verified"):
        version = httpx.get(url, headers=headers).json()["version"]
        body = {"to": step, "note": "Seen by the patrol", "version": version}
        if step == "verified":
            body["attribution"] = "undetermined"
        answer = httpx.post(f"{url}/verification", headers=headers, json=body)
        assert answer.status_code == 201, answer.text


def test_verified_incidents_are_filled_others_hollow(visit: Visit) -> None:
    """The legend says so: a verified incident is drawn filled, any other hollow."""
    _verify(visit.base, 1)
    visit.login("staff", "/map")
    page = visit.page
    _ready(visit)
    page.evaluate("document.body.dataset.mapReady = ''")
    page.get_by_label("Incidents in the last").select_option(label="Since the ceasefire")
    _ready(visit)
    verified = page.locator('path[data-layer="incidents"][data-id="1"]')
    expect(verified).to_have_attribute("fill-opacity", "0.6")
    others = page.locator('path[data-layer="incidents"]:not([data-id="1"])')
    assert others.count() >= 4
    for i in range(others.count()):
        assert others.nth(i).get_attribute("fill-opacity") == "0.2"


def test_a_liaison_officer_sees_only_what_is_released_to_it(visit: Visit) -> None:
    visit.login("lo-idn", "/map")
    _ready(visit)
    now = dt.datetime.now(dt.UTC).isoformat()
    for layer in ("zones", "hazards", "search-tasks"):
        assert _count(visit.page, layer) == _api_count(visit, layer, now), layer
    expect(visit.page.locator('nav a[href="/recovery"]')).to_have_count(0)


def test_place_an_incident_and_draw_a_zone(visit: Visit) -> None:
    visit.login("staff", "/map")
    page = visit.page
    _ready(visit)
    zones = _count(page, "zones")

    page.get_by_role("button", name="Start drawing").click()  # brings the map into view
    box = page.locator("#map").bounding_box()
    assert box is not None
    for dx, dy in ((0.40, 0.40), (0.46, 0.40), (0.46, 0.46), (0.40, 0.46)):
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
    page.get_by_role("button", name="Finish").click()
    geometry = page.locator("#zone-geom").input_value()
    assert '"Polygon"' in geometry
    page.get_by_label("Name").fill("Notified humanitarian site (browser test)")
    page.locator("#zone-kind").select_option("notified_humanitarian_site")
    page.locator("#zone-marking").select_option("mission")
    page.get_by_role("button", name="Save the zone").click()
    expect(page.locator("#map-status")).to_contain_text("saved")
    expect(page.locator("#count-zones")).to_have_text(f"({zones + 1})")

    page.get_by_role("button", name="Pick on map").click()
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.55)
    assert page.locator("#inc-lon").input_value() != ""
    page.locator("#inc-type").select_option("aid_obstruction")
    page.locator("#inc-when").fill(
        (dt.datetime.now() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("Narrative").fill("Convoy held at a checkpoint for three hours.")
    page.locator("#inc-marking").select_option("rel")
    page.locator("#inc-rel").fill("GBR, IDN")
    page.get_by_role("button", name="File the incident").click()
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    incident_id = page.url.rsplit("/", 1)[1]
    record = page.request.get(f"{visit.base}/api/v1/incidents/{incident_id}").json()
    assert record["releasability"] == "rel:GBR,IDN"
    assert record["type"] == "aid_obstruction"


def test_an_alert_appears_live(visit: Visit) -> None:
    visit.login("staff", "/map")
    page = visit.page
    _ready(visit)
    before = _count(page, "alerts")
    token = _token(visit.base, "lo-idn")
    filed = httpx.post(
        f"{visit.base}/api/v1/incidents",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "type": "ceasefire_violation_fire",
            "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
            "geometry": {"type": "Point", "coordinates": list(SAFE_ZONE_POINT)},
            "severity": 3,
            "narrative": "Shots fired near the shelter",
            "releasability": "mission",
        },
    )
    assert filed.status_code == 201, filed.text
    feed = page.locator("#alert-feed li")
    expect(feed).to_have_count(1)
    expect(feed.first).to_contain_text("safe zone")
    expect(page.locator("#count-alerts")).to_have_text(f"({before + 1})")
    expect(page.locator('nav a[href="/alerts"] .badge')).to_contain_text("1 new")
    visit.shot("live-alert")

    visit.goto("/alerts")
    rows = page.locator("#alerts-table tbody tr[data-alert]")
    # The table has the map's alerts and those without a place (a unit's supply running low).
    expect(rows.first).to_be_visible()
    listed = rows.count()
    assert listed >= before + 1
    page.get_by_role("button", name="Acknowledge").first.click()
    expect(rows).to_have_count(listed - 1)
    visit.shot("alerts")


@pytest.fixture
def unit_on_the_ground(scenario: Platform) -> str:
    """An Indonesian infantry unit's TAK position, stored through the gateway's bridge."""
    with operator_session(scenario, write=True, actor="system:test") as session:
        devices.register(session, "idn-inf-1", "IDN", callsign="GARUDA-6")
    event = codec.make_event(
        "idn-inf-1",
        "a-f-G-U-C-I",
        31.40,
        34.37,
        now=dt.datetime.now(dt.UTC),
        stale_seconds=600,
        callsign="GARUDA-6",
    )
    assert Bridge(scenario).ingest(from_devices([event])) == 1
    return "idn-inf-1"


def test_unit_positions_with_their_symbols(unit_on_the_ground: str, visit: Visit) -> None:
    visit.login("staff", "/map")
    page = visit.page
    _ready(visit)
    assert _count(page, "tracks") == 1
    symbol = page.locator('img[data-layer="tracks"]')
    expect(symbol).to_have_count(1)
    assert (symbol.get_attribute("src") or "").startswith("data:image/png")  # milsymbol
    assert symbol.get_attribute("title") == "GARUDA-6"
    symbol.click()
    expect(page.locator("#details")).to_contain_text("GARUDA-6")
    expect(page.locator("#details .marking")).to_have_text("MISSION")
    visit.shot("units")
