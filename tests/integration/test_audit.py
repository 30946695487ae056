"""The hash-chained audit log: every write is in it, and tampering is found and named."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from cmcc.access.domain import Principal, Role
from cmcc.audit.models import AuditEntry
from cmcc.audit.service import verify
from cmcc.bootstrap import Platform
from cmcc.cli import app as cli_app
from tests.factories import caller, pledge_body


def _entries(platform: Platform, **where: str) -> list[AuditEntry]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, key) == value)
        return list(s.scalars(stmt))


def _drop_append_only(platform: Platform) -> None:
    """What an attacker with database access would do first."""
    with platform.engine.begin() as conn:
        if platform.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


def _restore_append_only(platform: Platform) -> None:
    """The PostgreSQL test database outlives this test: put the trigger back."""
    if platform.engine.dialect.name == "postgresql":
        with platform.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
                )
            )


def _cli_env(platform: Platform) -> dict[str, str]:
    return {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
    }


def test_every_write_is_audited_with_who_and_what(platform: Platform, client: TestClient) -> None:
    lo = caller(platform, "IDN", Role.LIAISON_OFFICER)
    r = client.post("/api/v1/pledges", json=pledge_body(strength=900), headers=lo.headers)
    pid = r.json()["id"]
    client.patch(f"/api/v1/pledges/{pid}", json={"version": 1, "strength": 950}, headers=lo.headers)
    entries = _entries(platform, entity="pledges", record_id=str(pid))
    assert [e.action for e in entries] == ["create", "update"]
    assert {e.actor for e in entries} == {f"{lo.username}@IDN"}
    assert json.loads(entries[1].changes)["strength"] == [900, 950]
    assert verify_ok(platform)


def verify_ok(platform: Platform) -> bool:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return verify(s).ok


def test_secrets_never_enter_the_audit_log(platform: Platform) -> None:
    who = caller(platform, "CMCC", Role.ADMIN, password="a long passphrase")
    for entry in _entries(platform):
        assert who.token not in entry.changes
        assert "$argon2" not in entry.changes
    tokens = _entries(platform, entity="api_tokens")
    assert tokens
    assert all(json.loads(e.changes)["token_hash"] == "<redacted>" for e in tokens)


def test_the_log_is_append_only(platform: Platform) -> None:
    with pytest.raises(Exception, match="append-only"), platform.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone else'"))
    with pytest.raises(Exception, match="append-only"), platform.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


@pytest.mark.parametrize("tamper", ["changed", "removed", "reordered", "truncated"])
def test_verify_names_the_first_bad_entry(platform: Platform, tamper: str) -> None:
    runner = CliRunner()
    env = _cli_env(platform)
    ok = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    with platform.unit_of_work(Principal.system_operator()) as s:
        last = s.scalar(select(func.max(AuditEntry.seq)))
    assert last
    assert last > 20
    _drop_append_only(platform)
    try:
        _tamper(platform, tamper, last)
    finally:
        _restore_append_only(platform)
    bad = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert bad.exit_code == 1
    expected = last if tamper == "truncated" else 7
    assert f"entry {expected}" in bad.output, bad.output


def _tamper(platform: Platform, tamper: str, last: int) -> None:
    with platform.engine.begin() as conn:
        if tamper == "changed":
            conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 7"))
        elif tamper == "removed":
            conn.execute(text("DELETE FROM audit_log WHERE seq = 7"))
        elif tamper == "reordered":  # swap the contents of entries 7 and 8, keep the numbers
            conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = 7"))
            conn.execute(text("UPDATE audit_log SET seq = 7 WHERE seq = 8"))
            conn.execute(text("UPDATE audit_log SET seq = 8 WHERE seq = -1"))
        else:
            conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": last})
