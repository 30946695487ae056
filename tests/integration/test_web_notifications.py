"""The notification pages, on both backends, show each visitor what the API releases to them: the
partner its own notifications with their contact, a party's liaison cell what was shared with it
and never a contact, advisories named or counted as the visitor may see their records, the
centre's and the partner's actions to those who may take them; and no word of a page says a
notification is approved or denied."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from lxml import html

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from tests.factories import Caller, caller
from tests.humanitarian_fixtures import (
    Cast,
    movement_body,
    notify,
    ok,
    site_body,
    square,
    step,
)


def page(client: TestClient, who: Caller, path: str, status: int = 200) -> Any:
    client.cookies.set("cmcc_session", who.token)
    try:
        answer = client.get(path, follow_redirects=False)
    finally:
        client.cookies.clear()
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    return html.fromstring(answer.text)


def text(doc: Any, xpath: str) -> str:
    return " ".join(" ".join(e.itertext()) for e in doc.xpath(xpath))


def lineages(doc: Any) -> list[int]:
    """The notifications the list shows, by lineage."""
    return [int(x) for x in doc.xpath("//table[@id='notifications']/tbody/tr/@data-lineage")]


def has(doc: Any, element_id: str) -> bool:
    return bool(doc.xpath(f"//*[@id='{element_id}']"))


def test_partner_and_party_liaison_see_what_is_released_to_them(
    platform: Platform, client: TestClient
) -> None:
    cast = Cast(platform)
    site = notify(client, cast.partner, site_body())
    movement = notify(client, cast.partner, movement_body())
    other = notify(client, cast.other, site_body(title="MSF clinic"))
    site = step(client, cast.centre, site, "shared", audiences=["force", "COGAT"])

    # The partner: its own two, with their contact and its actions; not the other partner's.
    listed = page(client, cast.partner, "/notifications")
    assert sorted(lineages(listed)) == sorted([site["lineage"], movement["lineage"]])
    assert "Short notice" not in text(listed, "//table[@id='notifications']")  # 72 h ahead
    doc = page(client, cast.partner, f"/notifications/{site['lineage']}")
    assert "Omar Nasser" in text(doc, "//*[@id='notification-contact']")
    assert has(doc, "step-withdrawn") and has(doc, "step-completed")
    assert not has(doc, "step-acknowledged") and not has(doc, "step-shared")
    assert "COGAT" in text(doc, "//*[@id='shared-with']")
    page(client, cast.partner, f"/notifications/{other['lineage']}", 404)
    page(client, cast.partner, f"/notifications/{movement['lineage']}/edit")
    page(client, cast.partner, "/notifications/new")

    # The party's liaison cell: the shared site only, without its contact, and no action.
    listed = page(client, cast.liaison, "/notifications")
    assert lineages(listed) == [site["lineage"]]
    doc = page(client, cast.liaison, f"/notifications/{site['lineage']}")
    assert "Deir al-Balah field clinic" in text(doc, "//h1")
    assert not has(doc, "notification-contact")
    assert "Omar Nasser" not in html.tostring(doc, encoding="unicode")
    assert not doc.xpath("//*[contains(@class, 'step-form')]")
    page(client, cast.liaison, f"/notifications/{movement['lineage']}", 404)
    page(client, cast.liaison, "/notifications/new", 403)
    page(client, cast.liaison, f"/notifications/{site['lineage']}/edit", 403)

    # The centre: every notification, each contact, its own steps (and no partner's).
    doc = page(client, cast.centre, f"/notifications/{movement['lineage']}")
    assert "Amal Haddad" in text(doc, "//*[@id='notification-contact']")
    assert has(doc, "step-acknowledged") and has(doc, "step-shared")
    assert not has(doc, "step-withdrawn")
    cells = doc.xpath("//*[@id='step-shared']//input[@name='audiences']/@value")
    assert cells == ["force", "COGAT"]  # the force and each party's liaison cell
    listed = page(client, cast.centre, "/notifications?kind=movement")
    assert lineages(listed) == [movement["lineage"]]
    listed = page(client, cast.centre, "/notifications?status=shared")
    assert lineages(listed) == [site["lineage"]]
    refused = page(client, cast.centre, "/notifications?status=approved", 400)
    assert "not one of the choices" in text(refused, "//*[@class='form-error']")


def test_advisories_named_or_counted_beside_the_notification(
    platform: Platform, client: TestClient
) -> None:
    cast = Cast(platform)
    unmas = caller(platform, "UNMAS", Role.MINE_ACTION_OFFICER)
    hazard = {
        "name": "Bani Suheila crossroads",
        "classification": "cha",
        "device_category": "aircraft_bomb",
        "geometry": square(34.30, 31.30),
        "releasability": "owner",  # UNMAS's only: the partner may not see it
    }
    ok(client.post("/api/v1/hazards", headers=unmas.headers, json=hazard))
    n = notify(client, cast.partner, movement_body())
    path = f"/notifications/{n['lineage']}"
    doc = page(client, cast.partner, path)
    withheld = text(doc, "//*[@id='withheld']")
    assert "1 advisory on records you may not see" in withheld
    assert "open explosive hazard" in withheld and "ask the centre" in withheld
    assert "Bani Suheila" not in html.tostring(doc, encoding="unicode")
    listed = page(client, cast.partner, "/notifications")
    count = f"//tr[@data-lineage='{n['lineage']}']//a[@class='advisory-count']"
    assert text(listed, count) == "1"
    # UNMAS's mine action officer may see its own hazard, not the notification (404); the
    # centre sees the notification, but not UNMAS's hazard either: counted.
    page(client, unmas, path, 404)
    assert "1 advisory" in text(page(client, cast.centre, path), "//*[@id='withheld']")
    # A restricted area the centre draws for the mission: named to the partner, with its words.
    zone = {
        "name": "Closed military area",
        "kind": "restricted_area",
        "geometry": square(34.32, 31.34, 0.002),
    }
    ok(client.post("/api/v1/zones", headers=cast.centre.headers, json=zone))
    doc = page(client, cast.partner, path)
    named = [" ".join(li.itertext()) for li in doc.xpath("//li[@data-kind]")]
    assert len(named) == 1 and "Closed military area" in named[0]
    assert "on the route" in named[0]


def test_map_layers_for_the_users_of_notifications_and_no_word_of_approval(
    platform: Platform, client: TestClient
) -> None:
    cast = Cast(platform)
    donor = caller(platform, "GBR", Role.DONOR)
    n = notify(client, cast.partner, movement_body())
    for who, shown in ((cast.partner, True), (cast.liaison, True), (donor, False)):
        doc = page(client, who, "/map")
        layers = set(doc.xpath("//input/@data-layer"))
        assert ({"sites", "movements"} <= layers) is shown
        nav = doc.xpath("//nav//a/@href")
        assert ("/notifications" in nav) is shown
    paths = ["/notifications", f"/notifications/{n['lineage']}", "/notifications/new"]
    for path in paths:
        words = text(page(client, cast.partner, path), "//main").lower()
        assert not re.search(r"approv|denied|denial|permission", words), path
    for path in paths[:2]:
        words = text(page(client, cast.centre, path), "//main").lower()
        assert not re.search(r"approv|denied|denial|permission", words), path
