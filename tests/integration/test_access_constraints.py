"""The access constraints log end to end, on both backends: partners record their own, the
centre records and corrects any it can see; each partner sees its own and what is released to
it; links name only what the reader may see; the monthly report by category and by governorate
counts only what the caller may see; bad input names the field and writes nothing; the HXL
report reads back in libhxl."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import hxl
import shapely
from fastapi.testclient import TestClient

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.service import org_by_code
from cmcc.api.session import SESSION_COOKIE
from cmcc.bootstrap import Platform
from cmcc.core.releasability import Marking
from cmcc.humanitarian.models import Notification
from cmcc.scenarios.loader import load_scenario
from tests.factories import Caller, caller, row_counts

URL = "/api/v1/access-constraints"
REPORT = URL + "/report"
NORTH = (34.45, 31.50)  # inside the "North" test governorate
SOUTH = (34.25, 31.25)  # inside "South"
OPEN_GROUND = (34.35, 31.40)  # inside the area of interest, in neither governorate
MOVES = dt.datetime(2026, 10, 4, 6, 0, tzinfo=dt.UTC)


def ok(r: Any, code: int = 200) -> Any:
    assert r.status_code == code, r.text
    return r.json()


def problem(r: Any, status: int, field: str) -> None:
    assert r.status_code == status, r.text
    assert field in [e["field"] for e in r.json().get("errors", [])], r.text


def square(x: float, y: float, d: float = 0.05) -> dict[str, Any]:
    x, y = x - d / 2, y - d / 2
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


class Log:
    """The centre, two humanitarian partners, a donor, two governorates."""

    def __init__(self, platform: Platform, client: TestClient) -> None:
        self.platform = platform
        self.c = client
        self.centre = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
        self.unrwa = caller(
            platform, "UNRWA", Role.HUMANITARIAN_PARTNER, kind=OrgKind.UN_AGENCY
        ).headers
        self.prcs = caller(platform, "PRCS", Role.HUMANITARIAN_PARTNER, kind=OrgKind.NGO).headers
        self.donor = caller(platform, "GBR", Role.DONOR).headers
        for name, (x, y) in (("North", NORTH), ("South", SOUTH)):
            body = {
                "name": name,
                "kind": "administrative_area",
                "geometry": square(x, y),
                "valid_from": "2026-01-01T00:00:00Z",
                "releasability": "public",
            }
            ok(client.post("/api/v1/zones", json=body, headers=self.centre), 201)

    def record(self, who: dict[str, str], **over: Any) -> Any:
        body: dict[str, Any] = {
            "occurred_at": "2026-10-04T09:30:00Z",
            "impact": "delayed_at_checkpoint",
            "delay_minutes": 90,
            "place": "Checkpoint on Salah al-Din road",
            "lon": NORTH[0],
            "lat": NORTH[1],
            "description": "Convoy held at the checkpoint.",
            "source": "Convoy leader",
        }
        body.update(over)
        return ok(self.c.post(URL, json=body, headers=who), 201)

    def movement(self, owner: str, marking: str) -> int:
        """A movement notification (its first version) as the lead's service stores it."""
        with self.platform.unit_of_work(Principal.system_operator(), write=True) as s:
            note = Notification(
                kind="movement",
                title=f"Convoy of {owner}",
                movement_type="convoy",
                valid_from=MOVES,
                buffer_m=200.0,
                status="submitted",
                status_at=MOVES,
                status_by=f"partner@{owner}",
                submitted_by=f"partner@{owner}",
                owner_org_id=org_by_code(s, owner).id,
            )
            note.geometry = shapely.LineString([(34.30, 31.30), (34.44, 31.49)])
            note.marking = Marking.parse(marking)
            s.add(note)
            s.flush()
            return int(note.id)

    def ids(self, who: dict[str, str], query: str = "") -> list[int]:
        return [r["id"] for r in ok(self.c.get(URL + query, headers=who))["data"]]


