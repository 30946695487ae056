"""The command pages in Chromium: the ORBAT tree with its symbols (drawn by milsymbol) and its
branches that open and close; the tasking board, where a nation refuses a task and the force
issues one (and sees every reason a task is refused); the map's units by echelon."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import Visit
from tests.command_fixtures import Force


def test_orbat_tree_with_symbols_and_branches_that_collapse(visit: Visit, force: Force) -> None:
    page = visit.page
    visit.login("staff", "/orbat")
    page.wait_for_selector("body[data-symbols-ready=true]")
    tree = page.locator("#orbat")
    nodes = tree.locator(".node")
    expect(nodes).to_have_count(len(force.units) - 1)  # the unit released to Indonesia only
    # Every node's symbol is an image milsymbol drew from its SIDC, loaded and not empty.
    symbols = tree.locator(".unit-symbol img")
    expect(symbols).to_have_count(nodes.count())
    drawn = page.evaluate(
        "[...document.querySelectorAll('#orbat .unit-symbol img')].every((img) =>"
        " img.complete && img.naturalWidth > 10 && img.src.startsWith('data:image/svg'))"
    )
    assert drawn
    bn = page.locator(f'.node[data-lineage="{force.units["IDN 1 INF"]}"]')
    expect(bn).to_contain_text("1st Indonesian Infantry Battalion")
    # The battalion's strength with its three companies': present / assigned / authorized.
    expect(bn).to_contain_text("1,179 / 1,245 / 1,280")
    expect(bn.get_by_role("img", name=re.compile("Strength: 1179 present"))).to_be_visible()
    visit.shot("orbat")

    # A branch closes and opens by its summary (details/summary: no script needed).
    company = page.get_by_role("link", name="A Company, 1st Indonesian Infantry Battalion")
    expect(company).to_be_visible()
    rafah = page.locator(f'summary:has(.node[data-lineage="{force.units["SEC RAFAH"]}"])')
    rafah.click(position={"x": 4, "y": 12})
    expect(company).to_be_hidden()
    expect(page.get_by_role("link", name="Sector Rafah headquarters")).to_be_visible()
    rafah.click(position={"x": 4, "y": 12})
    expect(company).to_be_visible()
    page.get_by_role("button", name="Collapse all").click()
    expect(page.get_by_role("link", name="Civil-Military Coordination Centre")).to_be_hidden()
    expect(
        page.get_by_role("link", name="International Stabilization Force headquarters")
    ).to_be_visible()
    page.get_by_role("button", name="Expand all").click()
    expect(company).to_be_visible()

    # A node opens the unit's page, with its symbol too.
    company.click()
    page.wait_for_url(re.compile(r"/units/\d+$"))
    expect(page.locator("h1")).to_contain_text("A Company")
    expect(page.locator("h1 .unit-symbol img")).to_have_count(1)
    expect(page.locator("#unit-map[data-ready=true]")).to_have_count(1)  # where it is

    # As of a date before the force existed: no unit.
    visit.goto("/orbat")
    page.get_by_label("The force as of").fill("2026-02-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#orbat-empty")).to_be_visible()


def test_tasking_board_refusal_and_issue(visit: Visit, force: Force) -> None:
    page = visit.page
    visit.login("lo-idn", "/tasks")
    issued = page.locator("#col-issued")
    refused = page.locator("#col-refused_by_nation")
    expect(issued.locator(".count")).to_have_text("1")
    expect(refused.locator(".count")).to_have_text("1")
    expect(refused).to_contain_text("national caveat: no offensive operations")
    card = page.locator(f'.task-card[data-id="{force.tasks["patrol"]}"]')
    expect(card).to_contain_text("Patrol the aid corridor at Kerem Shalom")
    # The nation's red card, with its reason.
    card.get_by_text("Change the status").click()
    card.get_by_label("New status").select_option(label="Refused by the nation")
    card.get_by_role("button", name="Record").click()
    expect(card.locator(".form-error")).to_contain_text("a national refusal states its reason")
    card.get_by_label("Reason (required for a refusal)").fill("national capital withholds consent")
    card.get_by_role("button", name="Record").click()
    expect(refused.locator(".count")).to_have_text("2")
    expect(issued.locator(".count")).to_have_text("0")
    expect(refused).to_contain_text("national capital withholds consent")
    visit.shot("board-after-refusal")

    # The force issues a task; one it may not issue is refused with its reason.
    visit.page.context.clear_cookies()
    visit.login("staff", "/tasks")
    form = page.locator("#issue-form")
    form.get_by_label("Title").fill("Escort the water convoy")
    form.get_by_label("Task", exact=True).select_option(label="Aid corridor security")
    form.get_by_label("Issuing headquarters").select_option(label="Sector Rafah headquarters")
    form.get_by_label("Unit", exact=True).select_option(label="1st Indonesian Infantry Battalion")
    form.get_by_label("Longitude").fill("34.262")
    form.get_by_label("Latitude").fill("31.291")
    form.get_by_label("From (your local time)").fill("2026-03-06T06:00")
    form.get_by_label("To (your local time)").fill("2026-03-06T18:00")
    form.get_by_label("Issuing headquarters").select_option(
        label="International Stabilization Force headquarters"
    )
    form.get_by_role("button", name="Issue the task").click()
    expect(form.locator(".form-error")).to_contain_text("no authority")
    form.get_by_label("Issuing headquarters").select_option(label="Sector Rafah headquarters")
    form.get_by_role("button", name="Issue the task").click()
    expect(issued.locator(".count")).to_have_text("1")
    expect(issued).to_contain_text("Escort the water convoy")
    visit.shot("board-after-issue")


def test_map_units_by_echelon(visit: Visit, force: Force) -> None:
    page = visit.page
    visit.login("staff", "/map")
    page.wait_for_selector("body[data-map-ready=true]")
    located = len(force.units) - 2  # the contingent has no place; one unit is Indonesia's only

    def shown_at(zoom: int) -> int:
        page.evaluate("document.querySelector('#map').dataset.unitsShown = ''")
        page.evaluate(f"window.cmcc.map.setZoom({zoom}, {{ animate: false }})")
        page.wait_for_function("document.querySelector('#map').dataset.unitsShown !== ''")
        markers = page.locator('img[data-layer="units"]')
        expect(markers).to_have_count(
            int(page.locator("#map").get_attribute("data-units-shown") or 0)
        )
        return markers.count()

    assert shown_at(13) == located
    # Battalions and above (the four companies hidden).
    assert shown_at(11) == located - 4
    # Brigades and above: the force headquarters, the CMCC and the sector headquarters.
    assert shown_at(9) == 3
    expect(page.locator("#count-units")).to_have_text(f"(3 of {located} at this zoom)")
    page.locator('img[data-layer="units"]').first.click(force=True)
    expect(page.locator("#details").get_by_role("link", name="Open the unit page")).to_be_visible()
