"""The packed R*Tree (`cmcc.geo.packing`): SQLite accepts it (rtreecheck), every box finds
exactly the entries a scan finds, with their auxiliary columns, the tree takes inserts, updates
and deletes afterwards, and a pack that fails leaves the tree as it was."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmcc.geo.packing import Entries, pack, str_groups

COLUMNS_3D = "id, min_x, max_x, min_y, max_y, min_t, max_t, +mark, +org"
COLUMNS_2D = "id, min_x, max_x, min_y, max_y"


def tree(columns: str) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute(f"CREATE VIRTUAL TABLE t USING rtree({columns})")
    return db


def entries(n: int, dims: int, rng: np.random.Generator, aux: bool) -> Entries:
    """Points and small boxes, in Gaza-like degrees and (3-D) epoch seconds, ids not in order."""
    lo = np.column_stack(
        [rng.uniform(34.2, 34.6, n), rng.uniform(31.2, 31.6, n), rng.uniform(1.76e9, 1.79e9, n)]
    )[:, :dims]
    sizes = np.where(rng.random((n, 1)) < 0.5, 0.0, rng.uniform(0, 0.01, (n, dims)))
    sizes[:, 2:] *= 1e7
    ids = rng.permutation(np.arange(1, 3 * n + 1))[:n].astype(np.int64)
    marks = [("mission" if i % 3 else "rel", int(i % 7)) for i in range(n)] if aux else [()] * n
    return Entries(ids, lo, lo + sizes, marks)


def as_rows(given_: Entries, dims: int) -> list[tuple[object, ...]]:
    """In the R*Tree's column order: id, (min, max) for each dimension, the auxiliary ones."""
    return [
        (int(i), *[float(v) for d in range(dims) for v in (lo[d], hi[d])], *a)
        for i, lo, hi, a in zip(given_.ids, given_.lo, given_.hi, given_.aux, strict=True)
    ]


def found(db: sqlite3.Connection, box: list[float], dims: int) -> list[tuple[object, ...]]:
    names = ["x", "y", "t"][:dims]
    where = " AND ".join(f"max_{c} >= ? AND min_{c} <= ?" for c in names)
    extra = ", mark, org" if dims == 3 else ""
    return db.execute(f"SELECT id{extra} FROM t WHERE {where} ORDER BY id", box).fetchall()


def on_bounds(
    rows: list[tuple[object, ...]], dims: int, rng: np.random.Generator
) -> list[list[float]]:
    """Boxes exactly on entries' own bounds (each entry's box, and its corner as a point)."""
    out = []
    for i in rng.permutation(len(rows))[:20].tolist():
        box = [float(v) for v in rows[i][1 : 1 + 2 * dims]]  # type: ignore[arg-type]
        out += [box, [v for d in range(dims) for v in (box[2 * d], box[2 * d])]]
    return out


def boxes(rng: np.random.Generator, dims: int, count: int) -> list[list[float]]:
    out = []
    for _ in range(count):
        box = []
        for d in range(dims):
            low, high = ((34.2, 34.6), (31.2, 31.6), (1.76e9, 1.79e9))[d]
            a = rng.uniform(low, high)
            box += [a, a + rng.uniform(0, (high - low) / 4)]
        out.append(box)
    return out


@pytest.mark.parametrize("n", [0, 1, 51, 52, 2601, 2602, 3000])
@pytest.mark.parametrize("dims", [2, 3])
def test_a_packed_tree_finds_what_the_inserted_one_finds(n: int, dims: int) -> None:
    rng = np.random.default_rng(n + dims)
    given_ = entries(n, dims, rng, aux=dims == 3)
    inserted = tree(COLUMNS_3D if dims == 3 else COLUMNS_2D)
    cols = ", ".join(["id", "min_x", "max_x", "min_y", "max_y", "min_t", "max_t"][: 1 + 2 * dims])
    cols += ", mark, org" if dims == 3 else ""
    rows = as_rows(given_, dims)
    marks = ", ".join("?" * (1 + 2 * dims + (2 if dims == 3 else 0)))
    inserted.executemany(f"INSERT INTO t ({cols}) VALUES ({marks})", rows)
    packed = tree(COLUMNS_3D if dims == 3 else COLUMNS_2D)
    packed.execute("BEGIN")
    nodes = pack(packed.cursor(), "t", Entries.from_rows(rows, dims))
    packed.execute("COMMIT")
    assert nodes >= 1 and packed.execute("SELECT rtreecheck('t')").fetchone() == ("ok",)
    assert packed.execute("SELECT count(*) FROM t").fetchone() == (n,)
    for box in boxes(rng, dims, 40) + on_bounds(rows, dims, rng):
        assert found(packed, box, dims) == found(inserted, box, dims)
    if n > 51 * 51:  # three levels: every node but the last of a level is full
        assert nodes < 1.2 * n / 51

    # The tree goes on as any R*Tree: inserts split full nodes, updates and deletes.
    for r in rows[:200]:
        packed.execute("DELETE FROM t WHERE id = ?", (r[0],))
        inserted.execute("DELETE FROM t WHERE id = ?", (r[0],))
    extra = [(r[0] + 10 * n + 1, *r[1:]) for r in as_rows(entries(300, dims, rng, dims == 3), dims)]
    for db in (packed, inserted):
        db.executemany(f"INSERT INTO t ({cols}) VALUES ({marks})", extra)
        db.execute("UPDATE t SET min_x = min_x + 0.001, max_x = max_x + 0.001 WHERE id % 5 = 0")
    assert packed.execute("SELECT rtreecheck('t')").fetchone() == ("ok",)
    for box in boxes(rng, dims, 40):
        assert found(packed, box, dims) == found(inserted, box, dims)


