"""The aid flow dashboard on the gaza-2025 scenario: the chart of the last 60 days against the
target, the crossings with their status now, the figures the API gives, one crossing chosen;
and on a phone, where the chart scrolls in its own box."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import PHONE, Visit, case_name, open_visit
from tests.browser.test_dashboards import api


def test_staff_sees_the_aid_flow_dashboard(visit: Visit) -> None:
    visit.login("staff", "/aid-flow")
    page = visit.page
    expect(
        page.get_by_role("heading", name="Aid flow through the crossings", level=1)
    ).to_be_visible()
    expect(page.get_by_role("link", name="Aid flow")).to_have_attribute("aria-current", "page")
    chart = page.get_by_role("img", name="Trucks per day: All cargo through all crossings")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(60)
    expect(chart.locator("polyline.target")).to_have_count(1)
    expect(chart.locator("text", has_text="Target (600 a day)")).to_be_visible()

    # The API's figures of the page's period: by default both end today, but the page and the
    # API each take their own today, and midnight may come between them.
    start, end = (page.locator(f).input_value() for f in ("#f-start", "#f-end"))
    period = f"start={start}&end={end}"
    board = api(visit, f"/api/v1/aid-flow/dashboard?{period}")
    assert board["total"]["trucks"] > 0 and board["total"]["target_trucks"] == 600 * 60
    totals = page.get_by_role("table", name="Trucks per cargo category over the period")
    expect(totals.locator('tr[data-key="total"] td[data-col="trucks"]')).to_have_text(
        f"{board['total']['trucks']:,}"
    )
    crossings = page.get_by_role(
        "table", name="Trucks per crossing over the period, and each crossing's status now"
    )
    expect(crossings.locator('tr[data-key="RAF"] [data-col="status"]')).to_have_text("Closed")
    expect(crossings.locator('tr[data-key="ZIK"] [data-col="status"]')).to_have_text("Open")
    kerem = next(t for t in board["by_crossing"] if t["key"] == "KS")
    expect(crossings.locator('tr[data-key="KS"] [data-col="trucks"]')).to_have_text(
        f"{kerem['trucks']:,}"
    )
    page.get_by_text("Status now: notes and sources").click()
    expect(page.locator("#status-sources")).to_contain_text("Reopened for humanitarian cargo")
    visit.shot("aid-flow")

    page.get_by_label("Crossing", exact=True).select_option(label="Kerem Shalom (Karem Abu Salem)")
    page.get_by_label("Cargo", exact=True).select_option(label="Food")
    page.get_by_role("button", name="Show").click()
    expect(
        page.get_by_role("heading", name="Per day: Food of Kerem Shalom (Karem Abu Salem)")
    ).to_be_visible()
    ks_id = next(c["id"] for c in api(visit, "/api/v1/crossings")["data"] if c["code"] == "KS")
    food = api(
        visit, f"/api/v1/aid-flow/dashboard?{period}&crossing_id={ks_id}&cargo_category=food"
    )
    expect(page.locator("#summary strong")).to_have_text(f"{food['total']['trucks']:,}")
    expect(
        page.get_by_role("img", name="Trucks per day: Food of Kerem Shalom (Karem Abu Salem)")
    ).to_be_visible()
    visit.shot("aid-flow-kerem-shalom-food")


def test_aid_flow_dashboard_on_a_phone(
    browser: Browser, server: str, request: pytest.FixtureRequest
) -> None:
    with open_visit(browser, server, case_name(request), **PHONE, locale="en-GB") as visit:
        visit.login("lo-idn", "/aid-flow")
        page = visit.page
        expect(page.get_by_role("heading", name="Aid flow through the crossings")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        box = page.locator(".chart-wrap")
        assert box.evaluate("el => el.scrollWidth > el.clientWidth")  # the chart scrolls in it
        card = page.locator('#by-crossing tr[data-key="RAF"]')
        expect(card.locator('td[data-label="Status now"]')).to_have_text("Closed")
        assert card.bounding_box()["width"] <= 360  # type: ignore[index]
        visit.shot("aid-flow-phone")
