"""Aid flow through the crossings, on both backends: crossings and their status over time, the
daily figures and their import (all or nothing, errors by line and column), targets by scope,
the dashboard against a hand-computed expectation and through the release policy, and the HXL
export read back with libhxl."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import hxl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cmcc.access.domain import Principal, Role
from cmcc.bootstrap import Platform
from cmcc.cli import app
from cmcc.core import changes
from cmcc.humanitarian.crossings import status_during
from tests.factories import Caller, caller, row_counts

D = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(10)]  # D[0] .. D[9]


def ok(r: Any, code: int = 201) -> Any:
    assert r.status_code == code, r.text
    return r.json()


def crossing(client: TestClient, who: Caller, code: str, **extra: Any) -> dict[str, Any]:
    body = {"code": code, "name": f"Crossing {code}", "lon": 34.27, "lat": 31.22, **extra}
    return ok(client.post("/api/v1/crossings", json=body, headers=who.headers))  # type: ignore[no-any-return]


def entry(
    client: TestClient,
    who: Caller,
    crossing_id: int,
    day: dt.date,
    cat: str,
    trucks: int,
    **extra: Any,
) -> Any:
    body = {
        "crossing_id": crossing_id,
        "day": day.isoformat(),
        "cargo_category": cat,
        "trucks": trucks,
        "source": "test figure",
        **extra,
    }
    return client.post("/api/v1/aid-flow/entries", json=body, headers=who.headers)


def target(client: TestClient, who: Caller, trucks: int, starts_on: dt.date, **scope: Any) -> Any:
    body = {"trucks_per_day": trucks, "starts_on": starts_on.isoformat(), **scope}
    return ok(client.post("/api/v1/aid-flow/targets", json=body, headers=who.headers))


def board(client: TestClient, who: Caller | None, **query: Any) -> Any:
    params = {"start": D[0].isoformat(), "end": D[9].isoformat(), **query}
    return ok(
        client.get("/api/v1/aid-flow/dashboard", params=params, headers=who.headers if who else {}),
        200,
    )


def by_key(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {r["key"]: r for r in rows}


# ---- crossings and their status -------------------------------------------------------------


def test_status_history_and_what_is_in_force(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    ks = crossing(client, staff, "ks", approx=True, source="reference table")
    assert ks["code"] == "KS" and ks["current_status"] is None

    def change(status: str, since: str, **extra: Any) -> dict[str, Any]:
        body = {"crossing_id": ks["id"], "status": status, "since": since, "source": "s", **extra}
        return ok(client.post("/api/v1/crossing-statuses", json=body, headers=staff.headers))  # type: ignore[no-any-return]

    opened = change("open", "2025-10-12T06:00:00Z")
    closed = change("closed", "2025-10-19T12:00:00Z", note="suspended until further notice")
    hours = change("restricted_hours", "2025-10-20T06:00:00Z", hours="08:00-14:00")

    r = client.post(
        "/api/v1/crossing-statuses",
        json={
            "crossing_id": ks["id"],
            "status": "restricted_hours",
            "since": "2025-11-01T00:00:00Z",
        },
        headers=staff.headers,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.hours"
    r = client.post(
        "/api/v1/crossing-statuses",
        json={"crossing_id": ks["id"], "status": "open", "since": "2025-10-19T12:00:00Z"},
        headers=staff.headers,
    )
    assert r.status_code == 409  # a change at that moment exists

    got = ok(client.get(f"/api/v1/crossings/{ks['id']}", headers=staff.headers), 200)
    assert got["current_status"]["id"] == hours["id"]
    assert got["current_status"]["hours"] == "08:00-14:00"

    def during(start: str, end: str) -> list[int]:
        page = ok(
            client.get(
                "/api/v1/crossing-statuses",
                params={"crossing_id": ks["id"], "start": start, "end": end},
                headers=staff.headers,
            ),
            200,
        )
        return sorted(s["id"] for s in page["data"])

    assert during("2025-10-13T00:00:00Z", "2025-10-14T00:00:00Z") == [opened["id"]]
    assert during("2025-10-18T00:00:00Z", "2025-10-19T13:00:00Z") == [opened["id"], closed["id"]]
    assert during("2025-10-19T12:00:00Z", "2025-10-20T06:00:00Z") == [closed["id"]]
    assert during("2025-12-01T00:00:00Z", "2025-12-02T00:00:00Z") == [hours["id"]]
    assert during("2025-10-01T00:00:00Z", "2025-10-02T00:00:00Z") == []

    with platform.unit_of_work(Principal.system_operator()) as s:
        found = status_during(
            s,
            Principal.system_operator().viewer,
            ks["id"],
            dt.datetime(2025, 10, 15, tzinfo=dt.UTC),
            dt.datetime(2025, 10, 21, tzinfo=dt.UTC),
        )
        assert [c.status for c in found] == ["open", "closed", "restricted_hours"]


def test_status_in_force_follows_what_the_caller_may_see(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    rf = crossing(client, staff, "RF", releasability="public")
    body = {"crossing_id": rf["id"], "source": "s"}
    public = ok(
        client.post(
            "/api/v1/crossing-statuses",
            json={
                **body,
                "status": "closed",
                "since": "2025-10-10T12:00:00Z",
                "releasability": "public",
            },
            headers=staff.headers,
        )
    )
    ok(
        client.post(
            "/api/v1/crossing-statuses",
            json={
                **body,
                "status": "open",
                "since": "2025-10-20T12:00:00Z",
                "releasability": "owner",
            },
            headers=staff.headers,
        )
    )
    seen = ok(client.get(f"/api/v1/crossings/{rf['id']}", headers=idn.headers), 200)
    assert (
        seen["current_status"]["id"] == public["id"]
    )  # the owner-only change is not in force for IDN
    mine = ok(client.get(f"/api/v1/crossings/{rf['id']}", headers=staff.headers), 200)
    assert mine["current_status"]["status"] == "open"
    listed = ok(client.get("/api/v1/crossing-statuses", headers=idn.headers), 200)
    assert [s["id"] for s in listed["data"]] == [public["id"]]


def test_a_status_is_not_seen_without_its_crossing(platform: Platform, client: TestClient) -> None:
    """A public status of a crossing marked for its owner only tells nobody else of the
    crossing (listed, got, or in force)."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    hidden = crossing(client, staff, "HID", releasability="owner")
    body = {"crossing_id": hidden["id"], "source": "s", "status": "closed"}
    said = ok(
        client.post(
            "/api/v1/crossing-statuses",
            json={**body, "since": "2025-10-10T12:00:00Z", "releasability": "public"},
            headers=staff.headers,
        )
    )
    listed = ok(client.get("/api/v1/crossing-statuses", headers=idn.headers), 200)
    assert said["id"] not in [s["id"] for s in listed["data"]]
    got = client.get(f"/api/v1/crossing-statuses/{said['id']}", headers=idn.headers)
    assert got.status_code == 404
    mine = ok(client.get("/api/v1/crossing-statuses", headers=staff.headers), 200)
    assert said["id"] in [s["id"] for s in mine["data"]]


