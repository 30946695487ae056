"""The command pages in Chromium: the ORBAT tree with its symbols (drawn by milsymbol) and its
branches that open and close; the tasking board, where a nation refuses a task and the force
issues one (and sees every reason a task is refused); the map's units by echelon."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Visit
from tests.command_fixtures import Force


def _api(visit: Visit, path: str) -> Any:
    r = visit.page.request.get(visit.base + path)
    assert r.ok, r.text()
    return r.json()


def _orbat_size(visit: Visit) -> int:
    def size(nodes: list[dict[str, Any]]) -> int:
        return sum(1 + size(n["children"]) for n in nodes)

    return size(_api(visit, "/api/v1/orbat"))


def test_orbat_tree_with_symbols_and_branches_that_collapse(visit: Visit, force: Force) -> None:
    page = visit.page
    visit.login("staff", "/orbat")
    page.wait_for_selector("body[data-symbols-ready=true]")
    tree = page.locator("#orbat")
    nodes = tree.locator(".node")
    expect(nodes).to_have_count(_orbat_size(visit))  # as many as the API's tree
    hidden = force.units["IDN INT"]  # released to Indonesia only
    expect(tree.locator(f'.node[data-lineage="{hidden}"]')).to_have_count(0)
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
    def node(short: str) -> Any:
        return page.locator(f'.node[data-lineage="{force.units[short]}"]')

    company = node("IDN A COY").get_by_role("link")
    expect(company).to_be_visible()
    rafah = page.locator(f'summary:has(.node[data-lineage="{force.units["SEC RAFAH"]}"])')
    rafah.click(position={"x": 4, "y": 12})
    expect(company).to_be_hidden()
    expect(node("SEC RAFAH")).to_be_visible()
    rafah.click(position={"x": 4, "y": 12})
    expect(company).to_be_visible()
    page.get_by_role("button", name="Collapse all").click()
    expect(node("CMCC")).to_be_hidden()
    expect(node("ISF HQ")).to_be_visible()
    page.get_by_role("button", name="Expand all").click()
    expect(company).to_be_visible()

    # A node opens the unit's page, with its symbol too.
    company.click()
    page.wait_for_url(re.compile(r"/units/\d+$"))
    expect(page.locator("h1")).to_contain_text("A Company")
    expect(page.locator("h1 .unit-symbol img")).to_have_count(1)
    expect(page.locator("#unit-map[data-ready=true]")).to_have_count(1)  # where it is

    # As of a date before the force existed (before the ceasefire): no unit.
    visit.goto("/orbat")
    page.get_by_label("The force as of").fill("2025-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#orbat-empty")).to_be_visible()


def test_tasking_board_national_refusal(visit: Visit, force: Force) -> None:
    page = visit.page
    visit.login("lo-idn", "/tasks")
    issued = page.locator("#col-issued")
    refused = page.locator("#col-refused_by_nation")

    def count(column: str) -> int:
        n = _api(visit, f"/api/v1/tasks?status={column}&limit=1")["count"]
        expect(page.locator(f"#col-{column} .count")).to_have_text(str(n))
        return int(n)

    before = {c: count(c) for c in ("issued", "refused_by_nation")}
    assert before["issued"] >= 1 and before["refused_by_nation"] >= 1
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
    expect(refused.locator(".count")).to_have_text(str(before["refused_by_nation"] + 1))
    expect(issued.locator(".count")).to_have_text(str(before["issued"] - 1))
    expect(refused).to_contain_text("national capital withholds consent")
    visit.shot("board-after-refusal")


def test_tasking_board_issue(visit: Visit, force: Force) -> None:
    """The force issues a task; one it may not issue is refused with its reason."""
    page = visit.page
    visit.login("staff", "/tasks")
    issued = page.locator("#col-issued")
    before = _api(visit, "/api/v1/tasks?status=issued&limit=1")["count"]
    expect(issued.locator(".count")).to_have_text(str(before))
    form = page.locator("#issue-form")
    form.get_by_label("Title").fill("Escort the water convoy")
    form.get_by_label("Task", exact=True).select_option(label="Aid corridor security")
    form.get_by_label("Issuing headquarters").select_option(str(force.units["SEC RAFAH"]))
    form.get_by_label("Unit", exact=True).select_option(str(force.units["IDN 1 INF"]))
    form.get_by_label("Longitude").fill("34.262")
    form.get_by_label("Latitude").fill("31.291")
    form.get_by_label("From (your local time)").fill("2026-03-06T06:00")
    form.get_by_label("To (your local time)").fill("2026-03-06T18:00")
    form.get_by_label("Issuing headquarters").select_option(str(force.units["ISF HQ"]))
    form.get_by_role("button", name="Issue the task").click()
    expect(form.locator(".form-error")).to_contain_text("no authority")
    form.get_by_label("Issuing headquarters").select_option(str(force.units["SEC RAFAH"]))
    form.get_by_role("button", name="Issue the task").click()
    # The scenario's first phase deploys only in areas under Israeli control.
    expect(form.locator(".form-error")).to_contain_text("outside the deployment phase")
    form.get_by_label("Longitude").fill("")
    form.get_by_label("Latitude").fill("")
    area = form.get_by_label("Area", exact=True)
    idf = area.locator("option", has_text="(Area under IDF control)").first.get_attribute("value")
    area.select_option(idf)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/tasks")) as answer:
        form.get_by_role("button", name="Issue the task").click()
    assert answer.value.status == 201, answer.value.text()
    expect(issued.locator(".count")).to_have_text(str(before + 1))
    expect(issued).to_contain_text("Escort the water convoy")
    visit.shot("board-after-issue")


def test_map_units_by_echelon(visit: Visit, force: Force) -> None:
    page = visit.page
    visit.login("staff", "/map")
    page.wait_for_selector("body[data-map-ready=true]")
    units = _api(visit, "/map/units")
    ranks = [f["properties"]["echelon_rank"] for f in units["features"]]
    order = units["echelons"]
    located = len(ranks)
    assert str(force.units["IDN INT"]) not in {f["id"] for f in units["features"]}

    def shown_at(zoom: int) -> int:
        page.evaluate("document.querySelector('#map').dataset.unitsShown = ''")
        page.evaluate(f"window.cmcc.map.setZoom({zoom}, {{ animate: false }})")
        page.wait_for_function("document.querySelector('#map').dataset.unitsShown !== ''")
        markers = page.locator('img[data-layer="units"]')
        expect(markers).to_have_count(
            int(page.locator("#map").get_attribute("data-units-shown") or 0)
        )
        return markers.count()

    battalions = sum(1 for r in ranks if r >= order.index("battalion"))
    brigades = sum(1 for r in ranks if r >= order.index("brigade"))
    assert located > battalions > brigades >= 3  # the test force's companies, its battalions
    assert shown_at(13) == located
    assert shown_at(11) == battalions  # battalions and above
    assert shown_at(9) == brigades  # brigades and above
    expect(page.locator("#count-units")).to_have_text(f"({brigades} of {located} at this zoom)")
    page.locator('img[data-layer="units"]').first.click(force=True)
    expect(page.locator("#details").get_by_role("link", name="Open the unit page")).to_be_visible()
