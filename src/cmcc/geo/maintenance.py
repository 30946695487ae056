"""Index maintenance after bulk loads.

SQLite's R*Tree is filled row by row by triggers, in whatever order rows arrive: its nodes are
half full and their boxes overlap. `optimize` rebuilds each R*Tree packed
(`cmcc.geo.packing`: Sort-Tile-Recursive, every node full and covering one tile), which over
1,000,000 incidents makes a lookup of the picture's common box twenty times faster.

On PostgreSQL a GiST index needs no repacking, but the rows it finds lie wherever they were
written: a box of 180 incidents read 155 heap blocks. `optimize` rewrites each table with a
time dimension in the order of its GiST index (CLUSTER: the rows of a box and window then
share blocks, half as many), then refreshes the planner statistics. Each table is clustered in
a transaction of its own, so it is locked only while it is rewritten (about 11 s per
1,000,000 incidents here): run `optimize` after a bulk load or at a quiet hour. It waits at
most CLUSTER_LOCK_WAIT for a table another session holds (every reader queues behind a waiting
CLUSTER), then gives up, that table as it was.

Storage only: no record changes (ids, values and versions stay), so nothing enters the audit
log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cmcc.core.db import raw_cursor
from cmcc.core.errors import Conflict
from cmcc.geo.ddl import SPATIAL_TABLES, gist_name, table_rtree_columns
from cmcc.geo.packing import Entries, pack

CLUSTER_LOCK_WAIT = "10s"
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout that ran out

Units = Callable[[], AbstractContextManager[Session]]
"""Opens a unit of work (one transaction) of the operator who runs the maintenance."""


@dataclass(frozen=True)
class OptimizeResult:
    backend: str
    entries: dict[str, int]  # SQLite: the entries of each R*Tree packed
    clustered: tuple[str, ...] = ()  # PostgreSQL: the tables written in their index's order


def _cluster(session: Session, table: str) -> None:
    # CLUSTER queues for an exclusive lock, and every reader queues behind it: behind a
    # session that keeps the table open it gives up after a while instead of stalling all.
    session.execute(text(f"SET LOCAL lock_timeout = '{CLUSTER_LOCK_WAIT}'"))
    try:
        session.execute(text(f"CLUSTER {table} USING {gist_name(table, True)}"))
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise Conflict(
            f"{table} is in use by another session (CLUSTER waited {CLUSTER_LOCK_WAIT} for it) "
            "and was left as it was; run `cmcc index optimize` again when it is free, for "
            "example with the server stopped"
        ) from None


def optimize(units: Units) -> OptimizeResult:
    """Pack SQLite's R*Trees (one transaction), or cluster PostgreSQL's tables with a time
    dimension (a transaction each) and refresh the planner statistics."""
    with units() as session:
        dialect = session.get_bind().dialect.name
        if dialect == "sqlite":
            return OptimizeResult(dialect, _pack_all(session))
    clustered = tuple(table for table, timed in SPATIAL_TABLES.items() if timed)
    for table in clustered:
        with units() as session:
            _cluster(session, table)
    with units() as session:
        session.execute(text("ANALYZE"))  # every table: the audit log's filter needs them too
    return OptimizeResult(dialect, {}, clustered)


def _pack_all(session: Session) -> dict[str, int]:
    with raw_cursor(session) as cursor:
        counts = {table: repack(cursor, table) for table in SPATIAL_TABLES}
    session.execute(text("ANALYZE"))
    return counts


def repack(cursor: Any, table: str, added: Sequence[Any] = ()) -> int:
    """Write the R*Tree of `table` (of `SPATIAL_TABLES`) packed, with the entries it holds and
    the rows `added` (in its column order, `table_rtree_columns`); how many entries it holds."""
    cols = ", ".join(table_rtree_columns(table))
    rows = cursor.execute(f"SELECT {cols} FROM {table}_rtree").fetchall() + list(added)  # noqa: S608
    pack(cursor, f"{table}_rtree", Entries.from_rows(rows, 3 if SPATIAL_TABLES[table] else 2))
    return len(rows)
