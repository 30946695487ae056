"""Every staff page on a 360-pixel phone screen, as the users who open it: the page never scrolls
sideways (wide tables scroll inside their own box), and the navigation fits. The command pages
are read with the small force of tests/command_fixtures.py."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import PHONE, case_name, open_visit
from tests.command_fixtures import Force

# Each user with the pages of their role (the recovery board shows each role other panels).
PAGES = {
    "staff": (
        "/map",
        "/incidents",
        "/incidents/1",
        "/alerts",
        "/forces",
        "/funding",
        "/aid-flow",
        "/recovery",
        "/orbat",
        "/units/{bn}",
        "/tasks",
        "/notifications",
    ),
    "lo-idn": (
        *("/map", "/incidents", "/alerts", "/forces", "/orbat", "/units/{bn}", "/tasks"),
        "/notifications",
    ),
    "donor-gbr": ("/funding", "/aid-flow"),
    "tips": ("/recovery",),
    "mine": ("/recovery",),
}
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 1
      && !el.closest(".table-wrap, .leaflet-container"))
    .slice(0, 5).map((el) => el.tagName + (el.id ? "#" + el.id : "") + " "
      + Math.round(el.getBoundingClientRect().right));
}"""


@pytest.mark.parametrize("user", list(PAGES))
def test_staff_pages_fit_a_phone(
    browser: Browser, server: str, request: pytest.FixtureRequest, user: str, force: Force
) -> None:
    with open_visit(browser, server, case_name(request), **PHONE, locale="en-GB") as visit:
        page = visit.page
        first = PAGES[user][0]
        visit.login(user, first)
        for path in (p.format(bn=force.units["IDN 1 INF"]) for p in PAGES[user]):
            if path != first:
                visit.goto(path)
            page.wait_for_load_state("load")
            if path == "/map":
                page.wait_for_selector("body[data-map-ready=true]")
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 360, f"{path} is {wide} px wide: {page.evaluate(OVERFLOW)}"
            nav = page.locator("header.top").bounding_box()
            assert nav is not None and nav["x"] + nav["width"] <= 360, path
            visit.shot(path.strip("/").replace("/", "-") or "home")
