"""The SITREP page in Chromium: a liaison officer reads the day's report for the nation (map,
charts, figures), downloads the PDF (issued and archived) and picks another day; on a
360-pixel phone the page never scrolls sideways."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest
import shapely
from playwright.sync_api import Browser, expect

from cmcc.access.domain import Principal
from cmcc.access.service import org_by_code
from cmcc.bootstrap import Platform
from cmcc.command.sitrep import yesterday
from cmcc.core.releasability import Marking, MarkingKind
from cmcc.incidents.models import Incident
from tests.browser.conftest import PHONE, case_name, open_visit

OVERFLOW = """() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1
    && !el.closest(".table-wrap"))
  .slice(0, 5).map((el) => el.tagName + (el.id ? "#" + el.id : ""))"""


def file_incidents(platform: Platform, day: dt.date, n: int) -> None:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        idn = org_by_code(s, "IDN")
        for i in range(n):
            when = dt.datetime.combine(day, dt.time(8 + i), tzinfo=dt.UTC)
            incident = Incident(
                type="demonstration",
                occurred_at=when,
                reported_at=when,
                severity=2,
                owner_org_id=idn.id,
            )
            incident.marking = Marking(MarkingKind.OWNER)
            incident.geometry = shapely.Point(34.45, 31.5)
            s.add(incident)


def test_liaison_officer_reads_and_downloads_the_sitrep(
    browser: Browser,
    server: str,
    scenario: Platform,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    day = yesterday()
    file_incidents(scenario, day, 3)
    with open_visit(browser, server, case_name(request), locale="en-GB") as visit:
        visit.login("lo-idn", "/sitrep")
        page = visit.page
        # By default the UTC day before the moment the server made the page: past midnight
        # since `day` was taken, the day after it (and a report without the incidents filed).
        heading = page.get_by_role("heading", name=re.compile(r"^SITREP \d{4}-\d\d-\d\d$"), level=1)
        expect(heading).to_be_visible()
        shown = dt.date.fromisoformat(heading.inner_text().removeprefix("SITREP "))
        assert day <= shown <= yesterday()
        visit.goto(f"/sitrep?date={day.isoformat()}")  # the incidents' day, at any moment
        expect(
            page.get_by_role("heading", name=f"SITREP {day.isoformat()}", level=1)
        ).to_be_visible()
        expect(page.get_by_role("img", name="Map of the period")).to_be_visible()
        expect(page.get_by_role("img", name="Incidents by type")).to_be_visible()
        figure = page.locator('[data-figure="incidents"]')
        assert int(figure.inner_text()) >= 3
        expect(page.get_by_role("link", name="SITREP")).to_have_attribute("aria-current", "page")
        visit.shot("sitrep")

        with page.expect_download() as download:
            page.locator("#download-pdf").click()
        assert download.value.suggested_filename == f"sitrep-{day.isoformat()}-IDN.pdf"
        pdf = tmp_path / "sitrep.pdf"
        download.value.save_as(pdf)
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert f"SITREP {day.isoformat()}" in text
        assert re.search(rf"Incidents total: {figure.inner_text()}\.", text)

        page.reload()  # the issued report is in the archive
        archive = page.get_by_role("table", name="The latest reports issued to your organization")
        expect(archive.get_by_role("link", name=day.isoformat())).to_be_visible()

        earlier = day - dt.timedelta(days=400)
        page.get_by_label("Day reported on (UTC)").fill(earlier.isoformat())
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(r"date=" + earlier.isoformat()))
        expect(
            page.get_by_role("heading", name=f"SITREP {earlier.isoformat()}", level=1)
        ).to_be_visible()
        expect(page.locator('[data-figure="incidents"]')).to_have_text("0")


@pytest.mark.parametrize("user", ["staff", "lo-idn", "donor-gbr"])
def test_sitrep_page_fits_a_phone(
    browser: Browser, server: str, request: pytest.FixtureRequest, user: str
) -> None:
    with open_visit(browser, server, case_name(request), **PHONE, locale="en-GB") as visit:
        visit.login(user, "/sitrep")
        page = visit.page
        page.wait_for_load_state("load")
        expect(page.get_by_role("img", name="Map of the period")).to_be_visible()
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 360, f"/sitrep is {wide} px wide: {page.evaluate(OVERFLOW)}"
        visit.shot("sitrep-phone")
