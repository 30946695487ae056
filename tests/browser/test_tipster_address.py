"""The tipster's address is kept nowhere. Chromium sends the tip page's every request (the page,
its icon, the challenges, the posts) with `X-Forwarded-For`, `Forwarded` and `X-Real-IP`
naming a distinctive address, as a reverse proxy on the same machine would; the tip is sent
and followed with its claim code; then the server's output, every file under its home folder
and the database are searched for that address, and the log for the loopback address the
browser really came from."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from cmcc.bootstrap import Platform
from tests.browser.conftest import case_name, open_visit
from tests.serving import served
from tests.traces import database_bytes, home_files

ADDRESS = "203.0.113.99"  # TEST-NET-3: no real host
LOOPBACK = ("127.0.0.1", "::1")
PROXIED = {
    "X-Forwarded-For": ADDRESS,
    "Forwarded": f'for="{ADDRESS}:4711";proto=https',
    "X-Real-IP": ADDRESS,
}
SAID = "ذخيرة غير منفجرة قرب السوق / unexploded shell near the market"


def test_no_address_from_the_tip_page(
    browser: Browser, scenario: Platform, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    refused: list[str] = []
    with (
        served(scenario, tmp_path) as (base, log),
        open_visit(
            browser, base, case_name(request), locale="ar", extra_http_headers=PROXIED
        ) as visit,
    ):
        page = visit.page
        page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
        visit.goto("/public/tips")
        href = page.evaluate("document.querySelector('link[rel=icon]')?.getAttribute('href')")
        # browsers that ignore the link, and crawlers, ask for /favicon.ico anyway
        favicon = page.evaluate("fetch('/favicon.ico').then(r => r.status)")

        page.locator("#place").fill("سوق جباليا / Jabalia market")
        page.locator("#text").fill(SAID)
        page.locator("form[data-pow] button[type=submit]").first.click()
        expect(page.locator(".code")).to_be_visible(timeout=60_000)
        code = page.locator(".code").inner_text()
        visit.shot("claim-code")

        visit.goto("/public/tips")
        page.locator("#code").fill(code)
        page.locator("#code").press("Enter")
        expect(page.locator("h1")).to_contain_text("received", timeout=60_000)
    output = log.read_bytes()  # the server has stopped: its output is complete
    assert b"Application startup complete" in output
    stored = database_bytes(scenario)
    assert SAID.encode() in stored  # the search reads what the tip stored
    kept = {str(path): data for path, data in home_files(tmp_path).items()}
    kept["the database"] = stored
    for where, data in kept.items():
        assert ADDRESS.encode() not in data, f"the tipster's address is in {where}"
    for own in LOOPBACK:
        assert own.encode() not in output, f"the browser's own address {own} is in the log"

    # the page declares its icon, so the browser need not guess; the icon is within its CSP
    assert href is not None, "the tip page declares no icon"
    assert any(url == base + href for url in visit.requests), visit.requests
    assert favicon == 200
    assert not refused, refused
