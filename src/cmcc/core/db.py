"""Declarative base, shared column types and the engine for SQLite (embedded) or PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from cmcc.core.dbfaults import watch

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stored: dt.datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=dt.UTC)
        return stored.astimezone(dt.UTC)


@contextmanager
def raw_cursor(session: Session) -> Iterator[Any]:
    """A cursor of the driver's own connection under the session, in its transaction (for
    what SQLAlchemy adds only cost to: executemany of plain tuples, COPY, shadow tables)."""
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    finally:
        cursor.close()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


WRITE_OPTION = "cmcc_write"
# SQLite reads the file through a memory map of up to this size (address space, not memory:
# the pages are the operating system's file cache). Measured over 1,000,000 incidents: bbox and
# time queries p50 8.1 -> 5.3 ms, p95 13.7 -> 9.8 ms (no copy of each page into SQLite's cache).
SQLITE_MMAP_BYTES = 1 << 30


# PostgreSQL plans each statement for its own values. psycopg prepares a statement a connection
# has run 5 times, and PostgreSQL may then keep one generic plan for it, made without the
# values: measured over 1,000,000 incidents, once the picture's common request (a box of a few
# kilometres) had run on a connection, the whole Strip over a year took 1.3-1.5 s on that plan
# instead of 0.21-0.27 s. Planning each time costs the common request about 0.35 ms.
PLAN_CACHE_MODE = "force_custom_plan"


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, *, busy_seconds: float = 10.0, **kwargs: Any) -> Engine:
    """Create the engine. On SQLite: WAL, foreign keys, and BEGIN IMMEDIATE for write units of work
    so that concurrent writers queue instead of failing when they upgrade a read lock; a writer
    waits `busy_seconds` for the lock. On PostgreSQL: each pooled connection is checked before
    use (after a restart of the server the pool reconnects by itself), and a new connection is
    waited for `busy_seconds` at most. JSON columns are read and written with orjson on both
    backends (many times faster than json). Faults: `cmcc.core.dbfaults`."""
    kwargs = {"json_serializer": _json_text, "json_deserializer": orjson.loads, **kwargs}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={round(busy_seconds * 1000)}")
            cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            write = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        watch(engine)
        return engine
    connect = {"connect_timeout": max(1, round(busy_seconds))}  # libpq: whole seconds, 0 = none
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_pg_connect(dbapi_conn: Any, _record: Any) -> None:
        # a SET, not a startup option, which some connection poolers refuse; committed, or the
        # pool's rollback would undo it
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET plan_cache_mode = {PLAN_CACHE_MODE}")
        dbapi_conn.commit()

    watch(engine)
    return engine


def refresh_statistics(engine: Engine) -> None:
    """After a bulk load (a scenario, an import): the query planner's statistics of every
    table. PostgreSQL's autovacuum comes to it in its own time; until then a query over the
    new rows (the audit log's release filter, say) can take seconds instead of milliseconds."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
