"""Every page: a name on every control, text contrast at WCAG AA (a wall screen must read), one
main heading, and a keyboard path: the first Tab reaches "Skip to content", which moves the
focus to the page's content."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.browser.conftest import Visit, open_visit
from tests.command_fixtures import Force

CHECKS = (Path(__file__).parent / "a11y.js").read_text()
PAGES = (
    *("/map", "/incidents", "/incidents/1", "/alerts", "/forces", "/funding", "/recovery"),
    *("/sitrep", "/orbat", "/units/{bn}", "/tasks", "/notifications"),
)


def _problems(page: Page) -> list[str]:
    result: list[str] = page.evaluate(CHECKS)
    return result


def test_every_page_is_usable_by_keyboard_and_readable(visit: Visit, force: Force) -> None:
    visit.login("staff", "/map")
    page = visit.page
    for path in (p.format(bn=force.units["IDN 1 INF"]) for p in PAGES):
        visit.goto(path)
        page.wait_for_load_state("load")
        assert page.locator("h1").count() == 1, path
        assert _problems(page) == [], path
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content", path
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main", path


def test_the_login_and_the_public_pages_are_readable(browser: Browser, server: str) -> None:
    with open_visit(browser, server, "public-pages") as visit:
        for path in ("/login", "/public/tips"):
            visit.goto(path)
            assert _problems(visit.page) == [], path


def test_the_checks_find_what_they_look_for(browser: Browser) -> None:
    page = browser.new_page()
    page.set_content(
        '<p style="color:#999">faint</p><p style="color:#595959">dark enough</p>'
        '<label for="a">A</label><input id="a"><input id="b">'
    )
    problems = _problems(page)
    page.close()
    assert len(problems) == 2, problems
    assert problems[0].startswith('no label: <input id="b"')
    assert problems[1].startswith("contrast 2.85: faint")
