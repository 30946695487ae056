"""`cmcc backup` and `cmcc restore` on both backends: a restore returns the database to the
backup's moment with its audit chain intact; a database that is not empty, a damaged or
foreign file, or a database in use is refused, and the target keeps everything it had.

Each PostgreSQL test works in its own scratch databases (cloned from a migrated template made
once per module), dropped at the end.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import tarfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cmcc.access.domain import Principal, Role
from cmcc.access.models import Organization
from cmcc.audit.models import AuditHead
from cmcc.audit.service import verify
from cmcc.bootstrap import Platform, bootstrap
from cmcc.cli import app
from cmcc.config import Settings
from cmcc.initialize import initialize
from cmcc.ops.backup import backup, restore
from cmcc.ops.errors import BackupError, TargetNotEmpty
from cmcc.ops.postgres_store import find_tool
from tests.factories import caller, org, row_counts

PG_ADMIN_URL = os.environ.get(
    "CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = os.environ.get("CMCC_TEST_BACKENDS", "sqlite,postgresql").split(",")
SECRET = "test-secret-" + "x" * 32


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + dbname


def _admin(statement: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(statement)


@pytest.fixture(scope="module")
def pg_template() -> Iterator[str]:
    """A migrated, seeded database that each PostgreSQL test clones (cloning takes a moment,
    migrating takes long)."""
    name = f"cmcc_backup_tpl_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        platform = bootstrap(Settings(database_url=_pg_url(name), secret_key=SECRET))
        initialize(platform)
        platform.dispose()
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


Opener = Callable[[bool], Platform]


@pytest.fixture
def open_platform(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens platforms on scratch databases of the backend: `open_platform(True)` a migrated
    and seeded one, `open_platform(False)` a new, empty one."""
    opened: list[Platform] = []
    databases: list[str] = []

    def open_one(seeded: bool) -> Platform:
        if backend == "sqlite":
            home = tmp_path / f"home{len(opened)}"
            home.mkdir()
            if seeded:
                shutil.copy(request.getfixturevalue("sqlite_template"), home / "cmcc.sqlite3")
            settings = Settings(home=home, secret_key=SECRET, environment="test")
        else:
            name = f"cmcc_backup_{uuid.uuid4().hex[:10]}"
            template = f' TEMPLATE "{request.getfixturevalue("pg_template")}"' if seeded else ""
            _admin(f'CREATE DATABASE "{name}"{template}')
            databases.append(name)
            settings = Settings(database_url=_pg_url(name), secret_key=SECRET, environment="test")
        platform = bootstrap(settings)
        opened.append(platform)
        return platform

    yield open_one
    for platform in opened:
        platform.dispose()
    for name in databases:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _org_codes(platform: Platform) -> list[str]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return list(s.scalars(select(Organization.code).order_by(Organization.code)))


def _audit_head(platform: Platform) -> tuple[int, str]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        head = s.execute(select(AuditHead.seq, AuditHead.hash)).one()
        return int(head.seq), str(head.hash)


def _state(platform: Platform) -> tuple[dict[str, int], list[str], tuple[int, str]]:
    """What a restore must bring back: rows per table, the organizations, the audit head."""
    return row_counts(platform), _org_codes(platform), _audit_head(platform)


def _verified(platform: Platform) -> bool:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return verify(s).ok


def test_restore_returns_to_the_backups_moment(open_platform: Opener, tmp_path: Path) -> None:
    live = open_platform(True)
    caller(live, "IDN", Role.LIAISON_OFFICER, password="correct horse battery")
    org(live, "PRCS")
    at_backup = _state(live)
    made = backup(live, tmp_path / "cmcc.backup")
    assert (made.manifest.snapshot.audit_seq, made.manifest.snapshot.audit_hash) == at_backup[2]

    org(live, "FRA")  # written after the backup: a restore takes it away
    caller(live, "GBR", Role.STAFF_OFFICER)
    assert "FRA" in _org_codes(live)

    done = restore(live, tmp_path / "cmcc.backup", force=True)
    assert done.ok, done.audit.problem
    assert _state(live) == at_backup
    assert _verified(live)

    # Into a new, empty database no --force is needed; the copy is the same moment.
    other = open_platform(False)
    assert restore(other, tmp_path / "cmcc.backup").ok
    assert _state(other) == at_backup