def test_only_the_centre_records_crossings_and_figures(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    partner = caller(platform, "WFP", Role.HUMANITARIAN_PARTNER)
    ks = crossing(client, staff, "KS")
    body = {"code": "XX", "name": "X", "lon": 34.3, "lat": 31.3}
    assert client.post("/api/v1/crossings", json=body, headers=partner.headers).status_code == 403
    assert entry(client, partner, ks["id"], D[0], "food", 3).status_code == 403
    csv = b"crossing,day,category,trucks,source\nKS,2026-03-01,food,3,x\n"
    r = client.post("/api/v1/aid-flow/import", content=csv, headers=partner.headers)
    assert r.status_code == 403


# ---- figures and their import ---------------------------------------------------------------


def test_a_figure_is_written_over_by_crossing_day_and_category(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    ks = crossing(client, staff, "KS")
    first = ok(entry(client, staff, ks["id"], D[0], "food", 120))
    again = ok(entry(client, staff, ks["id"], D[0], "food", 130, source="corrected"), 200)
    assert again["id"] == first["id"] and again["trucks"] == 130 and again["version"] == 2
    other = ok(entry(client, staff, ks["id"], D[0], "fuel", 4))
    assert other["id"] != first["id"]
    bad = entry(client, staff, ks["id"], D[0], "weapons", 4)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.cargo_category"
    bad = entry(client, staff, ks["id"], D[0], "food", -1)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.trucks"
    assert (
        entry(client, staff, 999, D[0], "food", 1).json()["errors"][0]["field"]
        == "body.crossing_id"
    )


def test_import_refuses_a_bad_file_whole_naming_line_and_column(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    crossing(client, staff, "KS")
    crossing(client, staff, "ZK")
    csv = (
        b"crossing,day,category,trucks,source\n"
        b"KS,2026-03-01,food,120,COGAT daily report\n"
        b"ZK,2026-03-01,health,12,COGAT daily report\n"
        b"KS,2026-03-02,food,many,COGAT daily report\n"
        b"XX,2026-03-02,fuel,3,COGAT daily report\n"
        b"KS,2026-02-30,weapons,3,\n"
        b"KS,2026-03-01,food,121,duplicate\n"
    )
    before = row_counts(platform)
    r = client.post(
        "/api/v1/aid-flow/import",
        content=csv,
        headers={**staff.headers, "Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    problems = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(problems) == {
        "line 4, column trucks",
        "line 5, column crossing",
        "line 6, column day",
        "line 6, column category",
        "line 6, column source",
        "line 7, column day",
    }
    assert "'XX'" in problems["line 5, column crossing"]
    assert "line 2" in problems["line 7, column day"]
    assert "nothing was imported" in r.json()["detail"]
    assert row_counts(platform) == before  # nothing written, not even to the audit log

    good = b"crossing,day,category,trucks,source\nKS,2026-03-01,food,120,COGAT\n"
    done = ok(client.post("/api/v1/aid-flow/import", content=good, headers=staff.headers), 200)
    assert done == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0}


def test_import_reads_hxl_hashtags_and_updates(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    ks = crossing(client, staff, "KS")
    csv = (
        b"Source of the figure,Trucks,Cargo,Date,Crossing code\n"
        b"#meta+source,#indicator+trucks,#item+category,#date,#loc+crossing\n"
        b"UN2720 dashboard,200,food,2026-03-01,ks\n"
        b"UN2720 dashboard,9,fuel,2026-03-01,KS\n"
    )
    done = ok(client.post("/api/v1/aid-flow/import", content=csv, headers=staff.headers), 200)
    assert done == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    again = csv.replace(b"200,food", b"210,food")
    done = ok(client.post("/api/v1/aid-flow/import", content=again, headers=staff.headers), 200)
    assert done == {"rows": 2, "created": 0, "updated": 1, "unchanged": 1}
    listed = ok(
        client.get(
            "/api/v1/aid-flow/entries",
            params={"crossing_id": ks["id"], "cargo_category": "food"},
            headers=staff.headers,
        ),
        200,
    )
    assert [(e["trucks"], e["source"]) for e in listed["data"]] == [(210, "UN2720 dashboard")]
    r = client.post(
        "/api/v1/aid-flow/import?releasability=rel:NOWHERE", content=csv, headers=staff.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.releasability"
    bad = b"#loc+crossing,#date,#item+category,#indicator+trucks\nKS,2026-03-01,food,1\n"
    r = client.post("/api/v1/aid-flow/import", content=bad, headers=staff.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "line 1, column source"


def test_cli_import_all_or_nothing(platform: Platform, client: TestClient, tmp_path: Any) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    crossing(client, staff, "KS")
    env = {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
    }
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "crossing,day,category,trucks,source\nKS,2026-03-01,food,12,x\nKS,2026-03-01,fuel,1.5,x\n"
    )
    before = row_counts(platform)
    done = CliRunner().invoke(app, ["aidflow", "import", str(bad)], env=env)
    assert done.exit_code == 1
    assert "line 3, column trucks" in done.output
    assert row_counts(platform) == before
    good = tmp_path / "good.csv"
    good.write_text("crossing,day,category,trucks,source\nKS,2026-03-01,food,12,x\n")
    done = CliRunner().invoke(app, ["aidflow", "import", str(good)], env=env)
    assert done.exit_code == 0, done.output
    assert "1 new" in done.output


# ---- targets and the dashboard --------------------------------------------------------------


def _flow(platform: Platform, client: TestClient) -> tuple[Caller, dict[str, Any], dict[str, Any]]:
    """Two crossings, figures on some of the days D[0]..D[9], and targets of four scopes."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    a = crossing(client, staff, "AAA")
    b = crossing(client, staff, "BBB")
    for c, day, cat, trucks in [
        (a, D[0], "food", 10),
        (a, D[1], "food", 20),
        (a, D[2], "food", 30),
        (a, D[7], "food", 40),
        (a, D[1], "fuel", 5),
        (b, D[2], "food", 7),
        (b, D[8], "food", 3),
        (b, D[9], "health", 11),
    ]:
        ok(entry(client, staff, c["id"], day, cat, trucks))
    target(client, staff, 100, dt.date(2026, 2, 20))
    target(client, staff, 120, D[4])
    target(client, staff, 60, D[2], crossing_id=a["id"])
    target(client, staff, 50, D[0], cargo_category="food")
    return staff, a, b


def test_dashboard_against_a_hand_computed_expectation(
    platform: Platform, client: TestClient
) -> None:
    staff, a, _ = _flow(platform, client)
    got = board(client, staff)
    days = got["days"]
    assert [d["day"] for d in days] == [d.isoformat() for d in D]
    assert [d["trucks"] for d in days] == [10, 25, 37, 0, 0, 0, 0, 40, 3, 11]
    assert [d["reported"] for d in days] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
    ]
    assert [d["target"] for d in days] == [100] * 4 + [120] * 6
    # 7-day trailing means over the reported days: 10/1, 35/2, 72/3 (x5), 102/3, 80/3, 54/3
    averages = [10.0, 17.5, 24.0, 24.0, 24.0, 24.0, 24.0, 34.0, 26.7, 18.0]
    assert [d["average_7d"] for d in days] == averages
    total = got["total"]
    assert (total["trucks"], total["target_trucks"], total["average_per_day"]) == (126, 1120, 12.6)
    assert total["share_of_target"] == pytest.approx(126 / 1120, abs=1e-4)

    crossings = by_key(got["by_crossing"])
    assert crossings["AAA"]["trucks"] == 105
    assert crossings["AAA"]["target_trucks"] == 8 * 60  # from D[2]
    assert crossings["BBB"]["trucks"] == 21 and crossings["BBB"]["target_trucks"] is None
    categories = by_key(got["by_category"])
    assert list(categories) == ["food", "health", "shelter", "wash", "fuel", "commercial"]
    assert {k: v["trucks"] for k, v in categories.items()} == {
        "food": 110,
        "health": 11,
        "shelter": 0,
        "wash": 0,
        "fuel": 5,
        "commercial": 0,
    }
    assert categories["food"]["target_trucks"] == 500
    assert categories["fuel"]["target_trucks"] is None

    only_a = board(client, staff, crossing_id=a["id"])
    assert [d["trucks"] for d in only_a["days"]] == [10, 25, 30, 0, 0, 0, 0, 40, 0, 0]
    assert [d["target"] for d in only_a["days"]] == [None, None] + [60] * 8
    assert only_a["total"]["trucks"] == 105 and only_a["total"]["target_trucks"] == 480
    assert [r["key"] for r in only_a["by_crossing"]] == ["AAA"]
    for start, end in (("0001-01-01", "0001-01-02"), ("2026-03-02", "2026-03-01")):
        r = client.get(
            "/api/v1/aid-flow/dashboard", params={"start": start, "end": end}, headers=staff.headers
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.end"
    food = board(client, staff, cargo_category="food")
    assert food["total"]["trucks"] == 110 and food["total"]["target_trucks"] == 500
    assert [d["target"] for d in food["days"]] == [50] * 10


def test_targets_by_scope(platform: Platform, client: TestClient) -> None:
    staff, a, _ = _flow(platform, client)
    r = client.post(
        "/api/v1/aid-flow/targets",
        json={"trucks_per_day": 70, "starts_on": D[2].isoformat(), "crossing_id": a["id"]},
        headers=staff.headers,
    )
    assert r.status_code == 409  # that scope has a target from that day
    target(client, staff, 70, D[2], crossing_id=a["id"], cargo_category="food")
    target(client, staff, 30, D[5], crossing_id=a["id"])  # ends the 60 of crossing AAA
    got = board(client, staff)
    assert got["total"]["target_trucks"] == 1120  # the all-crossings target is untouched
    assert by_key(got["by_crossing"])["AAA"]["target_trucks"] == 3 * 60 + 5 * 30
    assert by_key(got["by_category"])["food"]["target_trucks"] == 500
    one_food = board(client, staff, crossing_id=a["id"], cargo_category="food")
    assert one_food["total"]["target_trucks"] == 8 * 70
    listed = ok(
        client.get(
            "/api/v1/aid-flow/targets", params={"crossing_id": a["id"]}, headers=staff.headers
        ),
        200,
    )
    assert sorted(t["trucks_per_day"] for t in listed["data"]) == [30, 60, 70]
    r = client.post(
        "/api/v1/aid-flow/targets",
        json={"trucks_per_day": 1, "starts_on": D[0].isoformat(), "cargo_category": "guns"},
        headers=staff.headers,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.cargo_category"


def test_totals_leave_out_what_the_caller_may_not_see(
    platform: Platform, client: TestClient
) -> None:
    staff, a, _ = _flow(platform, client)  # every figure marked mission
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER)
    ok(entry(client, staff, a["id"], D[3], "food", 1000, releasability="owner"))
    ok(entry(client, staff, a["id"], D[3], "shelter", 500, releasability="rel:GBR"))
    hidden_crossing = crossing(client, staff, "HID", releasability="owner")
    ok(entry(client, staff, hidden_crossing["id"], D[3], "wash", 70))
    target(client, staff, 999, D[0], cargo_category="wash", releasability="owner")

    seen = board(client, idn)
    assert [d["trucks"] for d in seen["days"]][3] == 70
    assert seen["total"]["trucks"] == 126 + 70
    assert by_key(seen["by_crossing"])["AAA"]["trucks"] == 105
    assert by_key(seen["by_crossing"])[None] == {
        "key": None,
        "label": "a crossing not released to you",
        "trucks": 70,
        "average_per_day": 7.0,
        "target_trucks": None,
        "share_of_target": None,
    }
    assert "HID" not in by_key(seen["by_crossing"])
    categories = by_key(seen["by_category"])
    assert categories["shelter"]["trucks"] == 0 and categories["wash"]["target_trucks"] is None

    assert board(client, gbr)["total"]["trucks"] == 126 + 70 + 500
    full = board(client, staff)
    assert full["total"]["trucks"] == 126 + 70 + 500 + 1000
    assert by_key(full["by_crossing"])["HID"]["trucks"] == 70
    assert by_key(full["by_category"])["wash"]["target_trucks"] == 999 * 10

    public = board(client, None)  # anonymous: nothing is public
    assert public["total"]["trucks"] == 0 and public["by_crossing"] == []
    r = client.get(
        "/api/v1/aid-flow/dashboard",
        params={"crossing_id": hidden_crossing["id"]},
        headers=idn.headers,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.crossing_id"
    r = client.post(
        "/api/v1/aid-flow/entries",
        json={
            "crossing_id": a["id"],
            "day": D[3].isoformat(),
            "cargo_category": "food",
            "trucks": 1,
            "source": "x",
        },
        headers=caller(platform, "IDN", Role.ADMIN).headers,
    )
    assert r.status_code == 422 and "not released to you" in r.json()["errors"][0]["message"]


# ---- HXL ------------------------------------------------------------------------------------


def test_hxl_exports_read_back_with_libhxl(platform: Platform, client: TestClient) -> None:
    staff, a, b = _flow(platform, client)
    ok(
        client.post(
            "/api/v1/crossing-statuses",
            json={
                "crossing_id": a["id"],
                "status": "open",
                "since": "2025-10-12T06:00:00Z",
                "source": "COGAT",
            },
            headers=staff.headers,
        )
    )
    ok(
        client.post(
            "/api/v1/crossing-statuses",
            json={
                "crossing_id": a["id"],
                "status": "restricted_hours",
                "hours": "08:00-14:00",
                "since": "2025-11-01T06:00:00Z",
                "source": "=HYPERLINK(evil)",
            },
            headers=staff.headers,
        )
    )
    r = client.get(
        "/api/v1/aid-flow/export", params={"format": "hxl-entries"}, headers=staff.headers
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    data = hxl.data(io.BytesIO(r.content)).cache()
    assert {"#loc+crossing", "#date", "#item+category", "#indicator+trucks", "#meta+source"} <= set(
        data.display_tags
    )
    rows = [
        (
            row.get("#loc+crossing"),
            row.get("#date"),
            row.get("#item+category"),
            row.get("#indicator+trucks"),
        )
        for row in data
    ]
    assert len(rows) == 8
    assert ("AAA", D[7].isoformat(), "food", "40") in rows
    assert sum(int(row.get("#indicator+trucks")) for row in data) == 126  # read twice: cached

    wiped = client.get(
        "/api/v1/aid-flow/export",
        params={"format": "hxl-entries", "crossing_id": b["id"]},
        headers=staff.headers,
    )
    assert len(list(hxl.data(io.BytesIO(wiped.content)))) == 3
    # The export reads back in as it is: every figure unchanged.
    back = ok(client.post("/api/v1/aid-flow/import", content=r.content, headers=staff.headers), 200)
    assert back == {"rows": 8, "created": 0, "updated": 0, "unchanged": 8}

    r = client.get(
        "/api/v1/aid-flow/export", params={"format": "hxl-crossings"}, headers=staff.headers
    )
    places = hxl.data(io.BytesIO(r.content)).cache()
    history = [
        (p.get("#loc+crossing"), p.get("#status"), p.get("#date+start"), p.get("#date+end"))
        for p in places
    ]
    assert history == [
        ("AAA", "open", "2025-10-12T06:00:00Z", "2025-11-01T06:00:00Z"),
        ("AAA", "restricted_hours", "2025-11-01T06:00:00Z", None),
        ("BBB", None, None, None),
    ]
    assert [p.get("#meta+source") for p in places][1] == "'=HYPERLINK(evil)"
    assert [p.get("#status+hours") for p in places][1] == "08:00-14:00"

    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    ok(entry(client, staff, a["id"], D[3], "food", 1000, releasability="owner"))
    theirs = client.get("/api/v1/aid-flow/export", headers=idn.headers)
    assert (
        sum(int(row.get("#indicator+trucks")) for row in hxl.data(io.BytesIO(theirs.content)))
        == 126
    )


def test_a_status_change_tells_the_picture(
    platform: Platform, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deconfliction advisories follow a crossing's status in the writer's transaction."""
    heard: list[changes.PictureChange] = []
    monkeypatch.setattr(changes, "PICTURE_LISTENERS", [lambda _s, change: heard.append(change)])
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    ks = crossing(client, staff, "KS")
    body = {"crossing_id": ks["id"], "status": "closed", "since": "2026-03-01T00:00:00Z"}
    done = ok(client.post("/api/v1/crossing-statuses", json=body, headers=staff.headers))
    assert heard == [changes.PictureChange("crossing_status", done["id"])]
