"""Migrations and models agree (alembic check), and PostgreSQL has PostGIS."""

from __future__ import annotations

from sqlalchemy import text

from cmcc import schema
from cmcc.bootstrap import Platform


def test_migrations_match_the_models(platform: Platform) -> None:
    schema.check(platform.engine)


def test_backend_specifics(platform: Platform, backend: str) -> None:
    with platform.engine.connect() as conn:
        if backend == "postgresql":
            assert conn.execute(text("SELECT postgis_version()")).scalar()
        else:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
