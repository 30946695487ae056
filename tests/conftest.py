"""Fixtures shared by every tier: a platform on SQLite and on PostgreSQL/PostGIS, an API client.

Integration tests take the `platform` fixture and run once per backend. PostgreSQL must be
reachable (CMCC_TEST_POSTGRES_URL, default the test machines' 127.0.0.1:5432 with trust auth):
a missing server fails the run; it never skips. Only CMCC_TEST_BACKENDS=sqlite leaves it out.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cmcc.api.app import create_app
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.initialize import initialize
from cmcc.schema import metadata, upgrade

PG_ADMIN_URL = os.environ.get(
    "CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [b for b in os.environ.get("CMCC_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
SECRET = "test-secret-" + "x" * 32
NATS_URL = os.environ.get("CMCC_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + dbname


def _no_commit_wait(admin: psycopg.Connection[Any], name: str) -> None:
    """A test database's commits do not wait for the WAL to reach the disk
    (`synchronous_commit = off`, for this database only): a crash of the server could lose the
    last moments of a test database, which nothing needs; what a test sees is unchanged."""
    admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, with PostGIS; dropped at the end."""
    name = f"cmcc_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); start it, or set "
            "CMCC_TEST_BACKENDS=sqlite to leave the PostgreSQL tier out knowingly",
            pytrace=False,
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        _no_commit_wait(admin, name)
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The NATS server with JetStream of the scale-out tests (`make nats` starts one); a
    missing server fails the run, it never skips."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(NATS_URL)
    try:
        socket.create_connection((where.hostname or "", where.port or 4222), timeout=5).close()
    except OSError as exc:
        pytest.fail(f"NATS is not reachable at {NATS_URL} ({exc}); run `make nats`", pytrace=False)
    return NATS_URL


@pytest.fixture
def nats_namespace(nats_url: str) -> Iterator[str]:
    """A namespace of its own for each test (CMCC_NATS_NAMESPACE): parallel runs on one
    NATS server never meet; its positions stream is removed afterwards."""
    from tests.asyncrun import run
    from tests.jetstream import remove_stream

    name = f"t{uuid.uuid4().hex[:12]}"
    yield name
    settings = Settings(nats_url=nats_url, nats_namespace=name, secret_key=SECRET)
    run(remove_stream(settings))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated and seeded SQLite file that each test copies."""
    folder = tmp_path_factory.mktemp("template")
    platform = bootstrap(Settings(home=folder, secret_key=SECRET, environment="test"))
    initialize(platform)
    platform.dispose()
    return folder / "cmcc.sqlite3"


@dataclass(frozen=True)
class _Seed:
    """What `initialize` leaves in a PostgreSQL test database: the rows of each table it fills,
    and where each sequence it moved stands."""

    revision: str
    rows: dict[str, list[dict[str, Any]]]
    sequences: list[tuple[str, int]]


_seeds: dict[str, _Seed] = {}
_PROBES = " UNION ALL ".join(
    f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in metadata.sorted_tables
)
_SEQUENCE = "format('%I.%I', schemaname, sequencename)"
_MOVED = "FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
_SEQUENCES = f"SELECT {_SEQUENCE}, last_value {_MOVED}"
_RESTART = f"SELECT setval({_SEQUENCE}, 1, false) {_MOVED}"
_REVISION = "SELECT version_num FROM alembic_version"


def _reset_postgres(url: str) -> Platform:
    """The test database put back to what `initialize` made. The first time it runs
    `initialize` and keeps its rows (`_Seed`); afterwards it deletes the rows of the tables
    that hold any (found in one query), puts the seeded rows back and the sequences where they
    stood, in one transaction with the foreign keys' and the audit log's triggers off
    (`session_replication_role = replica`, the test user is a superuser). A TRUNCATE cascades
    to every table that refers to organizations, about 0.3 s of file operations, and seeding
    again through the services about 0.2 s more, on each of some 800 tests."""
    platform = bootstrap(Settings(database_url=url, secret_key=SECRET, environment="test"))
    seed = _seeds.get(url)
    if seed is None:
        initialize(platform)
        _seeds[url] = _keep_seed(platform)
        return platform
    with platform.engine.connect() as conn:
        revision = conn.scalar(text(_REVISION))
    if revision != seed.revision:  # a test that migrated down failed before it came back up
        upgrade(platform.engine)
    with platform.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        used = [row[0] for row in conn.execute(text(_PROBES))]
        for name in used:
            conn.execute(text(f'DELETE FROM "{name}"'))
        for name, rows in seed.rows.items():
            conn.execute(metadata.tables[name].insert(), rows)
        conn.execute(text(_RESTART))
        for sequence, value in seed.sequences:
            conn.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": value})
    with platform.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # the deleted rows' space back at once (the test machines run without autovacuum:
        # 800 tests' dead rows made every later scan slower)
        conn.execute(text("VACUUM " + ", ".join(f'"{name}"' for name in used)))
    return platform


def _keep_seed(platform: Platform) -> _Seed:
    with platform.engine.connect() as conn:
        used = [row[0] for row in conn.execute(text(_PROBES))]
        rows = {
            name: [dict(r._mapping) for r in conn.execute(metadata.tables[name].select())]
            for name in used
        }
        sequences = [(str(r[0]), int(r[1])) for r in conn.execute(text(_SEQUENCES))]
        revision = str(conn.scalar(text(_REVISION)))
    return _Seed(revision, rows, sequences)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def platform(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    """A platform with the schema, the CMCC organization and the states, on each backend."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "cmcc.sqlite3")
        p = bootstrap(Settings(home=tmp_path, secret_key=SECRET, environment="test"))
    else:
        p = _reset_postgres(request.getfixturevalue("pg_database"))
    yield p
    p.dispose()


