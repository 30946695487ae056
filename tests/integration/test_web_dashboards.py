"""The force generation and funding dashboards show the JSON API's figures for the same user,
on the gaza-2025 scenario plus records released to CMCC only (which a donor must not count)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import html

from cmcc.access.domain import Role
from cmcc.api.app import create_app
from cmcc.bootstrap import Platform
from cmcc.forces.domain import PIPELINE, ReadinessLevel
from cmcc.web.words import label
from tests.factories import Caller, caller, pledge_body

STEPS = [s.value for s in PIPELINE[1:]]


@pytest.fixture
def client(gaza: Platform) -> Iterator[TestClient]:
    """The app on a copy of the scenario's database (conftest's `gaza`)."""
    with TestClient(create_app(gaza)) as c:
        yield c


@pytest.fixture
def people(gaza: Platform, client: TestClient) -> dict[str, Caller]:
    staff = caller(gaza, "CMCC", Role.STAFF_OFFICER)
    officer = caller(gaza, "CMCC", Role.FUNDING_OFFICER)
    donor = caller(gaza, "GBR", Role.DONOR)
    # Records released to the owner (CMCC) only: staff count them, the donor does not.
    body = pledge_body(releasability="owner", registered_on="2024-01-10", strength=333)
    assert client.post("/api/v1/pledges", headers=staff.headers, json=body).status_code == 201
    phases = client.get("/api/v1/phases", headers=officer.headers).json()["data"]
    flow = {
        "status": "pledge",
        "donor": "QAT",
        "amount": "7250000.00",
        "currency": "USD",
        "decision_date": "2026-05-12",
        "phase_id": phases[0]["id"],
        "releasability": "owner",
    }
    answer = client.post("/api/v1/flows", headers=officer.headers, json=flow)
    assert answer.status_code == 201, answer.text
    return {"staff": staff, "donor": donor}


def page(client: TestClient, who: Caller, path: str) -> Any:
    client.cookies.set("cmcc_session", who.token)
    try:
        answer = client.get(path, follow_redirects=False)
    finally:
        client.cookies.clear()
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    return html.fromstring(answer.text)


def api(client: TestClient, who: Caller, path: str) -> Any:
    answer = client.get(path, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def rows(doc: Any, table_id: str) -> dict[str, list[str]]:
    """The table's rows: the row header's text -> the cells' texts."""
    out = {}
    for tr in doc.xpath(f'//table[@id="{table_id}"]//tr[th[@scope="row"]]'):
        out[tr.xpath("th")[0].text_content().strip()] = [
            td.text_content().strip() for td in tr.xpath("td")
        ]
    return out


def keyed(doc: Any, table_id: str) -> dict[str, dict[str, str]]:
    """Rows by data-key, cells by data-col."""
    return {
        tr.get("data-key"): {td.get("data-col"): td.text_content().strip() for td in tr.xpath("td")}
        for tr in doc.xpath(f'//table[@id="{table_id}"]//tr[@data-key]')
    }


def millions(usd: str | None) -> str:
    if usd is None:
        return "n/a"
    return f"{(Decimal(usd) / Decimal(1_000_000)).quantize(Decimal('0.1'), ROUND_HALF_UP):,}"


