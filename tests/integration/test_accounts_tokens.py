"""Tokens listed per user, with their kind, last use and expiry: one's own (API, page), any
user's for an administrator (API, `cmcc token list`); revoking one's own token by id."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from cmcc.cli import app as cli_app
from tests.accounts import PASSWORD, bearer, login, web_get, web_sign_in
from tests.factories import caller
from tests.serving import platform_env


def test_tokens_listed_with_last_use_and_revoked_by_id(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER, password=PASSWORD)
    other = caller(platform, "IDN", Role.LIAISON_OFFICER)
    api = login(client, idn.username, PASSWORD).json()["token"]
    status, cookie = web_sign_in(client, idn.username, PASSWORD)
    assert status == 303 and cookie

    first = client.get("/api/v1/account/tokens", headers=idn.headers).json()
    assert [(t["kind"], t["label"], t["current"], t["revoked"]) for t in first] == [
        ("web", "web", False, False),
        ("login", "login", False, False),
        ("issued", "", True, False),
    ]
    _web, signed_in, issued = first
    assert [t["last_used_at"] for t in first] == [None, None, None]  # this request's: after it
    assert client.get("/api/v1/auth/me", headers=bearer(api)).status_code == 200
    second = client.get("/api/v1/account/tokens", headers=idn.headers).json()
    assert [t["last_used_at"] is not None for t in second] == [False, True, True]
    third = client.get("/api/v1/account/tokens", headers=idn.headers).json()
    assert third[2]["last_used_at"] == second[2]["last_used_at"]  # at most every 5 minutes
    assert all(t["expires_at"] for t in third[:2]) and third[2]["expires_at"] is None

    page = web_get(client, cookie, "/account")
    assert page.status_code == 200 and page.text.count('<tr data-id="') == 3
    assert "This session" in page.text

    current = client.delete(f"/api/v1/account/tokens/{issued['id']}", headers=idn.headers)
    assert current.status_code == 409
    others = client.get("/api/v1/account/tokens", headers=other.headers).json()
    assert (
        client.delete(f"/api/v1/account/tokens/{others[0]['id']}", headers=idn.headers).status_code
        == 404
    )
    gone = client.delete(f"/api/v1/account/tokens/{signed_in['id']}", headers=idn.headers)
    assert gone.status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(api)).status_code == 401
    assert (
        client.delete(f"/api/v1/account/tokens/{signed_in['id']}", headers=idn.headers).status_code
        == 409
    )

    admin = caller(platform, "CMCC", Role.ADMIN)
    gbr_admin = caller(platform, "GBR", Role.ADMIN)
    listed = client.get(f"/api/v1/users/{idn.username}/tokens", headers=admin.headers)
    assert [t["revoked"] for t in listed.json()] == [False, True, False]
    assert not any(t["current"] for t in listed.json())
    url = f"/api/v1/users/{idn.username}/tokens"
    assert client.get(url, headers=gbr_admin.headers).status_code == 404
    assert client.get(url, headers=other.headers).status_code == 403

    out = CliRunner().invoke(
        cli_app,
        ["token", "list", idn.username],
        env={**platform_env(platform, tmp_path), "COLUMNS": "200"},
    )
    assert out.exit_code == 0, out.output
    assert "revoked" in out.output and "web" in out.output and "login" in out.output
    assert idn.token not in out.output and api not in out.output