@pytest.fixture(scope="session")
def gaza_templates(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict[str, str]]:
    """The gaza-2025 scenario loaded once per run and backend (filled on first use by `gaza`):
    backend -> the SQLite file, or the PostgreSQL database to copy."""
    made: dict[str, str] = {}
    yield made
    if "postgresql" in made:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{made["postgresql"]}" WITH (FORCE)')


def _gaza_template(backend: str, request: pytest.FixtureRequest) -> str:
    from cmcc.cli.common import operator_session
    from cmcc.core.db import refresh_statistics
    from cmcc.scenarios.loader import load_scenario

    made: dict[str, str] = request.getfixturevalue("gaza_templates")
    if backend in made:
        return made[backend]
    if backend == "sqlite":
        folder = request.getfixturevalue("tmp_path_factory").mktemp("gaza")
        shutil.copy(request.getfixturevalue("sqlite_template"), folder / "cmcc.sqlite3")
        p = bootstrap(Settings(home=folder, secret_key=SECRET, environment="test"))
        where = str(folder / "cmcc.sqlite3")
    else:
        where = f"{request.getfixturevalue('pg_database').rsplit('/', 1)[1]}_gaza"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{where}"')
            _no_commit_wait(admin, where)
        p = bootstrap(Settings(database_url=_pg_url(where), secret_key=SECRET, environment="test"))
        initialize(p)
    with operator_session(p, write=True, actor="system:test") as session:
        load_scenario(session, "gaza-2025", aoi=p.settings.aoi_bbox, fence=p.fence())
    refresh_statistics(p.engine)  # as `cmcc scenario load` does: the copies keep them
    p.dispose()
    made[backend] = where
    return where


@pytest.fixture
def gaza(backend: str, request: pytest.FixtureRequest) -> Iterator[Platform]:
    """The platform with the gaza-2025 scenario loaded: a copy of a template loaded once per
    run and backend (the scenario's loading is tested on its own, in test_scenario_*). On
    SQLite it is the `platform` fixture's, its file replaced; on PostgreSQL a database of its
    own (the `platform` fixture's is not emptied for it)."""
    template = _gaza_template(backend, request)
    if backend == "sqlite":
        platform: Platform = request.getfixturevalue("platform")
        platform.dispose()
        target = Path(platform.settings.effective_database_url.removeprefix("sqlite:///"))
        for extra in ("-wal", "-shm"):
            target.with_name(target.name + extra).unlink(missing_ok=True)
        shutil.copy(template, target)
        platform._fence = None  # loaded again from the copy on first use
        yield platform
        return
    name = f"{template}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        _no_commit_wait(admin, name)
    copy = bootstrap(Settings(database_url=_pg_url(name), secret_key=SECRET, environment="test"))
    try:
        yield copy
    finally:
        copy.dispose()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as c:
        yield c
