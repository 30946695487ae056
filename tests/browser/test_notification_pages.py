"""Humanitarian notifications in Chromium: a partner notifies a movement by drawing its route on
the map (a bad window is refused beside its field) and finds the advisory of the restricted area
it crosses beside the notification; the centre shares a site with a party's liaison cell, which
sees it on its list, its page and its map, never with its contact. The pages, as the partner
and the liaison cell see them, fit a phone, pass the accessibility checks and read in words."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.service import add_user, create_token
from cmcc.bootstrap import Platform
from tests.browser.conftest import PASSWORD, PHONE, Visit, case_name, open_visit
from tests.browser.test_accessibility import CHECKS
from tests.browser.test_small_screens import OVERFLOW
from tests.browser.test_words import CODE, READ_TEXT
from tests.factories import Caller, org
from tests.humanitarian_fixtures import site_body, square

# A route north from Khan Younis, through a restricted area the centre draws around its middle.
ROUTE = ((34.300, 31.330), (34.320, 31.345), (34.340, 31.360))
CLOSED = square(34.320, 31.345, 0.003)


def _user(platform: Platform, name: str, org_code: str, role: Role, kind: OrgKind) -> Caller:
    """A user with a plain name (the pages show who acted) and a token."""
    org(platform, org_code, kind, member=kind is not OrgKind.PARTY_LIAISON)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        user = add_user(s, name, org_code, role, PASSWORD)
        token = create_token(s, user, platform.settings.secret_key.get_secret_value())
    return Caller(name, org_code, role, token)


class People:
    def __init__(self, platform: Platform) -> None:
        self.staff = _user(platform, "centre", "CMCC", Role.STAFF_OFFICER, OrgKind.CMCC)
        self.partner = _user(
            platform, "partner", "WFP", Role.HUMANITARIAN_PARTNER, OrgKind.UN_AGENCY
        )
        self.liaison = _user(
            platform, "cogat", "COGAT", Role.LIAISON_OFFICER, OrgKind.PARTY_LIAISON
        )


@pytest.fixture
def people(scenario: Platform) -> People:
    return People(scenario)


def _post(base: str, who: Caller, path: str, body: dict[str, Any]) -> Any:
    answer = httpx.post(base + path, headers=who.headers, json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _click_map(page: Page, host: str, lon: float, lat: float) -> None:
    """Click the form's map at a place (its pixel from Leaflet)."""
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.cmcc.formMap.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [lat, lon],
    )
    page.locator(host).click(position={"x": x, "y": y})


def _local(moment: dt.datetime) -> str:
    """A datetime-local field's value (the browser runs in the machine's zone, UTC here)."""
    return moment.astimezone().strftime("%Y-%m-%dT%H:%M")


def _readable(page: Page, path: str, width: int) -> None:
    page.wait_for_load_state("load")
    assert page.locator("h1").count() == 1, path
    assert page.evaluate(CHECKS) == [], path
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{path} is {wide} px wide: {page.evaluate(OVERFLOW)}"
    assert CODE.findall(page.evaluate(READ_TEXT)) == [], path


def test_partner_notifies_a_movement_drawn_on_the_map(visit: Visit, people: People) -> None:
    zone = {"name": "Closed military area", "kind": "restricted_area", "geometry": CLOSED}
    _post(visit.base, people.staff, "/api/v1/zones", zone)
    page = visit.page
    visit.login(people.partner.username, "/notifications/new")
    expect(page.locator("#informs")).to_contain_text("it asks no one's leave")
    page.wait_for_selector("#form-map[data-ready=true]")
    _readable(page, "/notifications/new", 1366)
    page.get_by_label("Movement type").select_option(label="Convoy")
    page.get_by_label("Title").fill("WFP convoy 7 to Deir al-Balah")
    for lon, lat in ROUTE:
        _click_map(page, "#form-map", lon, lat)
    expect(page.locator("#form-map-status")).to_contain_text("Route: 3 points")
    page.get_by_role("button", name="Add a waypoint").click()
    page.locator("#waypoint-list").get_by_label("Name").fill("Checkpoint 56")
    page.get_by_role("button", name="Pick on the map").click()
    _click_map(page, "#form-map", *ROUTE[1])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # under way: notified late
    page.get_by_label("Starts").fill(_local(start))
    page.get_by_label("Ends").fill(_local(start - dt.timedelta(hours=2)))  # before it starts
    page.get_by_label("Vehicles").fill("18")
    page.get_by_label("Cargo").select_option(label="Food")
    page.locator("#n-contact-name").fill("Amal Haddad")
    page.get_by_role("button", name="Notify the centre").click()

    # The API's error, beside the field it is about, in the form's words; nothing written.
    ends = page.get_by_label("Ends")
    expect(page.locator("#error-n-to")).to_have_text("“Ends” must be after “Starts”")
    expect(ends).to_have_attribute("aria-invalid", "true")
    expect(ends).to_have_attribute("aria-describedby", "error-n-to")
    visit.shot("form-bad-window")
    assert re.search(r"/notifications/new$", page.url)
    ends.fill(_local(start + dt.timedelta(hours=8)))
    page.get_by_role("button", name="Notify the centre").click()

    # Its page: the route on the map, and the advisory of the restricted area beside it.
    page.wait_for_url(re.compile(r"/notifications/\d+$"))
    lineage = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("h1")).to_contain_text(f"WFP convoy 7 to Deir al-Balah movement_{lineage}")
    expect(page.locator("#notification-map[data-ready=true]")).to_have_count(1)
    kind = '#advisories li[data-kind="restricted_area"]'
    advisory = page.locator(kind, has_text='restricted area "Closed military area"')
    expect(advisory).to_contain_text("(on the route)")
    expect(page.locator("#notification-status")).to_have_text("Submitted")
    expect(page.locator("#notification-record .flag")).to_have_text("Short notice")
    expect(page.locator("#notification-record")).to_contain_text("Checkpoint 56")
    expect(page.locator("#notification-contact")).to_contain_text("Amal Haddad")
    _readable(page, f"/notifications/{lineage}", 1366)
    visit.shot("movement-with-advisory")

    # On the list of active ones, with its advisory, and on the common map's movements.
    visit.goto("/notifications?active=1")
    row = page.locator(f'#notifications tr[data-lineage="{lineage}"]')
    answer = visit.page.request.get(f"{visit.base}/api/v1/notifications/{lineage}")
    expect(row.locator(".advisory-count")).to_have_text(str(answer.json()["advisories"]))
    visit.goto("/map")
    page.wait_for_selector("body[data-map-ready=true]")
    expect(page.locator("#count-movements")).to_have_text("(1)")
    route = page.locator(f'path[data-layer="movements"][data-id="{lineage}"]')
    route.click(force=True)
    expect(page.locator("#details h3")).to_have_text("WFP convoy 7 to Deir al-Balah")
    expect(page.locator("#details")).to_contain_text("Convoy")
    # The route as drawn: the points clicked, in order (within a pixel at this zoom).
    drawn = answer.json()["geometry"]["coordinates"]
    assert [tuple(p) for p in drawn] == [pytest.approx(p, abs=2e-3) for p in ROUTE]


