"""Whether a server runs on the database, for the loads that need it alone (`--bulk`).

`cmcc serve` and `cmcc gateway` hold a shared lock for as long as they run: on PostgreSQL the
advisory lock `SERVER_LOCK` (session level, on a connection of their own), on SQLite a `flock`
on the file `<database file>.serving`. Any number of servers share it. A bulk load takes it
exclusively without waiting (`pg_try_advisory_xact_lock`, `LOCK_EX | LOCK_NB`) and is refused
with `ServerRunning` when it cannot. Both locks go away with the process that held them, even
after kill -9: a crashed server never blocks a load.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cmcc.core.errors import Conflict

SERVER_LOCK = 0x434D_4343_5356  # "CMCCSV": the advisory lock key of running servers


class ServerRunning(Conflict):
    code = "server-running"
    title = "A server runs on the database"


def _lock_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".serving")


class ServerPresence:
    """The shared lock of a running server; released by `release` or by the end of the process."""

    def __init__(self, engine: Engine) -> None:
        self._conn: Connection | None = None
        self._fd: int | None = None
        if engine.dialect.name == "postgresql":
            self._conn = engine.connect()
            self._conn.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": SERVER_LOCK})
            self._conn.commit()
            return
        path = _lock_file(engine)
        if path is not None:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_SH)  # waits only while a bulk load runs

    def release(self) -> None:
        if self._conn is not None:
            self._conn.invalidate()  # closed, not back to the pool: its advisory lock ends
            self._conn.close()
            self._conn = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextmanager
def no_server(engine: Engine) -> Iterator[None]:
    """SQLite: hold the lock file exclusively for the block, or raise ServerRunning at once.
    (PostgreSQL: see `refuse_if_serving`, inside the load's own transaction.)"""
    path = _lock_file(engine) if engine.dialect.name == "sqlite" else None
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServerRunning(
                f"a server runs on this database (it holds {path}); stop `cmcc serve` and "
                "`cmcc gateway` first, or import without --bulk"
            ) from None
        yield
    finally:
        os.close(fd)


def refuse_if_serving(conn: Session, table: str) -> None:
    """PostgreSQL, in the load's transaction: the servers' lock exclusively and the table in
    ACCESS EXCLUSIVE mode, both until the transaction ends, both without waiting."""
    taken = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SERVER_LOCK})
    if not taken.scalar():
        raise ServerRunning(
            "a server runs on this database (it holds the advisory lock "
            f"{SERVER_LOCK}); stop `cmcc serve` and `cmcc gateway` first, or import without --bulk"
        )
    try:
        with conn.begin_nested():
            conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT"))
    except OperationalError:  # lock_not_available
        raise ServerRunning(
            f"the {table} table is in use by another session; a bulk load needs it alone"
        ) from None
