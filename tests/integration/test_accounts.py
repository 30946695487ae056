"""Accounts: deactivation and reactivation (every token and web session ends at once, open
event streams too), an administrator's password reset and the forced change, the password
policy's refusals, and the audit entries that say who did it and why."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cmcc.access.domain import OrgKind, Role
from cmcc.api.app import create_app
from cmcc.bootstrap import Platform
from cmcc.cli import app as cli_app
from tests.accounts import PASSWORD, audit_of, bearer, login, web_get, web_sign_in
from tests.factories import caller
from tests.serving import in_thread, platform_env


def test_a_deactivated_users_token_cookie_and_stream_end_at_once(
    platform: Platform, client: TestClient, tmp_path: object
) -> None:
    admin = caller(platform, "CMCC", Role.ADMIN)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    status, cookie = web_sign_in(client, staff.username, PASSWORD)
    assert status == 303 and cookie
    assert web_get(client, cookie, "/incidents").status_code == 200
    assert client.get("/api/v1/incidents", headers=staff.headers).status_code == 200

    with (
        in_thread(create_app(platform)) as base,
        httpx.Client(base_url=base, timeout=10) as web,
        web.stream("GET", "/api/v1/alerts/stream", headers=staff.headers) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines) == ": connected"
        done = web.post(
            f"/api/v1/users/{staff.username}/deactivate",
            headers=admin.headers,
            json={"reason": "left the mission on 5 December"},
        )
        assert done.status_code == 200, done.text
        assert done.json() == {
            "username": staff.username,
            "active": False,
            "tokens_revoked": 2,
        }
        # The stream ends on the user's change, before its next keep-alive (15 s).
        assert [line for line in lines if line] == []

    refused = client.get("/api/v1/incidents", headers=staff.headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    page = web_get(client, cookie, "/incidents")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert login(client, staff.username, PASSWORD).status_code == 401

    entries = audit_of(platform, staff.username)
    deactivation = next(e for e in entries if e.action == "deactivate")
    assert deactivation.actor == f"{admin.username}@CMCC"
    assert deactivation.changes == {"reason": "left the mission on 5 December", "tokens_revoked": 2}
    assert any(e.action == "update" and "active" in e.changes for e in entries)


def test_reactivation_by_the_operator_lets_the_user_sign_in_with_new_tokens_only(
    platform: Platform, client: TestClient, tmp_path: object
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    env = platform_env(platform, tmp_path)  # type: ignore[arg-type]
    runner = CliRunner()
    no_reason = runner.invoke(cli_app, ["user", "deactivate", staff.username], env=env)
    assert no_reason.exit_code != 0 and "--reason" in no_reason.output
    off = runner.invoke(
        cli_app, ["user", "deactivate", staff.username, "--reason", "laptop stolen"], env=env
    )
    assert off.exit_code == 0, off.output
    again = runner.invoke(
        cli_app, ["user", "deactivate", staff.username, "--reason", "twice"], env=env
    )
    assert again.exit_code == 1 and "already deactivated" in again.output
    on = runner.invoke(
        cli_app, ["user", "reactivate", staff.username, "--reason", "laptop found"], env=env
    )
    assert on.exit_code == 0, on.output
    assert client.get("/api/v1/auth/me", headers=staff.headers).status_code == 401
    token = login(client, staff.username, PASSWORD).json()["token"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    entries = audit_of(platform, staff.username)
    actions = [(e.actor, e.action, e.changes.get("reason")) for e in entries]
    assert ("system:cli", "deactivate", "laptop stolen") in actions
    assert ("system:cli", "reactivate", "laptop found") in actions

    reset = runner.invoke(
        cli_app, ["user", "reset-password", staff.username, "--reason", "locked out"], env=env
    )
    assert reset.exit_code == 0, reset.output
    one_time = reset.output.strip().splitlines()[-1]  # alone on the last line, for a script
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    limited = bearer(login(client, staff.username, one_time).json()["token"])
    assert client.get("/api/v1/auth/me", headers=limited).json()["must"] == "change_password"


def test_administrators_manage_their_own_organization_and_need_a_reason(
    platform: Platform, client: TestClient
) -> None:
    centre = caller(platform, "CMCC", Role.ADMIN)
    gbr_admin = caller(platform, "GBR", Role.ADMIN)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    url = f"/api/v1/users/{idn.username}/deactivate"
    assert client.post(url, headers=gbr_admin.headers, json={"reason": "x"}).status_code == 404
    assert client.post(url, headers=staff.headers, json={"reason": "x"}).status_code == 403
    blank = client.post(url, headers=centre.headers, json={"reason": "   "})
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"].endswith("reason")
    own = f"/api/v1/users/{centre.username}/deactivate"
    assert client.post(own, headers=centre.headers, json={"reason": "x"}).status_code == 409
    assert client.post(url, headers=centre.headers, json={"reason": "x"}).status_code == 200
    assert client.get("/api/v1/auth/me", headers=centre.headers).status_code == 200


def test_a_reset_password_must_be_changed_before_anything_else(
    platform: Platform, client: TestClient
) -> None:
    admin = caller(platform, "CMCC", Role.ADMIN)
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER, password=PASSWORD)
    reset = client.post(
        f"/api/v1/users/{gbr.username}/reset-password",
        headers=admin.headers,
        json={"reason": "forgot the password (phone call, ticket 4411)"},
    )
    assert reset.status_code == 200, reset.text
    one_time = reset.json()["one_time_password"]
    assert client.get("/api/v1/auth/me", headers=gbr.headers).status_code == 401
    assert login(client, gbr.username, PASSWORD).status_code == 401

    token = login(client, gbr.username, one_time).json()["token"]
    limited = bearer(token)
    me = client.get("/api/v1/auth/me", headers=limited).json()
    assert me["must"] == "change_password"
    refused = client.get("/api/v1/incidents", headers=limited)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("change-password-first")
    assert "/api/v1/account/password" in refused.json()["detail"]
    status, cookie = web_sign_in(client, gbr.username, one_time)
    assert status == 303 and cookie
    sent = web_get(client, cookie, "/incidents")
    assert sent.status_code == 303 and sent.headers["location"] == "/account/password"
    form = web_get(client, cookie, "/account/password")
    assert form.status_code == 200 and 'id="must-change"' in form.text

    def change(new: str, current: str = one_time) -> httpx.Response:
        body = {"current_password": current, "new_password": new}
        return client.post("/api/v1/account/password", headers=limited, json=body)

    for new, words in (
        ("short one", "at least 15 characters"),
        ("passwordpassword", "too easy to guess"),
        ("Dragon2026!!!!!!!", "too common"),
        (f"my name is {gbr.username}", "user name"),
        ("abcabcabcabcabcabc", "too easy to guess"),
        ("x" * 257, "at most 256"),
    ):
        r = change(new)
        assert r.status_code == 422, (new, r.text)
        assert r.json()["errors"] == [
            {"field": "body.new_password", "message": r.json()["errors"][0]["message"]}
        ]
        assert words in r.json()["errors"][0]["message"], (new, r.text)
    wrong = change("a calm sea at dawn", current="not the one-time password")
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "body.current_password"
    ok = change("a calm sea at dawn")
    assert ok.status_code == 200 and ok.json() == {"sessions_ended": 1}  # the web session
    assert client.get("/api/v1/incidents", headers=limited).status_code == 200
    assert web_get(client, cookie, "/incidents").status_code == 303  # signed out
    assert login(client, gbr.username, "a calm sea at dawn").status_code == 201

    entries = audit_of(platform, gbr.username)
    reset_entry = next(e for e in entries if e.action == "reset_password")
    assert reset_entry.actor == f"{admin.username}@CMCC"
    assert reset_entry.changes["reason"] == "forgot the password (phone call, ticket 4411)"
    text = " ".join(str(e.changes) for e in entries)
    assert one_time not in text and "a calm sea at dawn" not in text
    assert "<redacted>" in text


def test_an_organizations_admin_may_not_reset_another_organizations_user(
    platform: Platform, client: TestClient
) -> None:
    gbr_admin = caller(platform, "GBR", Role.ADMIN)
    ngo = caller(platform, "MSF", Role.HUMANITARIAN_PARTNER, kind=OrgKind.NGO, member=False)
    r = client.post(
        f"/api/v1/users/{ngo.username}/reset-password",
        headers=gbr_admin.headers,
        json={"reason": "asked by phone"},
    )
    assert r.status_code == 404
    assert client.get("/api/v1/auth/me", headers=ngo.headers).status_code == 200
