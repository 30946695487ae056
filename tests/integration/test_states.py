"""The outreach pipeline of states: preloaded list, dated and reasoned one-step transitions."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from cmcc.access.domain import Principal, Role
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from tests.factories import caller


def _step(
    client: TestClient, headers: dict[str, str], iso3: str, to: str, date: str, **extra: object
) -> object:
    body = {"to": to, "date": date, "reason": f"moved to {to}", **extra}
    return client.post(f"/api/v1/states/{iso3}/transitions", json=body, headers=headers)


def test_un_member_states_are_preloaded(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    members, total, cursor = 0, 0, None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/states", params=params, headers=staff.headers).json()
        members += sum(1 for s in body["data"] if s["un_member"])
        total += len(body["data"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert members == 193
    assert total == body["count"] >= 193
    idn = client.get("/api/v1/states/IDN", headers=staff.headers).json()
    assert idn["name"] == "Indonesia"
    assert idn["status"] == "not_approached"
    page = client.get("/api/v1/states", params={"limit": 10}, headers=staff.headers).json()
    assert len(page["data"]) == 10
    assert page["next_cursor"]
    second = client.get(
        "/api/v1/states", params={"limit": 10, "cursor": page["next_cursor"]}, headers=staff.headers
    ).json()
    assert not {s["iso3"] for s in page["data"]} & {s["iso3"] for s in second["data"]}


def test_pipeline_moves_one_dated_step_at_a_time(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    for to, date in (
        ("approached", "2025-11-01"),
        ("interested", "2025-11-20"),
        ("pledged", "2026-02-19"),
    ):
        r = _step(client, staff, "MAR", to, date)
        assert r.status_code == 201, r.text
    skip = _step(client, staff, "MAR", "deployed", "2026-03-01")
    assert skip.status_code == 409
    assert "skips committed, deploying" in skip.json()["detail"]
    back = _step(client, staff, "MAR", "approached", "2026-03-01")
    assert back.status_code == 409
    assert "backwards" in back.json()["detail"]
    early = _step(client, staff, "MAR", "committed", "2026-01-01")
    assert early.status_code == 422
    assert early.json()["errors"][0]["field"] == "body.date"
    history = client.get("/api/v1/states/MAR/transitions", headers=staff).json()
    assert [(t["from_status"], t["to_status"]) for t in history] == [
        ("not_approached", "approached"),
        ("approached", "interested"),
        ("interested", "pledged"),
    ]
    state = client.get("/api/v1/states/MAR", headers=staff).json()
    assert (state["status"], state["status_since"]) == ("pledged", "2026-02-19")


def test_decline_and_withdraw_only_from_their_steps(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    assert _step(client, staff, "AZE", "withdrawn", "2025-11-01").status_code == 409
    assert _step(client, staff, "AZE", "approached", "2025-11-01").status_code == 201
    assert _step(client, staff, "AZE", "interested", "2025-11-10").status_code == 201
    assert _step(client, staff, "AZE", "declined", "2026-01-15").status_code == 201
    reopened = _step(client, staff, "AZE", "interested", "2026-02-01")
    assert reopened.status_code == 409
    assert "forced" in reopened.json()["detail"]


def test_only_admins_force_a_step_and_it_is_audited(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    admin = caller(platform, "CMCC", Role.ADMIN)
    assert _step(client, staff, "KAZ", "pledged", "2026-02-19", force=True).status_code == 403
    forced = _step(client, admin.headers, "KAZ", "pledged", "2026-02-19", force=True)
    assert forced.status_code == 201
    assert forced.json()["forced"] is True
    with platform.unit_of_work(Principal.system_operator()) as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "state_transitions")
        ).all()
    assert any('"forced":true' in e.changes and e.actor.startswith(admin.username) for e in entries)


def test_liaison_officers_cannot_move_the_pipeline(platform: Platform, client: TestClient) -> None:
    lo = caller(platform, "IDN", Role.LIAISON_OFFICER)
    assert _step(client, lo.headers, "IDN", "approached", "2025-09-01").status_code == 403
    assert _step(client, {}, "IDN", "approached", "2025-09-01").status_code == 401


def test_unknown_state_and_bad_values(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    assert client.get("/api/v1/states/XYZ", headers=staff).status_code == 404
    bad = _step(client, staff, "IDN", "conquered", "2025-09-01")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.to"


def test_name_search_treats_wildcards_as_text(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    found = client.get("/api/v1/states", params={"q": "indo"}, headers=staff).json()
    assert [s["iso3"] for s in found["data"]] == ["IDN"]
    assert client.get("/api/v1/states", params={"q": "%"}, headers=staff).json()["count"] == 0
    assert client.get("/api/v1/states", params={"q": "gbr"}, headers=staff).json()["count"] == 1
