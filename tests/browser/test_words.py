"""Every label a user reads is in the users' words: no code (`ceasefire_violation_fire`) on the
pages, incidents named by their readable reference (INC-<id>) wherever they are named, phases
named once, the zone form with no kind chosen for the user, and an incident's page with its
map and the alerts it raised."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Visit
from tests.command_fixtures import Force

# snake_case: a word meant for code (not a `<type>_<n>` cross-reference such as hazard_1).
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+(?:_\d+)?\b")
# The text a user reads in the page's main part (option labels and alert messages included).
READ_TEXT = """() => {
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.textContent);
  return parts.join(" ");
}"""


def _codes(page: Page) -> list[str]:
    text: str = page.evaluate(READ_TEXT)
    assert len(text) > 200  # the page's text was read
    return CODE.findall(text)


def test_pages_read_in_the_users_words(visit: Visit, force: Force) -> None:
    page = visit.page
    visit.login("staff", "/incidents")
    log = page.locator("#incident-log")
    expect(log).to_contain_text("Ceasefire violation: fire")
    expect(log).to_contain_text("INC-1")
    bn = force.units["IDN 1 INF"]
    pages = ("/incidents", "/incidents/2", "/forces", "/funding", "/recovery", "/alerts")
    for path in (*pages, "/orbat", f"/units/{bn}", "/tasks", "/notifications"):
        visit.goto(path)
        page.wait_for_load_state("load")
        assert _codes(page) == [], path
    visit.goto("/funding")
    phases = page.locator("#by-phase tbody th")
    expect(phases.first).to_have_text("PSE-RRP-2025 phase 1: Early recovery (first 6 months)")
    text = page.locator("main").inner_text().lower()
    assert not re.search(r"phase (\d): phase \1", text)  # a phase is named once


def test_the_map_names_incidents_by_reference_and_the_zone_kind_is_chosen(visit: Visit) -> None:
    page = visit.page
    visit.login("staff", "/map")
    page.wait_for_selector("body[data-map-ready=true]")
    assert page.locator("#zone-kind").input_value() == ""  # the user chooses the kind
    page.evaluate("document.body.dataset.mapReady = ''")
    page.get_by_label("Incidents in the last").select_option(label="Since the ceasefire")
    page.wait_for_selector("body[data-map-ready=true]")
    page.get_by_label(re.compile("^Notified humanitarian sites")).uncheck()  # one lies over it
    page.locator('path[data-layer="incidents"][data-id="2"]').click(force=True)
    details = page.locator("#details")
    expect(details.locator("h3")).to_have_text("Explosive ordnance found · INC-2")
    expect(details.get_by_role("link", name="Open INC-2")).to_be_visible()
    assert CODE.findall(details.inner_text()) == []  # field names and values in words


def test_an_incident_page_has_its_map_and_the_alerts_it_raised(visit: Visit) -> None:
    """Incident 1 of the scenario lies in a safe zone: it raised an alert."""
    page = visit.page
    visit.login("staff", "/incidents/1")
    expect(page.locator("h1")).to_contain_text("INC-1")
    expect(page.locator("#incident-map[data-ready=true]")).to_have_count(1)
    expect(
        page.locator("#incident-map path.leaflet-interactive, #incident-map path")
    ).not_to_have_count(0)
    alerts = page.locator("#incident-alerts a")
    expect(alerts).to_have_count(1)
    alerts.first.click()
    page.wait_for_url(re.compile(r"/alerts\?status=open#alert-\d+$"))
    alert_id = page.url.rsplit("-", 1)[1]
    row = page.locator(f"#alert-{alert_id}")
    expect(row.get_by_role("link", name="INC-1")).to_have_attribute("href", "/incidents/1")
    expect(row.locator(".status")).to_have_text("Open")
    visit.shot("alert-from-incident")
