"""A table's spatial index set aside for a bulk load, then built once (`cmcc import --bulk`).

SQLite: the R*Tree's insert trigger (`cmcc.geo.ddl`) is dropped for the load, so rows arrive
without index entries; afterwards the entries of the new rows are computed by the trigger's own
expressions and the whole tree, the entries it held and the new ones, is written packed
(`cmcc.geo.maintenance.repack`, as `cmcc index optimize` does), and the trigger is created again.
PostgreSQL: the GiST index is dropped and made again by its CREATE INDEX.

Both happen inside the load's transaction, and DDL is transactional on both backends: a load
that fails, or whose process is killed, leaves the table, its index and its triggers as they
were (nothing to repair). The statements come from `cmcc.geo.ddl`, so a change of the index's
columns there carries over here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from cmcc.core.db import raw_cursor
from cmcc.geo.ddl import create_spatial_index
from cmcc.geo.maintenance import repack

# the trigger that fills the R*Tree: INSERT INTO <rtree> (<columns>) VALUES (<new.expressions>)
TRIGGER_INSERT = re.compile(r"BEGIN INSERT INTO (\w+) \(([^)]*)\) VALUES \((.*)\); END$")
PG_BUILD_MEMORY = "512MB"  # maintenance_work_mem for the CREATE INDEX after a load


@dataclass(frozen=True)
class SuspendedIndex:
    dialect: str
    table: str
    create: str  # the statement that puts back what was set aside
    top_id: int  # SQLite: the highest id before the load (the new rows have higher ones)


def _statement(dialect: str, table: str, time_col: str | None, start: str) -> str:
    found = [s for s in create_spatial_index(dialect, table, time_col) if s.startswith(start)]
    if len(found) != 1:
        raise RuntimeError(f"no single '{start}' for {table} in cmcc.geo.ddl")
    return found[0]


def suspend(session: Session, table: str, time_col: str | None) -> SuspendedIndex:
    """Drop what keeps the index in step with each insert, in the session's transaction."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        create = _statement(dialect, table, time_col, "CREATE INDEX")
        session.execute(text(f"DROP INDEX {create.split()[2]}"))
        return SuspendedIndex(dialect, table, create, 0)
    create = _statement(dialect, table, time_col, f"CREATE TRIGGER {table}_rtree_insert ")
    if TRIGGER_INSERT.search(create) is None:
        raise RuntimeError(f"the R*Tree trigger of {table} has an unexpected form: {create}")
    top = session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}"))  # noqa: S608
    session.execute(text(f"DROP TRIGGER {table}_rtree_insert"))
    return SuspendedIndex(dialect, table, create, int(top or 0))


def rebuild(session: Session, index: SuspendedIndex) -> int:
    """Build the index over the rows added since `suspend`; the number of R*Tree entries
    added on SQLite (0 on PostgreSQL, where CREATE INDEX covers the whole table)."""
    if index.dialect == "postgresql":
        session.execute(text(f"SET LOCAL maintenance_work_mem = '{PG_BUILD_MEMORY}'"))
        session.execute(text(index.create))
        return 0
    match = TRIGGER_INSERT.search(index.create)
    assert match is not None  # checked by suspend
    values = match.group(3)  # the trigger's values: in the R*Tree's column order
    select = f"SELECT {values} FROM {index.table} AS new WHERE new.id > ?"  # noqa: S608
    with raw_cursor(session) as cursor:
        rows = cursor.execute(select, (index.top_id,)).fetchall()
        if rows:
            repack(cursor, index.table, rows)
    session.execute(text(index.create))
    return len(rows)
