"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium, installed by
`make test`; never a browser download) against `cmcc serve` with the gaza-2025 scenario, on
each backend. Every page records the hosts it asked for: a request to any host but the server
fails the test. A screenshot of each page visited is kept in test-artifacts/screenshots/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from cmcc.access.domain import Role
from cmcc.access.service import add_user
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from tests.command_fixtures import Force, build_force
from tests.serving import served


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


expect.set_options(timeout=15_000)  # a shared 2-core machine: waits, never timing assertions

CHROMIUM = os.environ.get("CMCC_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct-horse-battery-7"
PHONE: dict[str, Any] = {  # a small phone: 360 CSS pixels wide
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
USERS = {
    "staff": ("CMCC", Role.STAFF_OFFICER),
    "lo-idn": ("IDN", Role.LIAISON_OFFICER),
    "donor-gbr": ("GBR", Role.DONOR),
    "tips": ("CMCC", Role.TIP_OFFICER),
    "mine": ("UNMAS", Role.MINE_ACTION_OFFICER),
    "funding": ("CMCC", Role.FUNDING_OFFICER),
}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def scenario(gaza: Platform) -> Platform:
    """The platform with the gaza-2025 scenario and one user per role the tests need."""
    with operator_session(gaza, write=True, actor="system:test") as session:
        for name, (org, role) in USERS.items():
            add_user(session, name, org, role, PASSWORD)
    return gaza


@pytest.fixture
def server(scenario: Platform, tmp_path: Path) -> Iterator[str]:
    with served(scenario, tmp_path) as (base, _log):
        yield base


@dataclass
class Visit:
    """A browser tab on the server, with every request it made."""

    page: Page
    base: str
    name: str
    requests: list[str] = field(default_factory=list)
    shots: int = 0

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def login(self, user: str, next_path: str = "/map") -> None:
        self.goto(f"/login?next={next_path}")
        self.page.get_by_label("User name").fill(user)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(re.compile(re.escape(self.base + next_path.split("?")[0])))

    def shot(self, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def foreign_requests(self) -> list[str]:
        own = urlsplit(self.base).netloc
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme in ("http", "https", "ws", "wss")
            and urlsplit(url).netloc != own
        ]


@contextmanager
def open_visit(browser: Browser, base: str, name: str, **options: Any) -> Iterator[Visit]:
    """A new browser context on the server; fails if any request left for another host."""
    context = browser.new_context(**{"viewport": {"width": 1366, "height": 900}, **options})
    page = context.new_page()
    v = Visit(page, base, name)
    page.on("request", lambda r: v.requests.append(r.url))
    page.set_default_timeout(15_000)
    yield v
    context.close()
    assert v.requests, "the page made no request at all"
    assert v.foreign_requests() == [], "requests left for another host"


def case_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")


@pytest.fixture
def visit(browser: Browser, server: str, request: pytest.FixtureRequest) -> Iterator[Visit]:
    with open_visit(browser, server, case_name(request), locale="en-GB") as v:
        yield v


@pytest.fixture
def force(scenario: Platform) -> Force:
    """A small ORBAT beside the scenario (tests/command_fixtures.py): headquarters, contingents,
    battalions and companies with places, relationships, tasks, reports and a tracked device."""
    return build_force(scenario)
