"""Which database errors are faults (503/507) and which stay bugs (500): PostgreSQL's by their
SQLSTATE (a full disk, a shutdown and too many connections cannot be caused on the shared
test server, so the driver's own error classes stand for them here; the SQLite faults and a
real PostgreSQL outage are caused for real in tests/integration/test_sqlite_faults.py and
tests/e2e/test_database_restart.py)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pg
from sqlalchemy.exc import OperationalError, ProgrammingError

from cmcc.core.dbfaults import DatabaseBusy, DatabaseFull, DatabaseUnavailable, database_fault


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (pg.DiskFull("could not extend file"), DatabaseFull),
        (pg.AdminShutdown("terminating connection"), DatabaseUnavailable),
        (pg.CannotConnectNow("the database system is starting up"), DatabaseUnavailable),
        (pg.ConnectionFailure("connection failure"), DatabaseUnavailable),
        (pg.TooManyConnections("too many clients"), DatabaseBusy),
        (psycopg.OperationalError("connection refused"), DatabaseUnavailable),  # no SQLSTATE
        (psycopg.InterfaceError("the connection is closed"), DatabaseUnavailable),
        (pg.UniqueViolation("duplicate key"), None),
        (pg.UndefinedTable("no such table"), None),
        (pg.QueryCanceled("canceling statement"), None),
    ],
)
def test_postgresql_errors(error: psycopg.Error, fault: type | None) -> None:
    found = database_fault(error)
    assert (type(found) if found else None) is fault
    wrapped = OperationalError("SELECT 1", {}, error)  # as SQLAlchemy raises it
    found = database_fault(wrapped)
    assert (type(found) if found else None) is fault


def test_a_bug_is_not_a_fault() -> None:
    assert database_fault(ValueError("x")) is None
    assert database_fault(ProgrammingError("SELECT", {}, Exception("syntax error"))) is None
