"""SQLite's R*Tree built in one pass: Sort-Tile-Recursive packing, written to its shadow tables.

An R*Tree filled by inserts, even in Z-order, has half-full nodes whose boxes overlap: over
1,000,000 incidents a lookup of a tiny box read hundreds of nodes (1.6 ms). Packed, each node is
full and covers one tile of space and time, and the same lookup reads one node a level
(0.02 ms; a box of 1-3 km and 30 days, 1.5 ms before, 0.07 ms after: docs/modules/picture.md).

SQLite keeps an R*Tree `<name>` in three tables (ext/rtree/rtree.c, "Database Format of R-Tree
Tables"): `<name>_node(nodeno, data)` with the root as node 1, `<name>_parent(nodeno,
parentnode)` and `<name>_rowid(rowid, nodeno, a0, a1, ...)` (the leaf of each entry and its
auxiliary columns). A node is a blob of the tree's node size: the tree's depth (in the root
only) and the number of cells, each a 16-bit big-endian integer, then the cells: a 64-bit
big-endian rowid (a child's node number above the leaves), then for each dimension the lower and
upper bound as big-endian 32-bit floats, rounded outwards (by one float32 step; SQLite's own
rounding may step further: either way the stored box holds the true one, and the queries'
exact test on the table's columns does the rest). `pack` writes exactly that, in the caller's
transaction, then has SQLite check the whole tree (`rtreecheck`): a tree it does not accept is
never committed.

Precondition: nothing in the same transaction has written through the R*Tree itself before
`pack` (SQLite versions differ in whether they keep its nodes cached for the rest of a write
transaction). `cmcc index optimize` and the bulk load's rebuild write nothing through it
first; a unit test holds the case of SQLite 3.40 so that an upgrade that breaks it shows.
"""

from __future__ import annotations

import sqlite3
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

HEADER = 4  # depth, number of cells


@dataclass(frozen=True)
class Entries:
    """The entries of an R*Tree: ids (n), lower and upper bounds (n x dimensions, in the
    tree's column order), and the auxiliary columns' values of each entry (or none)."""

    ids: npt.NDArray[np.int64]
    lo: npt.NDArray[np.float64]
    hi: npt.NDArray[np.float64]
    aux: list[tuple[Any, ...]]

    @classmethod
    def from_rows(cls, rows: list[Any], dimensions: int) -> Entries:
        """From rows in the R*Tree's column order: id, min, max for each dimension, aux."""
        n, width = len(rows), 1 + 2 * dimensions
        bounds = np.array([r[1:width] for r in rows], dtype=np.float64).reshape(n, width - 1)
        return cls(
            np.array([r[0] for r in rows], dtype=np.int64),
            bounds[:, 0::2],
            bounds[:, 1::2],
            [tuple(r[width:]) for r in rows],
        )


def _outwards(a: npt.NDArray[np.float64], down: bool) -> npt.NDArray[np.float32]:
    """To 32-bit floats, lower bounds rounded down and upper ones up (rtreeValueDown/Up)."""
    f = a.astype(np.float32)
    wrong = f.astype(np.float64) > a if down else f.astype(np.float64) < a
    f[wrong] = np.nextafter(f[wrong], np.float32(-np.inf if down else np.inf))
    return f