def test_a_partner_records_and_the_centre_corrects(platform: Platform, client: TestClient) -> None:
    log = Log(platform, client)
    made = log.record(log.unrwa)
    assert made["category"] == "movement_restrictions"  # the impact's usual category
    assert made["owner"] == "UNRWA" and made["releasability"] == "rel:CMCC"
    assert made["reported_by"].endswith("@UNRWA") and made["delay_minutes"] == 90
    assert made["version"] == 1

    seen = ok(client.get(f"{URL}/{made['id']}", headers=log.centre))
    assert seen["place"] == "Checkpoint on Salah al-Din road"
    assert log.ids(log.centre) == [made["id"]]

    fixed = ok(
        client.patch(
            f"{URL}/{made['id']}",
            json={"version": 1, "delay_minutes": 240, "description": "Held four hours."},
            headers=log.centre,
        )
    )
    assert fixed["delay_minutes"] == 240 and fixed["version"] == 2
    assert fixed["owner"] == "UNRWA"  # the centre corrects; the record stays the partner's
    stale = client.patch(f"{URL}/{made['id']}", json={"version": 1}, headers=log.unrwa)
    assert stale.status_code == 409, stale.text

    # a change of impact moves a defaulted category with it; the delay goes with the delay
    turned = ok(
        client.patch(
            f"{URL}/{made['id']}",
            json={"version": 2, "impact": "violence", "delay_minutes": None},
            headers=log.unrwa,
        )
    )
    assert turned["category"] == "violence_against_personnel_assets"
    assert turned["delay_minutes"] is None

    # the partner chooses the category of an impact recorded as "other"
    other = log.record(
        log.unrwa, impact="other", category="physical_environment", delay_minutes=None
    )
    assert other["category"] == "physical_environment"
    for who in (log.donor, {}):
        r = client.post(URL, json={"occurred_at": "2026-10-04T09:30:00Z"}, headers=who)
        assert r.status_code in (401, 403, 422), r.text
    r = client.post(
        URL,
        json={"occurred_at": "2026-10-04T09:30:00Z", "impact": "looting"},
        headers=log.donor,
    )
    assert r.status_code == 403, r.text


def test_each_partner_sees_its_own_and_what_is_released_to_it(
    platform: Platform, client: TestClient
) -> None:
    log = Log(platform, client)
    own = log.record(log.unrwa)
    shared = log.record(
        log.unrwa, releasability="rel:CMCC,PRCS", impact="looting", delay_minutes=None
    )
    theirs = log.record(log.prcs, impact="interference", delay_minutes=None)
    assert log.ids(log.unrwa) == [own["id"], shared["id"]]
    assert log.ids(log.prcs) == [shared["id"], theirs["id"]]
    assert log.ids(log.centre) == [own["id"], shared["id"], theirs["id"]]
    assert log.ids(log.donor) == [] and log.ids({}) == []
    assert client.get(f"{URL}/{own['id']}", headers=log.prcs).status_code == 404
    assert client.get(f"{URL}/{theirs['id']}", headers=log.unrwa).status_code == 404
    # a partner corrects only its own organization's records, even one released to it
    r = client.patch(f"{URL}/{shared['id']}", json={"version": 1}, headers=log.prcs)
    assert r.status_code == 403, r.text
    r = client.patch(f"{URL}/{own['id']}", json={"version": 1}, headers=log.prcs)
    assert r.status_code == 404, r.text
    # filters
    assert log.ids(log.centre, "?impact=looting") == [shared["id"]]
    assert log.ids(log.centre, "?category=interference") == [theirs["id"]]
    assert log.ids(log.centre, "?month=2026-10") == [own["id"], shared["id"], theirs["id"]]
    assert log.ids(log.centre, "?month=2026-09") == []


def test_links_name_only_what_the_reader_may_see(platform: Platform, client: TestClient) -> None:
    log = Log(platform, client)
    mine = log.movement("UNRWA", "rel:CMCC")
    hidden = log.movement("PRCS", "owner")
    incident = ok(
        client.post(
            "/api/v1/incidents",
            json={
                "type": "aid_obstruction",
                "occurred_at": "2026-10-04T09:00:00Z",
                "geometry": {"type": "Point", "coordinates": list(NORTH)},
                "severity": 2,
                "releasability": "rel:CMCC",
            },
            headers=log.unrwa,
        ),
        201,
    )
    made = log.record(
        log.unrwa,
        notification_lineage=mine,
        incident_id=incident["id"],
        releasability="rel:CMCC,PRCS",
    )
    assert made["notification_lineage"] == mine and made["movement_ref"] == f"movement_{mine}"
    assert made["incident_id"] == incident["id"]
    # PRCS may read the constraint but neither the movement nor the incident it names
    read = ok(client.get(f"{URL}/{made['id']}", headers=log.prcs))
    assert read["notification_lineage"] is None and read["movement_ref"] is None
    assert read["incident_id"] is None
    assert log.ids(log.centre, f"?movement={mine}") == [made["id"]]
    problem(client.get(f"{URL}?movement={mine}", headers=log.prcs), 422, "query.movement")
    # nobody links a movement or an incident it may not see
    problem(
        client.post(
            URL,
            json={
                "occurred_at": "2026-10-04T09:30:00Z",
                "impact": "looting",
                "notification_lineage": hidden,
            },
            headers=log.unrwa,
        ),
        422,
        "body.notification_lineage",
    )
    problem(
        client.patch(
            f"{URL}/{made['id']}", json={"version": 1, "incident_id": 999}, headers=log.centre
        ),
        422,
        "body.incident_id",
    )


