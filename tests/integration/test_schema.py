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


def test_the_database_refuses_malformed_markings(platform: Platform) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    for kind, release_to in (("secret", None), ("rel", None), ("mission", "|GBR|")):
        with pytest.raises(IntegrityError), platform.engine.begin() as conn:
            conn.execute(
                text("UPDATE states SET releasability = :k, release_to = :r WHERE iso3 = 'IDN'"),
                {"k": kind, "r": release_to},
            )


def test_check_constraints_match_the_models(platform: Platform) -> None:
    """alembic check does not compare CHECK constraints: compare their names here."""
    from sqlalchemy import CheckConstraint, inspect

    from cmcc.schema import metadata

    with platform.engine.connect() as conn:
        insp = inspect(conn)
        for table in metadata.sorted_tables:
            model = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
            stored = {c["name"] for c in insp.get_check_constraints(table.name)}
            assert model == stored, table.name