def test_centre_shares_a_site_with_a_party_liaison_cell(
    browser: Browser, server: str, people: People, request: pytest.FixtureRequest
) -> None:
    site = _post(server, people.partner, "/api/v1/notifications", site_body())
    lineage = site["lineage"]
    with open_visit(browser, server, case_name(request) + "-partner", **PHONE) as visit:
        page = visit.page
        visit.login(people.partner.username, "/notifications/new")
        page.wait_for_selector("#form-map[data-ready=true]")
        _readable(page, "/notifications/new", 360)
        page.get_by_label("A site (a place with a humanitarian function)").check()
        expect(page.get_by_label("Site type")).to_be_visible()
        expect(page.get_by_label("Movement type")).to_be_hidden()
        _readable(page, "/notifications/new (a site)", 360)
        visit.goto(f"/notifications/{lineage}")
        expect(page.locator("#notification-contact")).to_contain_text("Omar Nasser")
        _readable(page, f"/notifications/{lineage}", 360)
    with open_visit(browser, server, case_name(request) + "-centre", locale="en-GB") as visit:
        page = visit.page
        visit.login(people.staff.username, f"/notifications/{lineage}")
        expect(page.locator("#notification-contact")).to_contain_text("Omar Nasser")
        page.locator("#step-acknowledged").get_by_role("button", name="Acknowledge").click()
        expect(page.locator("#notification-status")).to_have_text("Acknowledged by the centre")
        share = page.locator("#step-shared")
        share.get_by_label("Organization COGAT (COGAT)").check()
        share.get_by_role("button", name="Share").click()
        expect(page.locator("#notification-status")).to_have_text("Shared")
        expect(page.locator("#shared-with")).to_contain_text("(COGAT)")

    with open_visit(browser, server, case_name(request) + "-liaison", **PHONE) as visit:
        page = visit.page
        visit.login(people.liaison.username, "/notifications")
        _readable(page, "/notifications", 360)
        link = page.locator(f'#notifications tr[data-lineage="{lineage}"] a').first
        expect(link).to_have_text(f"site_{lineage}")
        link.click()
        page.wait_for_url(re.compile(rf"/notifications/{lineage}$"))
        expect(page.locator("h1")).to_contain_text("Deir al-Balah field clinic")
        expect(page.locator("#notification-map[data-ready=true]")).to_have_count(1)
        expect(page.locator("#notification-contact")).to_have_count(0)
        assert "Omar Nasser" not in page.content()
        expect(page.locator(".step-form")).to_have_count(0)
        _readable(page, f"/notifications/{lineage}", 360)
        visit.shot("shared-site-liaison")
        # The site on the liaison cell's map, with a link to its page.
        visit.goto("/map")
        page.wait_for_selector("body[data-map-ready=true]")
        expect(page.locator(f'path[data-layer="sites"][data-id="{lineage}"]')).to_have_count(1)
        page.locator(f'path[data-layer="sites"][data-id="{lineage}"]').click(force=True)
        details = page.locator("#details")
        expect(details.locator("h3")).to_have_text("Deir al-Balah field clinic")
        expect(details).to_contain_text("Health")
        expect(details.get_by_role("link", name=f"Open site_{lineage}")).to_be_visible()
        assert "Omar Nasser" not in details.inner_text()
