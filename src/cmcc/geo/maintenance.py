"""Index maintenance after bulk loads.

SQLite's R*Tree is filled row by row by triggers, in whatever order rows arrive; a tree built
from entries sorted along a space-filling curve is much tighter (measured: half the lookup
time over 1,000,000 incidents). `optimize` rebuilds each R*Tree in Morton (Z-order) order. On
PostgreSQL the GiST indexes need no such thing; `optimize` refreshes the planner statistics.
Index contents only: no record changes, so nothing enters the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.orm import Session

from cmcc.geo.ddl import SPATIAL_TABLES, table_rtree_columns

BITS = 21  # per dimension: 3 x 21 = 63 bits


@dataclass(frozen=True)
class OptimizeResult:
    backend: str
    entries: dict[str, int]


def _spread(v: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Insert two zero bits between the bits of a 21-bit integer (for 3-D interleaving)."""
    v = v & np.uint64(0x1FFFFF)
    for shift, mask in (
        (32, 0x1F00000000FFFF),
        (16, 0x1F0000FF0000FF),
        (8, 0x100F00F00F00F00F),
        (4, 0x10C30C30C30C30C3),
        (2, 0x1249249249249249),
    ):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def _scaled(a: npt.NDArray[np.float64]) -> npt.NDArray[np.uint64]:
    span = float(a.max() - a.min()) or 1.0
    scaled: npt.NDArray[np.uint64] = ((a - a.min()) / span * (2**BITS - 1)).astype(np.uint64)
    return scaled


def morton_order(*coords: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """The order of points along the Z-order curve over up to three coordinates."""
    key = np.zeros(len(coords[0]), dtype=np.uint64)
    for i, c in enumerate(coords):
        key |= _spread(_scaled(c)) << np.uint64(i)
    return np.argsort(key, kind="stable")


def optimize(session: Session) -> OptimizeResult:
    dialect = session.get_bind().dialect.name
    if dialect != "sqlite":
        session.execute(text("ANALYZE"))  # every table: the audit log's filter needs them too
        return OptimizeResult(dialect, {})
    counts = {}
    for table, timed in SPATIAL_TABLES.items():
        names = table_rtree_columns(table)
        cols = ", ".join(names)
        rows = session.execute(text(f"SELECT {cols} FROM {table}_rtree")).all()  # noqa: S608
        counts[table] = len(rows)
        if not rows:
            continue
        arr = np.array([r[: 7 if timed else 5] for r in rows], dtype=np.float64)  # no marking
        centres = [(arr[:, 1] + arr[:, 2]) / 2, (arr[:, 3] + arr[:, 4]) / 2]
        if timed:
            centres.append((arr[:, 5] + arr[:, 6]) / 2)
        order = morton_order(*centres)
        marks = ", ".join(f":{c}" for c in names)
        session.execute(text(f"DELETE FROM {table}_rtree"))  # noqa: S608
        session.execute(
            text(f"INSERT INTO {table}_rtree ({cols}) VALUES ({marks})"),  # noqa: S608
            [rows[i]._asdict() for i in order],
        )
    session.execute(text("ANALYZE"))
    return OptimizeResult(dialect, counts)
