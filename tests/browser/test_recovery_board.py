"""The recovery board shows staff the scenario's search tasks by status and its open hazards."""

from __future__ import annotations

from playwright.sync_api import expect

from cmcc.remains.domain import TaskStatus
from tests.browser.conftest import Visit


def test_staff_sees_tasks_by_status_and_hazards(visit: Visit) -> None:
    page = visit.page
    visit.login("staff", "/recovery")
    expect(page.get_by_role("heading", name="Recovery board")).to_be_visible()

    def api(path: str) -> dict:  # type: ignore[type-arg]
        r = page.request.get(visit.base + path)
        assert r.ok, r.text()
        return r.json()  # type: ignore[no-any-return]

    counts = page.locator("#task-counts")
    total = 0
    for status in TaskStatus:
        n = api(f"/api/v1/search-tasks?status={status.value}&limit=1")["count"]
        total += n
        row = counts.locator("tbody tr", has_text=status.value.replace("_", " ").capitalize())
        expect(row.locator("td")).to_have_text(str(n))
    assert total > 0  # the scenario's grid of search sectors
    expect(counts.locator("tfoot td")).to_have_text(str(total))
    expect(page.locator("#tasks caption")).to_contain_text(f"{total} tasks")

    hazards = api("/api/v1/hazards?status=open")["data"]
    assert len(hazards) == 2
    rows = page.locator("#hazards tbody tr")
    expect(rows).to_have_count(len(hazards))
    for h in hazards:
        row = page.locator("#hazards tbody tr", has_text=h["ref"])
        expect(row).to_contain_text(h["name"])
        expect(row).to_contain_text(h["classification"].upper())
        expect(row).to_contain_text(f"{h['area_m2']:,}")
    expect(page.locator("#tips-queue")).to_be_visible()
    expect(page.locator("#rewards")).to_be_visible()
    visit.shot("recovery-board")

    page.get_by_label("Task status", exact=True).select_option("not_started")
    page.get_by_role("button", name="Show").click()
    not_started = api("/api/v1/search-tasks?status=not_started&limit=1")["count"]
    expect(page.locator("#tasks caption")).to_contain_text(str(not_started))
