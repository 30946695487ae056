"""The public tip page in Chromium on a small phone screen over a slow link: Arabic first and
right to left, under 200 KB, the proof of work done by the page's own script (with
crypto.subtle, and with the page's fallback SHA-256 where the browser offers none), a tip sent
in Arabic, and its status read back with the claim code."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import PHONE, case_name, open_visit

NO_SUBTLE = "Object.defineProperty(window.crypto, 'subtle', {value: undefined});"
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 50_000,
    "uploadThroughput": 20_000,
}


@pytest.mark.parametrize("hashing", ["subtle", "fallback"])
def test_tip_in_arabic_on_a_phone(
    browser: Browser, server: str, request: pytest.FixtureRequest, hashing: str
) -> None:
    with open_visit(browser, server, case_name(request), **PHONE, locale="ar") as visit:
        page = visit.page
        if hashing == "fallback":
            page.add_init_script(NO_SUBTLE)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        visit.goto("/public/tips")
        page.wait_for_load_state("load")
        sizes = page.evaluate(
            """[...performance.getEntriesByType('navigation'),
                ...performance.getEntriesByType('resource')].map(e => e.decodedBodySize)"""
        )
        assert 0 < sum(sizes) < 200_000, sizes  # every byte of the page, uncompressed

        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.locator("html").get_attribute("lang") == "ar"
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        heading = page.locator("h1").inner_text()
        assert re.match(r"^[\u0600-\u06FF]", heading), heading  # Arabic first
        assert "Report remains" in heading  # English alongside
        assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
        expect(page.locator("#needs-js")).to_be_hidden()
        visit.shot("tip-form")

        box = page.locator("form[data-pow] svg").first.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.45)
        expect(page.locator("#where")).not_to_be_empty()
        # The photo picker speaks the page's languages; the native input is hidden behind it.
        picker = page.locator("label.pick")
        expect(picker).to_contain_text("اختر صورة")
        expect(picker).to_contain_text("Choose a photo")
        page.locator("#photo").set_input_files(
            {"name": "ruins.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n"}
        )
        expect(page.locator("#photo-chosen")).to_have_text("ruins.png")
        expect(page.locator("#photo-none")).to_be_hidden()
        page.locator("#photo").set_input_files([])  # sent without a photo after all
        expect(page.locator("#photo-none")).to_be_visible()
        # "Send the tip" is the one main button; "Clear the place" is secondary.
        colour = "el => getComputedStyle(el).backgroundColor"
        send = page.locator("form[data-pow] button[type=submit]").first.evaluate(colour)
        assert page.locator("#clear").evaluate(colour) != send
        assert page.locator("#clear").evaluate(colour) == "rgb(255, 255, 255)"
        page.locator("#text").fill("رأيت ذخيرة غير منفجرة قرب المدرسة، تحت الركام")
        page.locator("form[data-pow] button[type=submit]").first.click()
        expect(page.locator(".code")).to_be_visible(timeout=60_000)
        code = page.locator(".code").inner_text()
        assert re.fullmatch(r"\d{4}( \d{4}){4}", code), code
        expect(page.locator(".said").first).to_have_text(
            "رأيت ذخيرة غير منفجرة قرب المدرسة، تحت الركام"
        )
        visit.shot("claim-code")

        visit.goto("/public/tips")
        page.locator("#code").fill(code)
        page.locator("#code").press("Enter")
        expect(page.locator("h1")).to_contain_text("received", timeout=60_000)
        visit.shot("tip-status")
        assert page.context.cookies() == []  # the public pages never set a cookie
