"""The TAK devices page in Chromium, with the gaza-2025 scenario and a CA: a liaison officer of
Indonesia downloads the connection package, sees the iTAK QR code, makes a package with a
certificate for the contingent's device and opens its PKCS#12 with the password the page
shows once; on a 360-pixel phone the page never scrolls sideways."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from playwright.sync_api import Browser, expect

from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.cot import devices
from tests.browser.conftest import PHONE, case_name, open_visit
from tests.serving import served
from tests.tak_fixtures import with_ca

CHECKS = (Path(__file__).parent / "a11y.js").read_text()
OVERFLOW = """() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1
    && !el.closest(".table-wrap"))
  .slice(0, 5).map((el) => el.tagName + (el.id ? "#" + el.id : ""))"""


@pytest.fixture
def tak_server(scenario: Platform, tmp_path: Path) -> Iterator[str]:
    with_ca(scenario, tmp_path)
    with operator_session(scenario, write=True, actor="system:test") as session:
        devices.register(session, "ANDROID-garuda-7", "IDN", callsign="GARUDA-7")
        devices.register(session, "ANDROID-eagle-1", "USA", callsign="EAGLE-1")
    # The enrollment port as set (nothing listens: the gateway is off in these tests).
    with served(scenario, tmp_path, extra_env={"CMCC_TAK_ENROLL_PORT": "8446"}) as (base, _log):
        yield base


def test_an_officer_gets_a_device_on(
    browser: Browser, tak_server: str, request: pytest.FixtureRequest
) -> None:
    with open_visit(
        browser, tak_server, case_name(request), locale="en-GB", accept_downloads=True
    ) as visit:
        visit.login("lo-idn", "/tak")
        page = visit.page
        expect(page.get_by_role("heading", name="TAK devices", level=1)).to_be_visible()
        expect(page.locator("nav").get_by_role("link", name="TAK devices")).to_have_attribute(
            "aria-current", "page"
        )
        devices_table = page.locator("#tak-devices")
        expect(devices_table).to_contain_text("ANDROID-garuda-7")
        expect(devices_table).not_to_contain_text("ANDROID-eagle-1")  # another nation's
        qr = page.get_by_role("img", name="QR code for iTAK: CMCC,localhost,8089,SSL")
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
        assert page.locator("h1").count() == 1
        assert page.evaluate(CHECKS) == []  # labels and contrast (tests/browser/a11y.js)
        visit.shot("desktop")

        with page.expect_download() as got:
            page.get_by_role("link", name="Download the connection package").click()
        plain = zipfile.ZipFile(io.BytesIO(Path(got.value.path()).read_bytes()))
        assert b"enrollForCertificateWithTrust0" in plain.read("certs/config.pref")

        page.get_by_role("button", name="Make package for ANDROID-garuda-7").click()
        expect(
            page.get_by_role("heading", name="Package with a certificate for ANDROID-garuda-7")
        ).to_be_visible()
        password = page.locator("#made-password").inner_text().strip()
        visit.shot("package-made")
        with page.expect_download() as got:
            page.locator("#made-download").click()
        assert got.value.suggested_filename.endswith("ANDROID-garuda-7.zip")
        archive = zipfile.ZipFile(io.BytesIO(Path(got.value.path()).read_bytes()))
        key, cert, _cas = pkcs12.load_key_and_certificates(
            archive.read("certs/ANDROID-garuda-7.p12"), password.encode()
        )
        assert key is not None and cert is not None

        visit.goto("/tak")  # the password is shown once, on the page that made the package
        expect(page.locator("#made-password")).to_have_count(0)


def test_the_page_fits_a_phone(
    browser: Browser, tak_server: str, request: pytest.FixtureRequest
) -> None:
    with open_visit(browser, tak_server, case_name(request), locale="en-GB", **PHONE) as visit:
        visit.login("lo-idn", "/tak")
        page = visit.page
        expect(
            page.get_by_role("img", name="QR code for iTAK: CMCC,localhost,8089,SSL")
        ).to_be_visible()
        page.get_by_role("button", name="Make package for ANDROID-garuda-7").click()
        expect(page.locator("#made-password")).to_be_visible()
        assert page.evaluate(CHECKS) == []
        assert page.evaluate(OVERFLOW) == []
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        visit.shot("phone")