def test_a_database_that_is_not_empty_is_kept_without_force(
    open_platform: Opener, tmp_path: Path
) -> None:
    live = open_platform(True)
    backup(live, tmp_path / "cmcc.backup")
    org(live, "FRA")
    before = _state(live)
    with pytest.raises(TargetNotEmpty, match=r"is not empty \(.*audit entries\).*--force"):
        restore(live, tmp_path / "cmcc.backup")
    assert _state(live) == before


def test_a_backup_is_one_moment_while_writes_go_on(open_platform: Opener, tmp_path: Path) -> None:
    live = open_platform(True)
    stop, going, written = threading.Event(), threading.Event(), []

    def write() -> None:
        while not stop.is_set() and len(written) < 400:
            code = f"W{len(written):03d}"
            org(live, code)
            written.append(code)
            if len(written) == 5:
                going.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert going.wait(timeout=60), "the writer did not start"
        made = backup(live, tmp_path / "busy.backup")
    finally:
        stop.set()
        writer.join(timeout=60)
    other = open_platform(False)
    done = restore(other, tmp_path / "busy.backup")
    assert done.ok, done.audit.problem  # the chain ends exactly at the head the manifest names
    restored = set(_org_codes(other)) & set(written)
    assert len(restored) >= 5
    assert restored == set(written[: len(restored)])  # a prefix of the writes, no gap
    assert made.manifest.snapshot.audit_seq == done.audit.entries


def _rewrite(
    source: Path,
    out: Path,
    manifest: Callable[[dict[str, Any]], None] | None = None,
    payload: Callable[[bytes], bytes] | None = None,
) -> Path:
    """A copy of a backup with its manifest or its database copy changed (the checksum follows
    a changed copy, so that only the copy itself is wrong)."""
    import hashlib

    with tarfile.open(source) as tar:
        doc = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        name = doc["database"]["file"]
        data = tar.extractfile(name).read()  # type: ignore[union-attr]
    if payload:
        data = payload(data)
        doc["database"].update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    if manifest:
        manifest(doc)
    with tarfile.open(out, "w") as tar:
        for member, body in (("manifest.json", json.dumps(doc).encode()), (name, data)):
            info = tarfile.TarInfo(member)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0xFF])


