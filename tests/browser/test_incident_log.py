"""Staff files an incident through the log's form, then verifies it on its page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import Visit


def test_staff_files_and_verifies_an_incident(visit: Visit) -> None:
    page = visit.page
    visit.login("staff", "/incidents")
    log = page.locator("#incident-log")
    scenario = page.request.get(visit.base + "/api/v1/incidents").json()
    expect(log.locator("tbody tr")).to_have_count(scenario["count"])
    public = next(r for r in scenario["data"] if r["external_ref"] == "gaza-2025-illustrative-4")
    row = log.locator(f'tr[data-id="{public["id"]}"]')
    expect(row).to_contain_text(f"INC-{public['id']}")  # its readable reference, not a code
    expect(row).to_contain_text("PUBLIC")
    visit.shot("incident-log")

    form = page.locator("form[data-api='/api/v1/incidents']")
    form.get_by_label("Type").select_option("explosive_ordnance_found")
    form.get_by_label("Occurred at").fill("2026-03-07T10:30")
    form.get_by_label("Longitude").fill("34.3045")
    form.get_by_label("Latitude").fill("31.3441")
    form.get_by_label("Severity").select_option("3")
    form.get_by_label("Injured, civilian").fill("2")
    form.get_by_label("Narrative").fill("Unexploded shell found by a search team in rubble.")
    form.get_by_label("Source reliability").select_option("B")
    form.get_by_label("Information credibility").select_option("2")
    form.get_by_label("Marking").select_option("rel")
    form.get_by_label("Release to").fill("GBR, IDN")
    form.get_by_role("button", name="File the incident").click()

    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    incident_id = int(page.url.rsplit("/", 1)[1])
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Explosive ordnance found")
    expect(heading).to_contain_text("REL TO GBR, IDN")
    record = page.locator("#incident-record")
    expect(record).to_contain_text("2 civilian, 0 other")
    expect(page.locator("#verification-status")).to_have_text("Reported")
    stored = page.request.get(f"{visit.base}/api/v1/incidents/{incident_id}").json()
    assert stored["severity"] == 3 and stored["injured_civilian"] == 2
    assert stored["source_reliability"] == "B" and stored["info_credibility"] == 2
    assert stored["releasability"] == "rel:GBR,IDN"
    assert stored["geometry"]["coordinates"] == [34.3045, 31.3441]

    verify = page.locator("#verify-form")
    verify.get_by_label("Next status").select_option("under_verification")
    verify.get_by_label("Note").fill("EOD team tasked to confirm the item.")
    verify.get_by_role("button", name="Record the step").click()
    expect(page.locator("#verification-status")).to_have_text("Under verification")

    verify.get_by_label("Next status").select_option("verified")
    verify.get_by_label("Note").fill("Item confirmed and destroyed in place.")
    verify.get_by_label("Attribution").fill("undetermined")
    verify.get_by_label("Finding").fill("A 155 mm shell was present and has been destroyed.")
    verify.get_by_role("button", name="Record the step").click()
    expect(page.locator("#verification-status")).to_have_text("Verified")

    history = page.locator("#verification-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("Reported")
    expect(history.nth(0)).to_contain_text("EOD team tasked to confirm the item.")
    expect(history.nth(1)).to_contain_text("Under verification")
    expect(history.nth(1)).to_contain_text("Verified")
    expect(history.nth(1)).to_contain_text("staff@CMCC")
    expect(record).to_contain_text("A 155 mm shell was present")
    expect(heading).to_contain_text("REL TO GBR, IDN")  # the verification kept the release list
    steps = page.request.get(f"{visit.base}/api/v1/incidents/{incident_id}/verification").json()
    assert [(s["from_status"], s["to_status"]) for s in steps] == [
        ("reported", "under_verification"),
        ("under_verification", "verified"),
    ]
    visit.shot("incident-detail")
