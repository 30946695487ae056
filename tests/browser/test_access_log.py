"""A humanitarian partner records an access constraint on the log's page and reads the monthly
report; the page fits a 360-pixel phone. With the gaza-2025 scenario's constraints."""

from __future__ import annotations

import datetime as dt
import io

import hxl
import pytest
from playwright.sync_api import Browser, expect

from cmcc.access.domain import Role
from cmcc.access.service import add_user
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from tests.browser.conftest import PASSWORD, PHONE, Visit, case_name, open_visit
from tests.browser.test_accessibility import CHECKS
from tests.browser.test_words import CODE, READ_TEXT

PARTNER = "unrwa-field"


def _partner(scenario: Platform) -> None:
    with operator_session(scenario, write=True, actor="system:test") as session:
        add_user(session, PARTNER, "UNRWA", Role.HUMANITARIAN_PARTNER, PASSWORD)


def test_a_partner_records_a_constraint_and_reads_the_report(
    visit: Visit, scenario: Platform
) -> None:
    _partner(scenario)
    page = visit.page
    visit.login(PARTNER, "/access")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Access constraints")
    log = page.locator("#access-log")
    seen = page.request.get(visit.base + "/api/v1/access-constraints").json()
    assert seen["count"] == 5  # UNRWA's three and OCHA's two released to the mission
    expect(log.locator("tbody tr")).to_have_count(seen["count"])
    expect(log).to_contain_text("Delayed at a checkpoint")
    expect(log).to_contain_text("6 h")
    expect(log.get_by_role("link", name="INC-3")).to_have_count(1)
    assert page.locator("h1").count() == 1
    assert page.evaluate(CHECKS) == []  # names on controls, contrast (tests/browser/a11y.js)
    assert CODE.findall(page.evaluate(READ_TEXT)) == []  # words, not codes
    visit.shot("access-log")

    form = page.locator("#record-constraint")
    # Within the report's default six months, whatever the day (the browser's zone is ours).
    lately = dt.datetime.now() - dt.timedelta(days=16)
    form.get_by_label("Occurred at").fill(lately.strftime("%Y-%m-%dT07:30"))
    form.get_by_label("Impact").select_option("delayed_at_checkpoint")
    form.get_by_label("Delay in minutes").fill("45")
    form.get_by_label("Place").fill("Checkpoint at the Netzarim junction")
    form.get_by_label("Longitude").fill("34.41")
    form.get_by_label("Latitude").fill("31.46")
    form.get_by_label("Description").fill("Three trucks held while the cargo was searched.")
    form.get_by_role("button", name="Record the constraint").click()

    expect(log.locator("tbody tr")).to_have_count(seen["count"] + 1)
    row = log.locator("tbody tr").last
    expect(row).to_contain_text("Checkpoint at the Netzarim junction")
    expect(row).to_contain_text("45 min")
    expect(row).to_contain_text("Restriction of movement within the area")
    expect(row).to_contain_text("REL TO CMCC")  # the partner and the centre, by default
    stored = page.request.get(visit.base + "/api/v1/access-constraints").json()["data"][-1]
    assert stored["delay_minutes"] == 45 and stored["releasability"] == "rel:CMCC"
    assert stored["lon"] == 34.41 and stored["lat"] == 31.46

    report = page.request.get(visit.base + "/api/v1/access-constraints/report").json()
    total = page.locator('#report-by-category tfoot td[data-col="total"]')
    expect(total).to_have_text(str(report["total"]))
    assert report["total"] == seen["count"] + 1
    bars = page.locator("#access-by-category rect.bar")
    expect(bars).to_have_count(len({r["category"] for r in report["by_category"]}))
    expect(page.locator("#access-by-area rect.bar")).not_to_have_count(0)
    href = page.get_by_role("link", name="HXL").first.get_attribute("href")
    assert href is not None and "by=category" in href
    data = hxl.data(io.BytesIO(page.request.get(visit.base + href).body())).cache()
    assert sum(int(r.get("#indicator+constraints+num")) for r in data) == report["total"]
    visit.shot("access-report")


def test_the_access_page_fits_a_phone(
    browser: Browser, server: str, scenario: Platform, request: pytest.FixtureRequest
) -> None:
    _partner(scenario)
    with open_visit(browser, server, case_name(request), **PHONE, locale="en-GB") as visit:
        page = visit.page
        for user in (PARTNER, "staff"):
            page.context.clear_cookies()
            visit.login(user, "/access")
            page.wait_for_load_state("load")
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 360, f"/access is {wide} px wide for {user}"
            nav = page.locator("header.top").bounding_box()
            assert nav is not None and nav["x"] + nav["width"] <= 360, user
            visit.shot(f"access-{user}")