def test_a_bad_file_is_refused_and_the_target_keeps_everything(
    open_platform: Opener, tmp_path: Path, backend: str
) -> None:
    live = open_platform(True)
    good = backup(live, tmp_path / "good.backup").path
    org(live, "FRA")
    before = _state(live)
    (tmp_path / "text.backup").write_text("not a backup\n")
    with tarfile.open(tmp_path / "bare.backup", "w") as tar:
        tar.add(tmp_path / "text.backup", arcname="notes.txt")
    (tmp_path / "short.backup").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(good.read_bytes())
    with damaged.open("r+b") as f:  # one byte of the database copy, past the manifest
        f.seek(4096)
        f.write(bytes([f.read(1)[0] ^ 0xFF]))
    other = "postgresql" if backend == "sqlite" else "sqlite"
    cases = {
        "text.backup": r"not a CMCC backup: it is not a tar archive",
        "bare.backup": r"not a CMCC backup: it does not start with manifest.json",
        "short.backup": r"damaged or cut short",
        "damaged.backup": r"damaged: its database copy does not match the size and SHA-256",
        "garbage.backup": r"damaged: (its database copy is not a SQLite database|pg_restore)",
        "newer.backup": r"made by a newer CMCC .* schema revision 9999 is unknown",
        "format.backup": r"written by a newer CMCC \(backup format 2",
        "other.backup": r"is a backup of a .* database, but the configured database is",
        "missing.backup": r"no such file",
    }
    _rewrite(good, tmp_path / "garbage.backup", payload=lambda d: b"\0garbage" * 5000)
    _rewrite(good, tmp_path / "newer.backup", manifest=lambda m: m.update(schema_revision="9999"))
    _rewrite(good, tmp_path / "format.backup", manifest=lambda m: m.update(format_version=2))
    _rewrite(good, tmp_path / "other.backup", manifest=lambda m: m.update(backend=other))
    for name, message in cases.items():
        with pytest.raises(BackupError, match=message):
            restore(live, tmp_path / name, force=True)
        assert _state(live) == before, f"{name} changed the database"
    assert _verified(live)
    assert not [p.name for p in tmp_path.iterdir() if ".cmcc-restore-" in p.name]


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "sqlite"])
def test_sqlite_in_use_is_refused(open_platform: Opener, tmp_path: Path) -> None:
    """SQLite only: on PostgreSQL the restore's transaction waits for the other sessions."""
    live = open_platform(True)
    made = backup(live, tmp_path / "cmcc.backup")
    path = Path(live.settings.effective_database_url.removeprefix("sqlite:///"))
    holder = sqlite3.connect(path)
    holder.execute("SELECT count(*) FROM organizations").fetchone()  # opens the WAL
    try:
        with pytest.raises(BackupError, match=r"open in another process .* stop `cmcc serve`"):
            restore(live, made.path, force=True)
    finally:
        holder.close()
    assert restore(live, made.path, force=True).ok


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_postgres_restore_is_whole_or_nothing(open_platform: Opener, tmp_path: Path) -> None:
    """PostgreSQL only (a SQLite restore replaces the whole file): tables the backup lacks are
    refused before anything is touched, and a restore that fails halfway is rolled back."""
    live = open_platform(True)
    made = backup(live, tmp_path / "cmcc.backup")
    with live.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE stray (id integer)")
    before = _state(live)
    with pytest.raises(BackupError, match=r"has tables the backup does not \(public.stray\)"):
        restore(live, made.path, force=True)
    assert _state(live) == before

    with live.engine.begin() as conn:  # pg_restore --clean cannot drop `states` under it
        conn.exec_driver_sql("DROP TABLE stray")
        conn.exec_driver_sql(
            "CREATE FUNCTION every_state() RETURNS SETOF states LANGUAGE sql "
            "AS 'SELECT * FROM states'"
        )
    org(live, "FRA")
    before = _state(live)
    with pytest.raises(BackupError, match=r"pg_restore into .* failed and was rolled back"):
        restore(live, made.path, force=True)
    assert _state(live) == before
    assert _verified(live)


def test_a_missing_postgres_tool_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match=r"pg_dump was not found on PATH nor in .*/99/bin"):
        find_tool("pg_dump", 99)


def test_the_commands(open_platform: Opener, tmp_path: Path) -> None:
    live = open_platform(True)
    caller(live, "IDN", Role.LIAISON_OFFICER)
    before = _state(live)
    live.dispose()  # the commands open their own platform on the same database
    runner = CliRunner()
    env = {
        "CMCC_DATABASE_URL": live.settings.effective_database_url,
        "CMCC_SECRET_KEY": SECRET,
    }
    target = tmp_path / "nightly.backup"
    made = runner.invoke(app, ["backup", str(target)], env=env)
    assert made.exit_code == 0, made.output
    assert "backup written" in made.output and target.is_file()
    assert oct(target.stat().st_mode & 0o777) == "0o600"  # records and hashes: owner only

    refused = runner.invoke(app, ["restore", str(target)], env=env)
    assert refused.exit_code == 1
    assert "not empty" in refused.output and "--force" in refused.output

    org(live, "FRA")
    live.dispose()
    done = runner.invoke(app, ["restore", str(target), "--force"], env=env)
    assert done.exit_code == 0, done.output
    assert "audit log intact" in done.output
    checked = runner.invoke(app, ["audit", "verify"], env=env)
    assert checked.exit_code == 0, checked.output
    assert _state(live) == before

    bad = runner.invoke(app, ["restore", str(tmp_path), "--force"], env=env)
    assert bad.exit_code == 1 and "not a file" in " ".join(bad.output.split())