def _dense(*keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Labels 0, 1, ... for runs of equal key tuples in an array sorted by them."""
    change = np.zeros(len(keys[0]), dtype=bool)
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    return np.cumsum(change)


def str_groups(
    centres: npt.NDArray[np.float64], capacity: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Sort-Tile-Recursive: the order of the n points (n x k centres) and the start of each
    group of at most `capacity` (a node): slabs along the first axis, each cut along the next,
    the last cut into groups. Slabs hold whole groups, so no node straddles two tiles."""
    n, k = centres.shape
    idx = np.arange(n)
    part = np.zeros(n, dtype=np.int64)
    for d in range(k):
        order = np.lexsort((centres[idx, d], part))
        idx, part = idx[order], part[order]
        starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])
        sizes = np.diff(np.r_[starts, n])
        pos = np.arange(n) - np.repeat(starts, sizes)
        if d < k - 1:
            groups = np.ceil(sizes / capacity)
            slabs = np.ceil(groups ** (1 / (k - d)))
            per = (np.ceil(groups / slabs) * capacity).astype(np.int64)
        else:
            per = np.full(len(sizes), capacity, dtype=np.int64)
        part = _dense(part, pos // np.repeat(per, sizes))
    return idx, np.flatnonzero(np.r_[True, part[1:] != part[:-1]])


def node_size(cursor: sqlite3.Cursor, name: str) -> int:
    """The tree's node size in bytes, as SQLite chose it at creation (the root's length)."""
    row = cursor.execute(f"SELECT length(data) FROM {name}_node WHERE nodeno = 1").fetchone()  # noqa: S608
    if row is None:
        raise RuntimeError(f"{name} has no root node")
    return int(row[0])


def pack(cursor: sqlite3.Cursor, name: str, entries: Entries) -> int:
    """Replace the whole tree `name` by a packed one holding `entries`; the number of nodes.
    In the caller's transaction; raises (and the caller rolls back) if SQLite's own check of
    the written tree fails."""
    n, k = entries.lo.shape
    wrong = np.isnan(entries.lo).any(axis=1) | np.isnan(entries.hi).any(axis=1)
    wrong |= (entries.lo > entries.hi).any(axis=1)
    if wrong.any():  # a NaN box would hide whole subtrees, and rtreecheck passes it
        i = int(np.flatnonzero(wrong)[0])
        raise ValueError(
            f"{name}: entry {int(entries.ids[i])} has no valid box "
            f"(lower {entries.lo[i].tolist()}, upper {entries.hi[i].tolist()})"
        )
    cell = 8 + 8 * k
    size = node_size(cursor, name)
    capacity = (size - HEADER) // cell
    cell_type = np.dtype([("id", ">i8"), ("box", ">f4", (2 * k,))])

    # Level by level from the leaves: the cells in packed order and where each node starts.
    ids = entries.ids
    perm = np.arange(n)  # the entries in packed order (indices into `entries`)
    lo, hi = _outwards(entries.lo, True), _outwards(entries.hi, False)
    levels: list[tuple[npt.NDArray[Any], npt.NDArray[np.intp]]] = []
    while n:
        if len(ids) > capacity:
            centres = (lo.astype(np.float64) + hi) / 2
            order, starts = str_groups(centres, capacity)
            ids, lo, hi = ids[order], lo[order], hi[order]
            if not levels:
                perm = order
        else:
            starts = np.zeros(1, dtype=np.intp)
        cells = np.zeros(len(ids), dtype=cell_type)
        cells["id"] = ids
        cells["box"][:, 0::2], cells["box"][:, 1::2] = lo, hi
        levels.append((cells, starts))
        if len(starts) <= 1:
            break
        lo = np.minimum.reduceat(lo, starts, axis=0)
        hi = np.maximum.reduceat(hi, starts, axis=0)
        ids = np.arange(len(starts), dtype=np.int64)  # the nodes below, numbered next

    depth = max(len(levels) - 1, 0)
    nodes: list[tuple[int, bytes]] = []
    parents: list[tuple[int, int]] = []
    leaf_of: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
    first = 2  # node numbers below the root
    below: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)  # node numbers of the level below
    for level, (cells, starts) in enumerate(levels):
        count = len(starts)
        numbers = (
            np.array([1], dtype=np.int64)
            if level == depth
            else np.arange(first, first + count, dtype=np.int64)
        )
        first += 0 if level == depth else count
        if level:
            cells["id"] = below[cells["id"]]
        sizes = np.diff(np.r_[starts, len(cells)])
        owner = np.repeat(numbers, sizes)
        if level == 0:
            leaf_of = owner
        else:
            parents += zip(cells["id"].tolist(), owner.tolist(), strict=True)
        raw = cells.tobytes()
        for number, start, m in zip(numbers.tolist(), starts.tolist(), sizes.tolist(), strict=True):
            head = struct.pack(">HH", depth if number == 1 else 0, m)
            body = raw[start * cell : (start + m) * cell]
            nodes.append((number, (head + body).ljust(size, b"\0")))
        below = numbers
    if not nodes:  # no entries: an empty root, as SQLite makes it
        nodes.append((1, bytes(size)))

    for shadow in ("node", "parent", "rowid"):
        cursor.execute(f"DELETE FROM {name}_{shadow}")  # noqa: S608
    cursor.executemany(f"INSERT INTO {name}_node (nodeno, data) VALUES (?, ?)", nodes)  # noqa: S608
    cursor.executemany(
        f"INSERT INTO {name}_parent (nodeno, parentnode) VALUES (?, ?)",  # noqa: S608
        parents,
    )
    leaf = np.zeros(n, dtype=np.int64)
    leaf[perm] = leaf_of
    by_id = np.argsort(entries.ids, kind="stable").tolist()  # the rowid table in key order
    ids_, leaf_ = entries.ids.tolist(), leaf.tolist()
    width = len(entries.aux[0]) if n else 0
    cols = "".join(f", a{i}" for i in range(width))
    marks = ", ?" * width
    cursor.executemany(
        f"INSERT INTO {name}_rowid (rowid, nodeno{cols}) VALUES (?, ?{marks})",  # noqa: S608
        ((ids_[j], leaf_[j], *entries.aux[j]) for j in by_id),
    )
    verdict = cursor.execute("SELECT rtreecheck(?)", (name,)).fetchone()[0]
    if verdict != "ok":
        raise RuntimeError(f"the packed R*Tree {name} failed SQLite's check: {verdict[:500]}")
    return len(nodes)
