"""Staff open the force generation and funding dashboards on the gaza-2025 scenario: the charts
are there, and the funnel shows the states the API counts."""

from __future__ import annotations

import json
import urllib.request
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Visit

STEPS = ("approached", "interested", "pledged", "committed", "deploying", "deployed")


def api(visit: Visit, path: str) -> Any:
    """The JSON API's answer, with the signed-in page's own session cookie."""
    cookies = {c["name"]: c["value"] for c in visit.page.context.cookies()}
    request = urllib.request.Request(
        visit.base + path, headers={"Cookie": f"cmcc_session={cookies['cmcc_session']}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def api_count(visit: Visit, status: str) -> int:
    return int(api(visit, f"/api/v1/states?status={status}&limit=1")["count"])


def test_staff_sees_the_force_generation_dashboard(visit: Visit) -> None:
    visit.login("staff", "/forces")
    page = visit.page
    expect(page.get_by_role("heading", name="Force generation", level=1)).to_be_visible()
    expect(page.get_by_role("img", name="Outreach funnel")).to_be_visible()
    expect(page.get_by_role("img", name="Strength projection against the targets")).to_be_visible()
    expect(
        page.get_by_role("img", name="Required and ready strength by capability")
    ).to_be_visible()
    expect(page.get_by_text("Figures include only records released to you.")).to_be_visible()

    now = {s: api_count(visit, s) for s in STEPS}
    funnel = page.get_by_role("table", name="States in the outreach pipeline")
    for step in ("pledged", "deployed"):
        reached = sum(now[s] for s in STEPS[STEPS.index(step) :])
        row = funnel.get_by_role("row", name=step.capitalize())
        expect(row.get_by_role("cell")).to_have_text([str(now[step]), str(reached)])
        # the bar of the funnel carries the same figure
        bar = page.locator(f'#funnel rect.bar:has(title:text-is("{step.capitalize()}: {reached}"))')
        expect(bar).to_have_count(1)
    assert now["deployed"] > 0
    pledges = page.get_by_role("table", name="Pledges")
    expect(pledges.locator(".marking").first).to_have_text("MISSION")
    visit.shot("forces")


def test_staff_sees_the_funding_dashboard(visit: Visit) -> None:
    visit.login("staff", "/funding")
    page = visit.page
    expect(page.get_by_role("heading", name="Funding", level=1)).to_be_visible()
    for name in (
        "Pledged, committed and paid by phase (USD millions)",
        "Funding gap by phase (USD millions)",
        "Pledged, committed and paid by donor (USD millions)",
        "Disbursement over time (USD millions, cumulative)",
    ):
        expect(page.get_by_role("img", name=name)).to_be_visible()
    donors = page.get_by_role("table", name="Pledged, committed and paid by donor (USD millions)")
    total = donors.locator('tr[data-key="total"] td[data-col="pledged"]')
    pledged = Decimal(api(visit, "/api/v1/funding/summary?by=donor")["total"]["pledged_usd"])
    assert pledged > 0
    expect(total).to_have_text(f"{(pledged / 1_000_000).quantize(Decimal('0.1'), ROUND_HALF_UP):,}")
    visit.shot("funding")
