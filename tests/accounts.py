"""Helpers of the account tests: sign in on the web form, read the audit entries of a user."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from cmcc.access.domain import Principal
from cmcc.access.models import SignInThrottle, User
from cmcc.api.session import SESSION_COOKIE
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform

PASSWORD = "correct horse battery"
NONCE = re.compile(r'name="login_nonce" value="([^"]+)"')
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def web_sign_in(
    client: TestClient, username: str, password: str, code: str | None = None
) -> tuple[int, str | None]:
    """POST /login as a browser does; the status and the session cookie it set (if any)."""
    client.cookies.clear()
    found = NONCE.search(client.get("/login").text)
    assert found
    fields = {"username": username, "password": password, "login_nonce": found.group(1)}
    if code is not None:
        fields["code"] = code
    r = client.post("/login", data={**fields, "next": "/incidents"}, follow_redirects=False)
    cookie = r.cookies.get(SESSION_COOKIE)
    client.cookies.clear()
    return r.status_code, cookie


def web_get(client: TestClient, cookie: str, path: str) -> Any:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    r = client.get(path, follow_redirects=False)
    client.cookies.clear()
    return r


@dataclass(frozen=True)
class Entry:
    actor: str
    action: str
    changes: dict[str, Any]


def audit_of(platform: Platform, username: str) -> list[Entry]:
    """The entries about the user's row (custom actions included), oldest first."""
    with platform.unit_of_work(Principal.system_operator()) as s:
        user_id = s.scalar(select(User.id).where(User.username == username))
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "users", AuditEntry.record_id == str(user_id))
            .order_by(AuditEntry.seq)
        )
        return [Entry(e.actor, e.action, orjson.loads(e.changes)) for e in rows]


def login(client: TestClient, username: str, password: str, code: str | None = None) -> Any:
    body: dict[str, Any] = {"username": username, "password": password}
    if code is not None:
        body["code"] = code
    return client.post("/api/v1/auth/login", json=body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forget_failures(platform: Platform) -> None:
    """Clear the sign-in throttle (as an administrator would): for tests whose failed sign-ins
    are about something else."""
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        s.execute(delete(SignInThrottle))
