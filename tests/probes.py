"""Probes the tests use to see, from outside, what another process does in the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager

import psycopg

from cmcc.bootstrap import Platform


@contextmanager
def write_probe(platform: Platform) -> Iterator[Callable[[], bool]]:
    """Whether another connection is inside a write transaction right now. SQLite: the write
    lock is taken (BEGIN IMMEDIATE, asked without waiting); PostgreSQL: a session of the
    database has written in its open transaction (it holds a transaction id)."""
    url = platform.engine.url
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(str(url.database), timeout=0, isolation_level=None)) as c:

            def locked() -> bool:
                try:
                    c.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError:
                    return True
                c.execute("ROLLBACK")
                return False

            yield locked
        return
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as c:

        def writing() -> bool:
            stmt = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
            )
            row = c.execute(stmt).fetchone()
            return bool(row and row[0])

        yield writing
