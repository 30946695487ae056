"""Tokens, passwords, login, and who may call what."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from cmcc.access.domain import Principal, Role
from cmcc.access.models import ApiToken, User
from cmcc.bootstrap import Platform
from tests.factories import caller


def test_health_answers_without_a_token(client: TestClient, backend: str) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["database"] == backend


def test_openapi_describes_the_resources(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/health",
        "/api/v1/organizations",
        "/api/v1/states",
        "/api/v1/states/{iso3}/transitions",
        "/api/v1/pledges",
        "/api/v1/requirements",
        "/api/v1/forces/gaps",
        "/api/v1/forces/projection",
        "/api/v1/contributions",
    ):
        assert path in paths, path


def test_tokens_are_stored_only_as_hashes(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER, password="correct horse battery")
    with platform.unit_of_work(Principal.system_operator()) as s:
        hashes = list(s.scalars(select(ApiToken.token_hash)))
        user = s.scalars(select(User).where(User.username == staff.username)).one()
    assert staff.token not in hashes
    assert all(len(h) == 64 for h in hashes)
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert client.get("/api/v1/auth/me", headers=staff.headers).json()["role"] == "staff_officer"


def test_bad_tokens_are_refused(client: TestClient) -> None:
    for header in ("Bearer nope", "Basic abc", "Bearer "):
        r = client.get("/api/v1/states", headers={"Authorization": header})
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"


def test_login_issues_a_token_and_refuses_wrong_passwords(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER, password="correct horse battery")
    ok = client.post(
        "/api/v1/auth/login", json={"username": staff.username, "password": "correct horse battery"}
    )
    assert ok.status_code == 201
    token = ok.json()["token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == staff.username
    wrong = client.post("/api/v1/auth/login", json={"username": staff.username, "password": "x"})
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_revoked_token_is_refused(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    assert client.get("/api/v1/auth/me", headers=staff.headers).status_code == 200
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        for t in s.scalars(select(ApiToken)):
            t.revoked = True
    assert client.get("/api/v1/auth/me", headers=staff.headers).status_code == 401


def test_only_admins_create_organizations(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    admin = caller(platform, "CMCC", Role.ADMIN)
    body = {"code": "WFP", "name": "World Food Programme", "kind": "un_agency"}
    assert client.post("/api/v1/organizations", json=body, headers=staff.headers).status_code == 403
    r = client.post("/api/v1/organizations", json=body, headers=admin.headers)
    assert r.status_code == 201
    assert r.json()["code"] == "WFP"
    again = client.post("/api/v1/organizations", json=body, headers=admin.headers)
    assert again.status_code == 409
    codes = [o["code"] for o in client.get("/api/v1/organizations", headers=staff.headers).json()]
    assert "WFP" in codes
    assert client.get("/api/v1/organizations").status_code == 401