def test_a_pack_that_fails_leaves_the_tree_as_it_was() -> None:
    rng = np.random.default_rng(3)
    db = tree(COLUMNS_3D)
    rows = as_rows(entries(500, 3, rng, aux=True), 3)
    db.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    asked = boxes(rng, 3, 20)
    before = [found(db, box, 3) for box in asked]
    twice = Entries.from_rows(rows + rows[:1], 3)  # one id twice: the rowid table refuses it
    db.execute("BEGIN")
    with pytest.raises(sqlite3.IntegrityError):
        pack(db.cursor(), "t", twice)
    db.execute("ROLLBACK")
    assert db.execute("SELECT rtreecheck('t')").fetchone() == ("ok",)
    assert [found(db, box, 3) for box in asked] == before and any(before)


@pytest.mark.parametrize(
    "bad", [(float("nan"), 1.0), (2.0, 1.0)], ids=["a missing bound", "min above max"]
)
def test_a_box_that_is_no_box_is_refused_before_anything_is_written(
    bad: tuple[float, float],
) -> None:
    db = tree(COLUMNS_2D)
    rows = as_rows(entries(200, 2, np.random.default_rng(5), aux=False), 2)
    db.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
    stored = db.execute("SELECT nodeno, data FROM t_node ORDER BY nodeno").fetchall()
    broken = [*rows[:-1], (rows[-1][0], *bad, *rows[-1][3:])]
    db.execute("BEGIN")
    with pytest.raises(ValueError, match=f"t: entry {rows[-1][0]} has no valid box"):
        pack(db.cursor(), "t", Entries.from_rows(broken, 2))
    db.execute("COMMIT")  # nothing to commit: the check came first
    assert db.execute("SELECT nodeno, data FROM t_node ORDER BY nodeno").fetchall() == stored


def test_a_tree_written_through_then_packed_in_one_transaction() -> None:
    """Writes through the R*Tree, then a pack, then more writes, in one transaction (SQLite
    3.40 keeps no node of the tree across statements; a version that did would fail here)."""
    rng = np.random.default_rng(11)
    packed, inserted = tree(COLUMNS_3D), tree(COLUMNS_3D)
    rows = as_rows(entries(3000, 3, rng, aux=True), 3)
    more = [(r[0] + 10_000, *r[1:]) for r in as_rows(entries(300, 3, rng, aux=True), 3)]
    insert = "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    for db in (packed, inserted):
        db.executemany(insert, rows[:1000])
    packed.execute("BEGIN")
    packed.executemany(insert, rows[1000:])
    packed.execute("DELETE FROM t WHERE id % 7 = 0")
    held = packed.execute("SELECT * FROM t").fetchall()
    pack(packed.cursor(), "t", Entries.from_rows(held, 3))
    packed.executemany(insert, more)
    packed.execute("UPDATE t SET max_y = max_y + 0.001 WHERE id % 5 = 0")
    packed.execute("COMMIT")
    inserted.executemany(insert, rows[1000:])
    inserted.execute("DELETE FROM t WHERE id % 7 = 0")
    inserted.executemany(insert, more)
    inserted.execute("UPDATE t SET max_y = max_y + 0.001 WHERE id % 5 = 0")
    assert packed.execute("SELECT rtreecheck('t')").fetchone() == ("ok",)
    for box in boxes(rng, 3, 40):
        assert found(packed, box, 3) == found(inserted, box, 3)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=4000),
    st.integers(min_value=2, max_value=60),
    st.integers(min_value=1, max_value=3),
)
def test_str_groups_cover_every_point_once_in_groups_of_at_most_the_capacity(
    n: int, capacity: int, dims: int
) -> None:
    centres = np.random.default_rng(n).random((n, dims))
    order, starts = str_groups(centres, capacity)
    assert sorted(order.tolist()) == list(range(n))
    sizes = np.diff(np.r_[starts, n])
    assert starts[0] == 0 and (sizes >= 1).all() and (sizes <= capacity).all()
    # Slabs hold whole groups: at most one part-filled group per tile of the last axis.
    groups = -(-n // capacity)
    assert len(starts) <= groups + (groups ** (1 / dims) + 1) ** (dims - 1)