def _report(client: TestClient, who: dict[str, str], period: str = "2026-09/2026-10") -> Any:
    start, end = period.split("/")
    return ok(client.get(f"{REPORT}?from={start}&to={end}", headers=who))


def _counts(rows: list[dict[str, Any]], key: str) -> dict[tuple[str, str], int]:
    return {(r["month"], r[key]): r["count"] for r in rows}


def test_the_report_counts_only_what_the_caller_may_see(
    platform: Platform, client: TestClient
) -> None:
    log = Log(platform, client)
    log.record(log.unrwa, occurred_at="2026-09-03T10:00:00Z", delay_minutes=30)
    log.record(log.unrwa, occurred_at="2026-10-01T00:00:00Z", delay_minutes=120)
    log.record(
        log.unrwa,
        occurred_at="2026-10-31T23:59:00Z",
        impact="violence",
        delay_minutes=None,
        lon=SOUTH[0],
        lat=SOUTH[1],
        releasability="public",
    )
    log.record(log.prcs, impact="looting", delay_minutes=None, lon=None, lat=None)
    log.record(log.prcs, impact="restriction", delay_minutes=None, lon=OPEN_GROUND[0], lat=31.4)
    log.record(log.prcs, occurred_at="2026-08-31T23:59:00Z")  # before the period

    centre = _report(client, log.centre)
    assert centre["months"] == ["2026-09", "2026-10"] and centre["total"] == 5
    assert centre["total_delay_minutes"] == 30 + 120
    assert _counts(centre["by_category"], "category") == {
        ("2026-09", "movement_restrictions"): 1,
        ("2026-10", "movement_restrictions"): 2,
        ("2026-10", "violence_against_personnel_assets"): 2,
    }
    assert _counts(centre["by_area"], "area") == {
        ("2026-09", "North"): 1,
        ("2026-10", "North"): 1,
        ("2026-10", "South"): 1,
        ("2026-10", "unlocated"): 2,
    }
    delays = {(r["month"], r["area"]): r["delay_minutes"] for r in centre["by_area"]}
    assert delays[("2026-10", "North")] == 120 and delays[("2026-09", "North")] == 30

    partner = _report(client, log.unrwa)  # its own three; none of PRCS's
    assert partner["total"] == 3 and partner["total_delay_minutes"] == 150
    assert _counts(partner["by_area"], "area") == {
        ("2026-09", "North"): 1,
        ("2026-10", "North"): 1,
        ("2026-10", "South"): 1,
    }
    anyone = _report(client, {})  # the public one only
    assert anyone["total"] == 1
    assert _counts(anyone["by_category"], "category") == {
        ("2026-10", "violence_against_personnel_assets"): 1
    }
    assert _report(client, log.donor)["total"] == 1

    default = ok(client.get(REPORT, headers=log.centre))
    assert len(default["months"]) == 6 and default["to_month"] == default["months"][-1]


