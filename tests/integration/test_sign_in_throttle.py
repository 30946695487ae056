"""Sign-in throttling (cmcc.access.throttle): failed sign-ins delay and then lock an account
name and a client address, on the API and the web form alike; the delay passes, a lockout ends
or an administrator clears it; a missing second-factor code is not a failure and a wrong one
is; unknown names are answered exactly like known ones; the rows and their audit entries keep
no name typed and no address; the public tip routes get no address key."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from cmcc.access import throttle
from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.models import SignInThrottle
from cmcc.api.app import create_app
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.cli import app as cli_app
from cmcc.cli import common
from tests.accounts import PASSWORD, bearer, login, web_sign_in
from tests.factories import caller
from tests.serving import platform_env

RULES = {
    "signin_free_failures": 2,
    "signin_lockout_failures": 4,
    "signin_address_free_failures": 6,
    "signin_address_lockout_failures": 8,
    "signin_max_delay_seconds": 1,
}


@pytest.fixture(autouse=True)
def still(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    """The throttle's clock stands still: only `_age` lets time pass. The first wait is 1 s,
    and on a loaded machine the requests between a failure and the attempt that must still
    wait can take longer than that (the attempt is then let through, or told to wait 0 s)."""
    now = dt.datetime.now(dt.UTC)
    monkeypatch.setattr(throttle, "utcnow", lambda: now)
    return now


@pytest.fixture
def strict(platform: Platform) -> Platform:
    """The platform with small counts: 2 free failures, a lockout at 4; per address 6 and 8."""
    return dataclasses.replace(platform, settings=platform.settings.model_copy(update=RULES))


@pytest.fixture
def web(strict: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(strict)) as client:
        yield client


def _rows(platform: Platform) -> list[SignInThrottle]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return list(s.scalars(select(SignInThrottle).order_by(SignInThrottle.id)))


def _age(platform: Platform, minutes: float) -> None:
    """As if `minutes` had passed for every row (the throttle's clock stands still)."""
    delta = dt.timedelta(minutes=minutes)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        for row in s.scalars(select(SignInThrottle)):
            row.last_failure_at -= delta
            if row.blocked_until is not None:
                row.blocked_until -= delta


def _fail_until_locked(platform: Platform, web: TestClient, username: str) -> None:
    for n in range(4):  # 4 failures in a row, each after its delay
        if n >= 2:
            _age(platform, 1.1 / 60)
        assert login(web, username, "wrong password").status_code == 401


def test_failures_delay_then_lock_an_account_until_it_ends(strict: Platform, web: TestClient):
    staff = caller(strict, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    for _ in range(2):  # the free failures
        assert login(web, staff.username, "wrong password").status_code == 401
    refused = login(web, staff.username, PASSWORD)  # right, but within the delay
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert "wait 1 s" in refused.json()["detail"]
    _age(strict, 1.1 / 60)  # the delay passes: the right password signs in, the count is gone
    assert login(web, staff.username, PASSWORD).status_code == 201
    assert [r.kind for r in _rows(strict)] == ["address"]

    _fail_until_locked(strict, web, staff.username)
    locked = login(web, staff.username, PASSWORD)
    assert locked.status_code == 429
    assert "locked for 15 more minute(s)" in locked.json()["detail"]
    assert 800 < int(locked.headers["retry-after"]) <= 900
    _age(strict, 14)
    assert login(web, staff.username, PASSWORD).status_code == 429  # not yet
    _age(strict, 1.1)
    assert login(web, staff.username, PASSWORD).status_code == 201  # the lockout ended


def test_a_failure_soon_after_a_lockout_locks_again(strict: Platform, web: TestClient) -> None:
    staff = caller(strict, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    _fail_until_locked(strict, web, staff.username)
    _age(strict, 15.1)  # the lockout is over, but its failures still count for 15 minutes
    assert login(web, staff.username, "wrong password").status_code == 401
    assert login(web, staff.username, PASSWORD).status_code == 429  # locked again at once
    _age(strict, 30.1)  # quiet long enough: the count starts again
    assert login(web, staff.username, "wrong password").status_code == 401
    assert login(web, staff.username, PASSWORD).status_code == 201


def test_unknown_names_are_answered_like_known_ones(strict: Platform, web: TestClient) -> None:
    staff = caller(strict, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    answers = []
    for name in (staff.username, "nobody-by-this-name"):
        seen = []
        for _ in range(3):
            r = login(web, name, "wrong password")
            body = r.json()
            seen.append(
                (r.status_code, body["title"], body["detail"], r.headers.get("retry-after"))
            )
        answers.append(seen)
    assert answers[0] == answers[1]
    assert answers[0][-1][0] == 429


def test_the_address_is_throttled_across_names(strict: Platform, web: TestClient) -> None:
    staff = caller(strict, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    for n in range(6):  # six names, one failure each: no name is delayed, the address is
        assert login(web, f"guess-{n}", "wrong password").status_code == 401
    r = login(web, staff.username, PASSWORD)
    assert r.status_code == 429 and "this address" in r.json()["detail"]
    _age(strict, 1.1 / 60)
    assert login(web, staff.username, PASSWORD).status_code == 201
    # A success does not clear the address: the next failure makes it wait again.
    assert login(web, "guess-6", "wrong password").status_code == 401
    assert login(web, staff.username, PASSWORD).status_code == 429
    # The public tip routes have no address key: never throttled, nothing counted.
    before = [(r.key, r.failures) for r in _rows(strict)]
    assert web.get("/public/tips").status_code == 200
    assert web.get("/public/tips/challenge").status_code in (200, 201)
    assert [(r.key, r.failures) for r in _rows(strict)] == before


def test_the_web_form_says_why_and_is_throttled_with_the_api(
    strict: Platform, web: TestClient
) -> None:
    staff = caller(strict, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    assert web_sign_in(web, staff.username, "wrong password")[0] == 401
    assert login(web, staff.username, "wrong password").status_code == 401
    status, cookie = web_sign_in(web, staff.username, PASSWORD)
    assert status == 429 and cookie is None
    web.cookies.clear()
    page = web.get("/login")
    nonce = page.text.split('name="login_nonce" value="')[1].split('"')[0]
    form = {"username": staff.username, "password": PASSWORD, "login_nonce": nonce}
    r = web.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 429
    assert "Too many failed sign-ins for this account name: wait" in r.text
    assert r.headers["retry-after"] == "1"


def test_a_missing_code_is_no_failure_and_a_wrong_one_is(strict: Platform, web: TestClient):
    staff = caller(strict, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    token = login(web, staff.username, PASSWORD).json()["token"]
    secret = web.post("/api/v1/account/totp", headers=bearer(token)).json()["secret"]
    confirm = {"code": pyotp.TOTP(secret).now()}
    assert web.post("/api/v1/account/totp/confirm", headers=bearer(token), json=confirm).is_success
    for _ in range(3):  # the password alone: a code is asked for, nothing is counted
        r = login(web, staff.username, PASSWORD)
        assert r.status_code == 401 and r.json()["type"].endswith("totp-code-required")
    assert _rows(strict) == []
    for _ in range(2):
        assert login(web, staff.username, PASSWORD, code="000000").status_code == 401
    r = login(web, staff.username, PASSWORD, code=pyotp.TOTP(secret).now())
    assert r.status_code == 429  # even with the right code, until the delay has passed
    assert {row.kind: row.failures for row in _rows(strict)} == {"account": 2, "address": 2}


def _admin_api(web: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = web.get("/api/v1/auth/throttles", headers=headers)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


def test_administrators_see_and_clear_lockouts_and_the_audit_keeps_no_name(
    strict: Platform, web: TestClient
) -> None:
    admin = caller(strict, "CMCC", Role.ADMIN)
    nation_admin = caller(strict, "GBR", Role.ADMIN, kind=OrgKind.NATION)
    staff = caller(strict, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    gbr_officer = caller(strict, "GBR", Role.LIAISON_OFFICER, password=PASSWORD)
    typed = "typed-password-into-the-name-field"
    _fail_until_locked(strict, web, staff.username)
    login(web, typed, "wrong password")
    login(web, gbr_officer.username, "wrong password")

    rows = _admin_api(web, admin.headers)
    by_user = {r["username"]: r for r in rows if r["kind"] == "account"}
    assert by_user[staff.username]["locked"] is True
    assert by_user[staff.username]["failures"] == 4
    assert by_user[None]["failures"] == 1  # the unknown name, not named
    assert len(rows) == 4 and [r["kind"] for r in rows].count("address") == 1
    assert typed not in str(rows) and "testclient" not in str(rows)
    # An organization's administrator sees its own users' rows only, and clears only those.
    gbr_rows = _admin_api(web, nation_admin.headers)
    assert [r["username"] for r in gbr_rows] == [gbr_officer.username]
    staff_row = by_user[staff.username]["id"]
    path = f"/api/v1/auth/throttles/{staff_row}"
    assert web.delete(path, headers=nation_admin.headers).status_code == 404
    assert web.get("/api/v1/auth/throttles", headers=staff.headers).status_code == 403

    assert login(web, staff.username, PASSWORD).status_code == 429
    assert web.delete(path, headers=admin.headers).status_code == 204
    _age(strict, 1.1 / 60)  # the address's delay (six failures from it) passes
    assert login(web, staff.username, PASSWORD).status_code == 201
    assert web.delete(path, headers=admin.headers).status_code == 404

    with strict.unit_of_work(Principal.system_operator()) as s:
        entries = list(
            s.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity == "sign_in_throttles")
                .order_by(AuditEntry.seq)
            )
        )
    actors = {e.actor for e in entries}
    assert {"sign-in", f"{admin.username}@CMCC"} <= actors  # (and the test's own, aging rows)
    text = " ".join(e.changes for e in entries)
    assert typed not in text and "testclient" not in text
    # The user's organization reads the entries about its user's row; another does not.
    params = {"entity": "sign_in_throttles", "limit": 500}
    audit = web.get("/api/v1/audit", headers=nation_admin.headers, params=params)
    seen = audit.json()["data"]
    assert {e["record_id"] for e in seen} == {str(gbr_rows[0]["id"])}
    assert ("sign-in", "create") in [(e["actor"], e["action"]) for e in seen]


def test_a_password_reset_ends_the_lockout(strict: Platform, web: TestClient) -> None:
    admin = caller(strict, "CMCC", Role.ADMIN)
    staff = caller(strict, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    _fail_until_locked(strict, web, staff.username)
    r = web.post(
        f"/api/v1/users/{staff.username}/reset-password",
        headers=admin.headers,
        json={"reason": "locked out by a guesser; new password given by phone"},
    )
    one_time = r.json()["one_time_password"]
    assert login(web, staff.username, one_time).status_code == 201


def test_the_operator_lists_and_unlocks_at_the_command_line(
    strict: Platform, web: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.console, "width", 200)  # fixed when the module was imported
    staff = caller(strict, "CMCC", Role.STAFF_OFFICER, password=PASSWORD)
    _fail_until_locked(strict, web, staff.username)
    runner = CliRunner()
    env = platform_env(strict, tmp_path)
    listed = runner.invoke(cli_app, ["user", "lockouts"], env=env)
    assert listed.exit_code == 0, listed.output
    assert staff.username in listed.output and "locked" in listed.output
    unlocked = runner.invoke(cli_app, ["user", "unlock", staff.username], env=env)
    assert unlocked.exit_code == 0 and "unlocked" in unlocked.output
    again = runner.invoke(cli_app, ["user", "unlock", staff.username], env=env)
    assert "was not throttled" in again.output
    both = runner.invoke(cli_app, ["user", "unlock", staff.username, "--id", "1"], env=env)
    assert both.exit_code == 2
    address = runner.invoke(cli_app, ["user", "unlock", "--address", "testclient"], env=env)
    assert address.exit_code == 0 and "unlocked" in address.output
    assert _rows(strict) == []
    assert (
        "no account name or address" in runner.invoke(cli_app, ["user", "lockouts"], env=env).output
    )
    assert login(web, staff.username, PASSWORD).status_code == 201
