"""SQLite's faults (issue 17): the write lock held by another connection beyond the busy
timeout, and the database full (SQLite's own `max_page_count` on the real file, so no
filesystem of our own is needed). Each answers a clear error through the API (503 busy, 507
full, problem+json with Retry-After) and the CLI (one line, exit 1), writes nothing half, keeps
what was stored before, and leaves the audit chain whole."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from typer.testing import CliRunner

from cmcc.access.domain import Principal, Role
from cmcc.api.app import create_app
from cmcc.audit.service import verify
from cmcc.bootstrap import Platform, bootstrap
from cmcc.cli import app as cli
from tests.conftest import BACKENDS
from tests.factories import caller, row_counts

pytestmark = [
    pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "sqlite"]),
    pytest.mark.timeout(60),
]
WAIT = "0.2"  # CMCC_DATABASE_WAIT_SECONDS: how long a writer waits for the lock
INCIDENT = {
    "type": "ceasefire_violation_fire",
    "occurred_at": "2026-03-01T10:00:00Z",
    "geometry": {"type": "Point", "coordinates": [34.45, 31.517]},
    "severity": 3,
    "narrative": "Small arms fire. " * 1000,  # 17 kB: needs pages of its own
}


def _file(platform: Platform) -> str:
    return str(platform.engine.url.database)


def _env(platform: Platform) -> dict[str, str]:
    return {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
        "CMCC_DATABASE_WAIT_SECONDS": WAIT,
    }


def _impatient(platform: Platform) -> Platform:
    """The same database, with writers that wait WAIT seconds for the lock."""
    return bootstrap(platform.settings.model_copy(update={"database_wait_seconds": float(WAIT)}))


def _csv(path: Path, rows: int) -> Path:
    """`rows` good rows, their refs named after the file."""
    lines = ["external_ref,type,occurred_at,lat,lon,severity,narrative"]
    lines += [
        f"{path.stem}-{n},ceasefire_violation_fire,2026-03-01T10:00:00Z,31.4,34.35,3,{'x' * 200}"
        for n in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _said(result: Any) -> str:
    """What a command printed, on one line (the console wraps long lines)."""
    return " ".join(result.output.split())


def _chain_intact(platform: Platform) -> bool:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return verify(s).ok


def _problem(response: Any, status: int, code: str, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["type"].endswith("/" + code) and body["status"] == status
    assert words in body["detail"]


@contextmanager
def write_lock_held(path: str) -> Iterator[None]:
    """Another connection holding SQLite's write lock (BEGIN IMMEDIATE) until the block ends."""
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


@contextmanager
def database_full(path: str) -> Iterator[None]:
    """Every new connection to `path` in this process may not grow the file by one page
    (`PRAGMA max_page_count`, a per-connection limit): the database is full for it."""
    with closing(sqlite3.connect(path)) as c:
        c.execute("VACUUM")  # no free page left inside the file either
        pages = c.execute("PRAGMA page_count").fetchone()[0]

    def limit(dbapi_conn: Any, _record: Any) -> None:
        if isinstance(dbapi_conn, sqlite3.Connection):
            (_, _, name), *_ = dbapi_conn.execute("PRAGMA database_list").fetchall()
            if name == path:
                dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(Engine, "connect", limit)
    try:
        yield
    finally:
        event.remove(Engine, "connect", limit)


def test_locked_database_answers_busy_and_writes_nothing(
    platform: Platform, tmp_path: Path
) -> None:
    officer = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    fast = _impatient(platform)
    before = row_counts(platform)
    runner = CliRunner()
    source = _csv(tmp_path / "incidents.csv", 50)
    try:
        with TestClient(create_app(fast)) as api, write_lock_held(_file(platform)):
            written = api.post("/api/v1/incidents", json=INCIDENT, headers=officer)
            _problem(written, 503, "database-busy", "the database is busy, try again")
            read = api.get("/api/v1/incidents", headers=officer)
            assert read.status_code == 200  # readers go on (WAL)
            imported = runner.invoke(cli, ["import", "incidents", str(source)], env=_env(platform))
            added = runner.invoke(
                cli, ["user", "add", "x", "--org", "GBR", "--role", "auditor"],
                env=_env(platform),
            )  # fmt: skip
        assert imported.exit_code == 1
        assert "the database is busy, try again" in _said(imported)
        assert "batch 1 (lines 2-51) failed and was rolled back" in _said(imported)
        assert added.exit_code == 1
        assert "error: the database is busy, try again" in _said(added)
        assert row_counts(platform) == before
        assert _chain_intact(platform)
        again = runner.invoke(cli, ["import", "incidents", str(source)], env=_env(platform))
        assert again.exit_code == 0, again.output
        assert row_counts(platform)["incidents"] == 50
    finally:
        fast.dispose()


def test_full_database_answers_507_and_keeps_what_was_stored(
    platform: Platform, tmp_path: Path
) -> None:
    officer = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    runner = CliRunner()
    first = runner.invoke(
        cli, ["import", "incidents", str(_csv(tmp_path / "first.csv", 20))], env=_env(platform)
    )
    assert first.exit_code == 0, first.output
    platform.dispose()  # its pooled connections were made without the limit
    before = row_counts(platform)
    source = _csv(tmp_path / "more.csv", 2000)
    with database_full(_file(platform)):
        full = _impatient(platform)
        try:
            with TestClient(create_app(full)) as api:
                written = api.post("/api/v1/incidents", json=INCIDENT, headers=officer)
                _problem(written, 507, "database-full", "the database is full")
                body = source.read_bytes()
                posted = api.post(
                    "/api/v1/incidents/import",
                    content=body,
                    headers={**officer, "Content-Type": "text/csv"},
                )
                _problem(posted, 507, "database-full", "send the same file again to resume")
                assert "0 rows stored before it" in posted.json()["detail"]
        finally:
            full.dispose()
        imported = runner.invoke(cli, ["import", "incidents", str(source)], env=_env(platform))
        assert imported.exit_code == 1
        assert "rolled back: the database is full" in _said(imported)
    after = row_counts(platform)
    assert after == before and after["incidents"] == 20  # what was stored is still there
    assert _chain_intact(platform)
    again = runner.invoke(cli, ["import", "incidents", str(source)], env=_env(platform))
    assert again.exit_code == 0, again.output
    assert row_counts(platform)["incidents"] == 2020