def test_bad_input_names_the_field_and_writes_nothing(
    platform: Platform, client: TestClient
) -> None:
    log = Log(platform, client)
    made = log.record(log.unrwa)
    before = row_counts(platform)
    base = {"occurred_at": "2026-10-04T09:30:00Z", "impact": "delayed_at_checkpoint"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "body.delay_minutes"),  # a delay says how long
        ({"impact": "violence", "delay_minutes": 10}, "body.delay_minutes"),
        ({"impact": "other"}, "body.category"),
        ({"delay_minutes": 10, "lon": 34.4}, "body.lat"),
        ({"delay_minutes": 10, "lat": 31.4}, "body.lon"),
        ({"delay_minutes": 10, "lon": 31.4, "lat": 34.4}, "body.lon"),  # swapped
        ({"delay_minutes": 10, "lon": 2.35, "lat": 48.85}, "body.lon"),  # outside the AOI
        ({"delay_minutes": 10, "occurred_at": "2099-01-01T00:00:00Z"}, "body.occurred_at"),
        ({"delay_minutes": 10, "occurred_at": "0001-01-01T00:00:00+14:00"}, "body.occurred_at"),
        ({"delay_minutes": 0}, "body.delay_minutes"),
        ({"delay_minutes": 10, "category": "paperwork"}, "body.category"),
        ({"delay_minutes": 10, "releasability": "rel:NOBODY"}, "body.releasability"),
        ({"delay_minutes": 10, "notification_lineage": 77}, "body.notification_lineage"),
        ({"delay_minutes": 10, "incident_id": 77}, "body.incident_id"),
    ]
    for over, field in cases:
        problem(client.post(URL, json={**base, **over}, headers=log.unrwa), 422, field)
    patch = f"{URL}/{made['id']}"
    problem(
        client.patch(patch, json={"version": 1, "delay_minutes": None}, headers=log.unrwa),
        422,
        "body.delay_minutes",
    )
    problem(
        client.patch(patch, json={"version": 1, "lat": None}, headers=log.unrwa), 422, "body.lat"
    )
    problem(
        client.patch(patch, json={"version": 1, "category": None}, headers=log.unrwa),
        422,
        "body.category",
    )
    problem(client.get(f"{URL}?month=2026-13", headers=log.centre), 422, "query.month")
    problem(client.get(f"{REPORT}?from=October", headers=log.centre), 422, "query.from")
    problem(client.get(f"{REPORT}?from=2026-10&to=2026-09"), 422, "query.to")
    problem(client.get(f"{REPORT}?from=2020-01&to=2026-09"), 422, "query.to")
    problem(client.get(f"{REPORT}?from=9999-12&to=9999-12"), 422, "query.from")
    problem(client.get(f"{URL}?month=9999-12"), 422, "query.month")
    assert row_counts(platform) == before
    outside = log.record(log.unrwa, lon=34.0, lat=30.6, outside_aoi=False)
    assert outside["lon"] == 34.0  # inside the box of the area of interest: accepted


def hxl_rows(content: bytes) -> Any:
    return hxl.data(io.BytesIO(content)).cache()


def test_the_report_reads_back_as_hxl(platform: Platform, client: TestClient) -> None:
    log = Log(platform, client)
    log.record(log.unrwa, delay_minutes=45)
    log.record(log.unrwa, impact="violence", delay_minutes=None, lon=SOUTH[0], lat=SOUTH[1])
    log.record(log.prcs, impact="looting", delay_minutes=None)  # not UNRWA's to see

    r = client.get(f"{REPORT}?from=2026-10&to=2026-10&format=hxl&by=category", headers=log.unrwa)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    data = hxl_rows(r.content)
    assert {"#date+month", "#access+category+code", "#indicator+constraints+num"} <= set(
        data.display_tags
    )
    rows = {row.get("#access+category+code"): row for row in data}
    assert set(rows) == {"movement_restrictions", "violence_against_personnel_assets"}
    assert rows["movement_restrictions"].get("#indicator+constraints+num") == "1"
    assert rows["movement_restrictions"].get("#indicator+delay+minutes+num") == "45"
    assert rows["movement_restrictions"].get("#date+month") == "2026-10"

    r = client.get(f"{REPORT}?from=2026-10&to=2026-10&format=hxl&by=area", headers=log.centre)
    areas = {
        row.get("#adm1+name"): row.get("#indicator+constraints+num") for row in hxl_rows(r.content)
    }
    assert areas == {"North": "2", "South": "1"}

    plain = client.get(f"{REPORT}?from=2026-10&to=2026-10&format=csv", headers=log.centre)
    lines = plain.text.splitlines()
    assert lines[0].startswith("Month,Category code,Category") and not lines[1].startswith("#")
    assert len(lines) == 3


ROW_ID = re.compile(r'<tr data-id="(\d+)">')