@pytest.mark.parametrize("who", ["staff", "donor"])
def test_forces_page_shows_the_api_figures(
    client: TestClient, people: dict[str, Caller], who: str
) -> None:
    user = people[who]
    doc = page(client, user, "/forces")
    assert "Figures include only records released to you." in doc.text_content()
    assert len(doc.xpath('//svg[@role="img"]')) == 4

    now = {s: api(client, user, f"/api/v1/states?status={s}&limit=1")["count"] for s in STEPS}
    funnel = {
        tr.get("data-step"): tr for tr in doc.xpath('//table[@id="funnel-table"]//tr[@data-step]')
    }
    assert list(funnel) == STEPS
    for i, step in enumerate(STEPS):
        cells = [td.text_content() for td in funnel[step].xpath("td")]
        assert cells == [str(now[step]), str(sum(now[s] for s in STEPS[i:]))]
    assert now["deployed"] > 0 and now["pledged"] > 0  # the scenario has some of each

    gaps = api(client, user, "/api/v1/forces/gaps")
    assert rows(doc, "gaps-table") == {
        label(r["capability"]): [
            str(r[k])
            for k in (
                "required_units",
                "required_strength",
                "matched_units",
                "matched_strength",
                "ready_units",
                "ready_strength",
                "gap_units",
                "gap_strength",
                "unmatched_pledged_units",
            )
        ]
        for r in gaps["rows"]
    }
    assert doc.get_element_by_id("total-gap-strength").text == str(gaps["total_gap_strength"])

    projection = api(client, user, "/api/v1/forces/projection")
    shown = rows(doc, "projection-table")
    assert shown == {
        p["on"]: [str(p["committed"]), str(p["pledged"])] for p in projection["series"]
    }
    targets = rows(doc, "targets-table")
    assert {name: cells[:4] for name, cells in targets.items()} == {
        t["name"]: [
            str(t["strength"]),
            t["due"],
            str(t["strength_on_due"]),
            str(t["shortfall_on_due"]),
        ]
        for t in projection["committed_targets"]
    }
    assert targets

    levels = rows(doc, "readiness-table")
    counts = [
        api(client, user, f"/api/v1/pledges?readiness={lvl.value}&limit=1")["count"]
        for lvl in ReadinessLevel
    ]
    assert [int(cells[0]) for cells in levels.values()] == counts
    overdue = api(client, user, "/api/v1/pledges?renewal_overdue=true&limit=1")["count"]
    assert doc.get_element_by_id("renewals-overdue").text == str(overdue)

    pledges = api(client, user, "/api/v1/pledges?limit=500")
    table = doc.xpath('//table[@id="pledges-table"]//tr[@data-pledge]')
    assert sorted(int(tr.get("data-pledge")) for tr in table) == sorted(
        p["id"] for p in pledges["data"]
    )
    for tr in table:  # every pledge row carries its marking badge
        assert tr.xpath('.//span[contains(@class, "marking")]')
    owner_only = [p for p in pledges["data"] if p["releasability"] == "owner"]
    assert len(owner_only) == (1 if who == "staff" else 0)
    if who == "staff":
        assert "OWNER" in doc.xpath(f'//tr[@data-pledge="{owner_only[0]["id"]}"]')[0].text_content()
        assert overdue >= 1  # the owner-only pledge was registered in 2024, never renewed


@pytest.mark.parametrize("who", ["staff", "donor"])
def test_funding_page_shows_the_api_figures(
    client: TestClient, people: dict[str, Caller], who: str
) -> None:
    user = people[who]
    doc = page(client, user, "/funding")
    assert "Figures include only records released to you." in doc.text_content()
    assert len(doc.xpath('//svg[@role="img"]')) == 4
    stages = ("pledged", "committed", "paid", "outstanding_pledges", "unpaid_commitments", "funded")

    by_phase = api(client, user, "/api/v1/funding/summary?by=phase")
    shown = keyed(doc, "by-phase")
    expected = {
        r["key"] or "": {
            **{k: millions(r[f"{k}_usd"]) for k in stages},
            "budget": millions(r["budget_usd"]),
            "gap": millions(r["gap_usd"]),
        }
        for r in [*by_phase["rows"], {**by_phase["total"], "key": "total"}]
    }
    assert shown == expected

    by_donor = api(client, user, "/api/v1/funding/summary?by=donor")
    assert keyed(doc, "by-donor") == {
        r["key"] or "": {k: millions(r[f"{k}_usd"]) for k in stages}
        for r in [*by_donor["rows"], {**by_donor["total"], "key": "total"}]
    }

    by_month = api(client, user, "/api/v1/funding/summary?by=month")
    committed = paid = Decimal(0)
    months = {}
    for r in by_month["rows"]:
        committed += Decimal(r["committed_usd"])
        paid += Decimal(r["paid_usd"])
        months[r["key"]] = {
            "committed": millions(r["committed_usd"]),
            "paid": millions(r["paid_usd"]),
            "committed_cumulative": millions(str(committed)),
            "paid_cumulative": millions(str(paid)),
        }
    assert keyed(doc, "by-month") == months
    assert months and paid > 0

    # The owner-only pledge of 7.25 million counts for staff only.
    qatar = {r["key"]: Decimal(r["pledged_usd"]) for r in by_donor["rows"]}["QAT"]
    assert qatar == (Decimal("107250000.00") if who == "staff" else Decimal("100000000.00"))
    assert ("2026-05" in months) is (who == "staff")


def test_dashboards_need_a_session(client: TestClient) -> None:
    for path in ("/forces", "/funding"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next={path}"
