"""The command pages (the ORBAT tree, a unit's page, the tasking board) and the map's units, read
with the browser's session cookie on both backends: each shows only what is released to the
visitor (a unit released to Indonesia only is absent from another nation's tree, its totals,
the board's counts and the map, and its page is a 404), and the forms post what the API takes."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from cmcc.access.domain import Role
from cmcc.api.session import SESSION_COOKIE
from cmcc.bootstrap import Platform
from tests.command_fixtures import Force, build_force
from tests.factories import Caller, caller
from tests.integration.test_web_pages import CSRF, page

NODE = re.compile(r'<span class="node" data-lineage="(\d+)"')
CARD = re.compile(r'<li class="task-card[^"]*" data-id="(\d+)">')


def setup(platform: Platform) -> tuple[Force, Caller, Caller, Caller]:
    force = build_force(platform)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    mar = caller(platform, "MAR", Role.LIAISON_OFFICER)
    return force, staff, idn, mar


def depth(html: str, lineage: int) -> int:
    """How deep a node stands in the tree: the lists open around it."""
    before = html[: html.index(f'<span class="node" data-lineage="{lineage}"')]
    return before.count("<ul") - before.count("</ul>")


def tree_lineages(client: TestClient, who: Caller, params: Any = None) -> list[int]:
    status, html = page(client, who, "/orbat", params)
    assert status == 200, html
    return [int(n) for n in NODE.findall(html)]


def board(client: TestClient, who: Caller, params: Any = None) -> tuple[dict[str, int], str]:
    status, html = page(client, who, "/tasks", params)
    assert status == 200, html
    counts = re.findall(
        r'<h2 id="h-(\w+)">[^<]*<span class="count muted">(\d+)</span>', html, flags=re.S
    )
    return {k: int(n) for k, n in counts}, html


def test_orbat_tree_shows_only_released_units_and_their_totals(
    platform: Platform, client: TestClient
) -> None:
    f, staff, idn, mar = setup(platform)
    hidden = f.units["IDN INT"]
    everyone = set(f.units.values())
    assert set(tree_lineages(client, idn)) == everyone
    for who in (staff, mar):
        assert set(tree_lineages(client, who)) == everyone - {hidden}
        _, html = page(client, who, "/orbat")
        assert "Indonesian liaison cell" not in html and "IDN INT" not in html
        # The contingent's totals leave the hidden platoon out (28 / 30 / 30).
        assert "1,329 / 1,395 / 1,430" in html and "1,363 / 1,431 / 1,466" not in html
        # The detachment under the hidden cell is a root of its own, its parent not named.
        assert depth(html, f.units["IDN DET"]) == depth(html, f.units["ISF HQ"]) == 1
        _, page_html = page(client, who, f"/units/{f.units['IDN DET']}")
        record = page_html[page_html.index('id="unit-record"') : page_html.index("</dl>")]
        assert "Under (ORBAT)</dt><dd>—</dd>" in record and "not released" not in page_html
    _, html = page(client, idn, "/orbat")
    assert "1,363 / 1,431 / 1,466" in html and "Indonesian liaison cell" in html
    # Each node carries its symbol code, and branches are details/summary (collapsible).
    assert 'data-sidc="SFGPUCI----F---"' in html
    assert html.count("<details") == html.count("</details>") >= 4


def test_orbat_as_of_two_dates(platform: Platform, client: TestClient) -> None:
    f, staff, _idn, _mar = setup(platform)
    assert tree_lineages(client, staff, {"as_of": "2026-02-28"}) == []
    sector = f.units["SEC RAFAH"]
    unit = client.get(f"/api/v1/units/{sector}", headers=staff.headers).json()
    r = client.post(
        f"/api/v1/units/{sector}/versions",
        headers=staff.headers,
        json={
            "version": unit["version"],
            "valid_from": "2026-04-01T00:00:00Z",
            "name": "Sector South headquarters",
        },
    )
    assert r.status_code == 201, r.text
    _, march = page(client, staff, "/orbat", {"as_of": "2026-03-15"})
    _, april = page(client, staff, "/orbat", {"as_of": "2026-04-02"})
    assert "Sector Rafah headquarters" in march and "Sector South headquarters" not in march
    assert "Sector South headquarters" in april and "Sector Rafah headquarters" not in april
    assert 'value="2026-03-15"' in march
    status, html = page(client, staff, "/orbat", {"as_of": "1 March"})
    assert status == 400 and "query.as_of" in html
    # The unit page keeps both versions in its history.
    _, html = page(client, staff, f"/units/{sector}")
    history = html[html.index('id="unit-history"') :]
    assert "Sector Rafah headquarters" in history and "Sector South headquarters" in history


def test_unit_page(platform: Platform, client: TestClient) -> None:
    f, staff, idn, mar = setup(platform)
    bn = f.units["IDN 1 INF"]
    status, html = page(client, staff, f"/units/{bn}")
    assert status == 200
    assert "1st Indonesian Infantry Battalion" in html and "742 / 780 / 800" in html
    rels = html[html.index('id="relationships"') : html.index('id="tasks-heading"')]
    assert "OPCON (operational control)" in rels and "Effective" in rels
    assert "ADCON (administrative control)" in rels and "Agreed" in rels
    tasks = html[html.index('id="unit-tasks"') : html.index('id="reports-heading"')]
    assert "Refused by the nation" in tasks
    assert "national caveat: no offensive operations" in tasks
    assert "4 tasks" in tasks
    reports = html[html.index('id="unit-reports"') : html.index('id="devices-heading"')]
    assert "Present 742" in reports and "Water 3.5 d" in reports
    devices = html[html.index('id="unit-devices"') : html.index('id="history-heading"')]
    assert "GARUDA 1" in devices and "GARUDA 2" not in devices  # GARUDA 2: IDN only
    position = html[html.index('id="unit-position"') :]
    assert "31.29330 N, 34.26110 E" in position and "GARUDA 1" in position
    assert 'id="unit-map" data-places=' in html  # its place and its latest position
    _, html = page(client, idn, f"/units/{bn}")
    assert "GARUDA 2" in html[html.index('id="unit-devices"') :]

    hidden = f.units["IDN INT"]
    for who in (staff, mar):
        status, html = page(client, who, f"/units/{hidden}")
        assert status == 404 and "Unit not found" in html and "liaison cell" not in html
        assert client.get(f"/api/v1/units/{hidden}", headers=who.headers).status_code == 404
    for bad in (0, 9 * 10**18):
        status, html = page(client, staff, f"/units/{bad}")
        assert status == 404 and "Unit not found" in html
    status, html = page(client, idn, f"/units/{hidden}")
    assert status == 200 and "Indonesian liaison cell" in html and "OWNER" in html
    # A relationship naming the hidden unit is not on the headquarters' page for others.
    _, html = page(client, staff, f"/units/{f.units['SEC RAFAH']}")
    rels = html[html.index('id="relationships"') : html.index('id="tasks-heading"')]
    assert "National command only" not in rels and "OPCON" in rels
    _, html = page(client, idn, f"/units/{f.units['SEC RAFAH']}")
    assert "National command only" in html


def test_tasking_board(platform: Platform, client: TestClient) -> None:
    f, staff, idn, _mar = setup(platform)
    counts, html = board(client, staff)
    assert counts == {
        "issued": 1,
        "acknowledged": 0,  # the hidden unit's task is in no count
        "in_progress": 1,
        "complete": 1,
        "refused_by_nation": 1,
        "cancelled": 0,
    }
    assert "Liaise with the Rafah municipality" not in html
    refused = html[html.index('id="col-refused_by_nation"') : html.index('id="col-cancelled"')]
    assert "national caveat: no offensive operations" in refused
    idn_counts, html = board(client, idn)
    assert idn_counts["acknowledged"] == 1 and "Liaise with the Rafah municipality" in html
    # Filters: unit, issuing headquarters, a day the window overlaps.
    counts, _ = board(client, idn, {"unit": f.units["IDN INT"]})
    assert sum(counts.values()) == 1
    counts, _ = board(client, staff, {"issuer": f.units["ISF HQ"]})
    assert sum(counts.values()) == 0
    counts, _ = board(client, staff, {"day": "2026-02-28"})
    assert counts["complete"] == 1 and sum(counts.values()) == 1
    status, html = page(client, staff, "/tasks", {"day": "tomorrow"})
    assert status == 400 and "query.day" in html
    for bad in ("x", "-1", "9" * 19):
        status, html = page(client, staff, "/tasks", {"unit": bad})
        assert status == 400 and "query.unit" in html


def _choices(html: str, task_id: int) -> list[str]:
    card = html[html.index(f'data-id="{task_id}">') :]
    card = card[: card.index("</li>")]
    return re.findall(r'<option value="(\w+)">', card)


def test_board_forms_follow_who_may_do_what(platform: Platform, client: TestClient) -> None:
    f, staff, idn, mar = setup(platform)
    issued = f.tasks["patrol"]
    _, html = board(client, staff)
    assert 'id="issue-form"' in html
    assert _choices(html, issued) == ["acknowledged", "in_progress", "cancelled"]
    assert _choices(html, f.tasks["checkpoint"]) == []  # complete: final
    _, html = board(client, idn)  # the unit's own nation: may refuse, never cancel
    assert 'id="issue-form"' not in html
    assert _choices(html, issued) == ["acknowledged", "in_progress", "refused_by_nation"]
    _, html = board(client, mar)  # another nation: no say over an Indonesian task
    assert f'data-id="{issued}">' in html and _choices(html, issued) == []

    # The status form's fields are what the API takes (with the page's CSRF token).
    _, html = page(client, idn, "/tasks")
    token = CSRF.search(html)
    assert token is not None
    form = html[html.index(f'data-id="{issued}">') :]
    names = set(re.findall(r'name="(\w+)"', form[: form.index("</form>")]))
    assert names == {"version", "status", "reason"}
    client.cookies.set(SESSION_COOKIE, idn.token)
    r = client.post(
        f"/api/v1/tasks/{issued}/status",
        json={"version": 1, "status": "refused_by_nation", "reason": "not in our mandate"},
        headers={"X-CSRF-Token": token[1]},
    )
    client.cookies.clear()
    assert r.status_code == 200, r.text
    counts, html = board(client, staff)
    assert counts["issued"] == 0 and counts["refused_by_nation"] == 2
    assert "not in our mandate" in html


def test_issue_form_fields_are_the_apis(platform: Platform, client: TestClient) -> None:
    from tests.integration.test_command import Force as ApiForce

    f = ApiForce(platform, client, {})
    f.effective("opcon")
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    _, html = page(client, staff, "/tasks")
    form = html[html.index('id="issue-form"') :]
    form = form[: form.index("</form>")]
    names = set(re.findall(r'name="(\w+)"', form))
    assert names == {
        "title",
        "task",
        "issuer",
        "unit",
        "priority",
        "zone",
        "lon",
        "lat",
        "starts_at",
        "ends_at",
        "description",
        "releasability_kind",
        "releasability_to",
    }
    assert f'<option value="{f.idf}">' in form  # the zones to task in
    body = {
        "title": "Secure the aid route",
        "task": "protection_of_civilians",
        "issuer": f.shq,
        "unit": f.bn,
        "priority": "priority",
        "zone": f.idf,
        "starts_at": "2026-03-05T06:00:00Z",
        "ends_at": "2026-03-05T18:00:00Z",
        "releasability": "mission",
    }
    r = client.post("/api/v1/tasks", json=body, headers=staff.headers)
    assert r.status_code == 201, r.text
    _, html = page(client, staff, "/tasks")
    issued = html[html.index('id="col-issued"') : html.index('id="col-acknowledged"')]
    assert "Secure the aid route" in issued and CARD.search(issued)


def test_map_units(platform: Platform, client: TestClient) -> None:
    f, staff, idn, mar = setup(platform)

    def features(who: Caller) -> dict[int, dict[str, Any]]:
        """The map's units by lineage."""
        client.cookies.set(SESSION_COOKIE, who.token)
        r = client.get("/map/units")
        client.cookies.clear()
        assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
        return {int(feat["id"]): feat for feat in r.json()["features"]}

    unplaced = ("IDN CON", "IDN DET")  # the contingent and the detachment have no place
    located = {v for k, v in f.units.items() if k not in unplaced}
    assert set(features(idn)) == located
    for who in (staff, mar):
        assert set(features(who)) == located - {f.units["IDN INT"]}
    bn = features(staff)[f.units["IDN 1 INF"]]
    assert bn["geometry"]["coordinates"] == [34.26, 31.295]
    props = bn["properties"]
    assert (props["sidc"], props["echelon"], props["nation"]) == (
        "SFGPUCI----F---",
        "battalion",
        "IDN",
    )
    assert (
        props["echelon_rank"] > features(staff)[f.units["IDN A COY"]]["properties"]["echelon_rank"]
    )
    # Signed out: the login page, not the units.
    r = client.get("/map/units", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