def page(client: TestClient, who: Caller, path: str) -> tuple[int, str]:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, who.token)
    r = client.get(path, follow_redirects=False)
    client.cookies.clear()
    return r.status_code, r.text


def test_the_page_shows_what_the_api_shows_and_the_form_to_whom_records(
    platform: Platform, client: TestClient
) -> None:
    log = Log(platform, client)
    unrwa = caller(platform, "UNRWA", Role.HUMANITARIAN_PARTNER, kind=OrgKind.UN_AGENCY)
    donor = caller(platform, "GBR", Role.DONOR)
    mine = log.record(log.unrwa, occurred_at="2026-11-02T08:00:00Z")
    log.record(log.prcs, occurred_at="2026-11-03T08:00:00Z", impact="looting", delay_minutes=None)
    public = log.record(log.prcs, impact="violence", delay_minutes=None, releasability="public")
    status, html = page(client, unrwa, "/access?from=2026-10&to=2026-11")
    assert status == 200, html
    assert [int(i) for i in ROW_ID.findall(html)] == [mine["id"], public["id"]]
    assert 'id="record-constraint"' in html and "Delayed at a checkpoint" in html
    assert 'href="/access" aria-current="page"' in html  # in the partner's navigation
    row = re.search(r'<tr data-key="movement_restrictions">(.*?)</tr>', html, re.S)
    assert row is not None and re.findall(r'<td class="num"[^>]*>(\d+)</td>', row.group(1)) == [
        "0",
        "1",
        "1",
    ]
    status, html = page(client, donor, "/access")
    assert status == 200 and 'id="record-constraint"' not in html
    assert 'href="/access"' not in html.split("<main")[0]  # not in a donor's navigation
    status, html = page(client, unrwa, "/access?month=2026-13")
    assert status == 400 and "query.month" in html


def test_the_scenario_records_illustrative_constraints_of_its_partners(
    platform: Platform, client: TestClient
) -> None:
    with platform.unit_of_work(Principal.system_operator(), write=True) as session:
        load_scenario(session, "gaza-2025", aoi=platform.settings.aoi_bbox, fence=platform.fence())
    centre = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    records = ok(client.get(URL, headers=centre))["data"]
    assert len(records) == 7
    assert {r["owner"] for r in records} == {"OCHA", "UNRWA", "PRCS"}
    assert all(r["source"].endswith("[illustrative]") for r in records)
    assert all(r["notification_lineage"] is None for r in records)  # movements come later
    delayed = next(r for r in records if r["impact"] == "delayed_at_checkpoint")
    incident = ok(client.get(f"/api/v1/incidents/{delayed['incident_id']}", headers=centre))
    assert incident["external_ref"] == "gaza-2025-illustrative-3"
    mission = [r["id"] for r in records if r["releasability"] == "mission"]
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    assert [r["id"] for r in ok(client.get(URL, headers=gbr))["data"]] == mission
    report = ok(client.get(REPORT, headers=centre))
    assert report["total"] == 7  # the last 58 days lie within the six months of the report
    located = {r["area"] for r in report["by_area"]}
    assert "unlocated" in located and "North Gaza governorate (notional)" in located


def test_a_governorate_the_caller_may_not_see_names_no_area(
    platform: Platform, client: TestClient
) -> None:
    log = Log(platform, client)
    body = {
        "name": "District drawn by the centre",
        "kind": "administrative_area",
        "geometry": square(*OPEN_GROUND),
        "valid_from": "2026-01-01T00:00:00Z",
        "releasability": "owner",
    }
    ok(client.post("/api/v1/zones", json=body, headers=log.centre), 201)
    log.record(log.unrwa, lon=OPEN_GROUND[0], lat=OPEN_GROUND[1])
    log.record(log.unrwa, occurred_at="2025-12-31T12:00:00Z", lon=NORTH[0], lat=NORTH[1])
    centre = _report(client, log.centre, "2025-12/2026-10")
    partner = _report(client, log.unrwa, "2025-12/2026-10")
    assert _counts(centre["by_area"], "area") == {
        ("2026-10", "District drawn by the centre"): 1,
        ("2025-12", "unlocated"): 1,  # before "North" was valid
    }
    assert _counts(partner["by_area"], "area") == {
        ("2026-10", "unlocated"): 1,
        ("2025-12", "unlocated"): 1,
    }
