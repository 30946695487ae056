"""Database faults that the operator mends, not the caller: the database server down or
restarting, SQLite's write lock held by another writer beyond the busy timeout, the disk full.

`database_fault(exc)` names the fault behind an exception (SQLAlchemy's, or the raw driver's
that the bulk writes meet) as a DomainError that carries its HTTP status (503 or 507), so the
API, the CLI and the importer say the same clear thing. Anything else is not a fault here
(None): a bug stays a bug.

A fault can reach the API wrapped in another error (pydantic reading a lazy attribute of a
record turns the database's error into a ValidationError). So every engine notes the faults it
meets in the request that meets them (`watching`, `fault_seen`), and the API answers such a
request with the fault, not with a 500.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cmcc.core.errors import DomainError


class DatabaseFault(DomainError):
    """A fault of the database, not of the request: the same request may succeed later."""

    http_status = 503
    retry_after = 5  # seconds, for the Retry-After header


class DatabaseUnavailable(DatabaseFault):
    code = "database-unavailable"
    title = "The database is not available"


class DatabaseBusy(DatabaseFault):
    code = "database-busy"
    title = "The database is busy"
    retry_after = 2


class DatabaseFull(DatabaseFault):
    http_status = 507
    code = "database-full"
    title = "The database is full"
    retry_after = 60


# Each fault rolls its whole transaction back: what the request would have written is not
# written, in part or at all.
UNAVAILABLE = "the database is not available (down, restarting or unreachable); try again shortly"
BUSY = "the database is busy, try again: another writer holds it"
FULL = (
    "the database is full (no space left on its disk, or its size limit reached); the "
    "operator must free space"
)
# PostgreSQL SQLSTATEs: 08 connection exceptions, 57P operator intervention (shutdown,
# crash, cannot connect now), 53100 disk full, 53300 too many connections.
PG_UNAVAILABLE = ("08", "57P")


def database_fault(exc: BaseException) -> DatabaseFault | None:
    """The fault behind `exc`, or None when it is not one."""
    if isinstance(exc, DatabaseFault):
        return exc
    if isinstance(exc, PoolTimeout):  # every pooled connection in use beyond the pool timeout
        return DatabaseBusy(BUSY)
    orig: BaseException = exc
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return DatabaseUnavailable(UNAVAILABLE)
        orig = exc.orig or exc
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return DatabaseBusy(BUSY)
        if name.startswith("SQLITE_FULL"):
            return DatabaseFull(FULL)
        return None
    if isinstance(orig, psycopg.Error):
        state = orig.sqlstate
        if state == "53100":
            return DatabaseFull(FULL)
        if state == "53300":
            return DatabaseBusy(BUSY)
        if state is not None and state.startswith(PG_UNAVAILABLE):
            return DatabaseUnavailable(UNAVAILABLE)
        if state is None and isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError):
            return DatabaseUnavailable(UNAVAILABLE)  # no answer from the server at all
    return None


_SEEN: ContextVar[list[DatabaseFault] | None] = ContextVar("cmcc_database_faults", default=None)


@contextmanager
def watching() -> Iterator[None]:
    """Note the database faults met inside the block (threads started from it included: they
    copy the context, and with it the same list)."""
    token = _SEEN.set([])
    try:
        yield
    finally:
        _SEEN.reset(token)


def fault_seen() -> DatabaseFault | None:
    """The first database fault met inside the current `watching` block, if any."""
    seen = _SEEN.get()
    return seen[0] if seen else None


def watch(engine: Engine) -> None:
    """Note each fault the engine meets (a failed ping before a connection is reused is not
    one: the pool then connects again)."""

    @event.listens_for(engine, "handle_error")
    def _note(context: Any) -> None:
        seen = _SEEN.get()
        if seen is None or context.is_pre_ping:
            return
        fault = database_fault(context.sqlalchemy_exception or context.original_exception)
        if fault is not None:
            seen.append(fault)
