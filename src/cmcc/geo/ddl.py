"""The spatial indexes of a table with the `Spatial` columns, for migrations.

SQLite: an R*Tree `<table>_rtree(id, min_x, max_x, min_y, max_y[, min_t, max_t])` kept in step
by triggers (with a time dimension, in seconds since the epoch, when `time_col` is given).
PostgreSQL: a generated PostGIS column `geom` from the WKB with a GiST index (on geom and the
time column together, through btree_gist, when `time_col` is given). The spatial backends
(`cmcc.geo.backend`) query exactly these; a new spatial table calls `create_spatial_index` in
its migration and is listed in `SPATIAL_TABLES`.

A table in `MARKED_TABLES` carries its marking in the index too (migration 0017), so that the
release policy is applied inside the index and a hit the caller may not see costs no table row:
on SQLite as auxiliary R*Tree columns (`+releasability, +owner_org_id, +release_to`, kept in step
by the same triggers), on PostgreSQL as key columns of the GiST index (btree_gist).
"""

from __future__ import annotations

# Every table with spatial indexes: does its R*Tree have a time dimension?
SPATIAL_TABLES: dict[str, bool] = {
    "incidents": True,
    "zones": False,
    "hazard_areas": False,
    "eo_spot_reports": False,
    "eo_accidents": False,
    "search_tasks": False,
    "recoveries": False,
    "funding_projects": False,
    "tracks": True,
    "humanitarian_notifications": False,
}

# Tables whose spatial index carries the marking columns (`cmcc.access.policy.MarkingColumns`).
MARKED_TABLES: frozenset[str] = frozenset({"incidents"})
MARKING_COLUMNS = ("releasability", "owner_org_id", "release_to")

EPOCH = "((julianday({col}) - 2440587.5) * 86400.0)"


def rtree_columns(timed: bool, marked: bool) -> list[str]:
    """The columns of an R*Tree, in order (auxiliary columns without their `+`)."""
    return (
        ["id", "min_x", "max_x", "min_y", "max_y"]
        + (["min_t", "max_t"] if timed else [])
        + (list(MARKING_COLUMNS) if marked else [])
    )


def table_rtree_columns(table: str) -> list[str]:
    """The R*Tree columns of a table of `SPATIAL_TABLES`, as its latest migration made them."""
    return rtree_columns(SPATIAL_TABLES[table], table in MARKED_TABLES)


def rtree_statements(table: str, time_col: str | None, marked: bool | None = None) -> list[str]:
    """The R*Tree and its triggers; `marked`: with the marking columns as auxiliary columns
    (the triggers then also follow a change of marking); None: as the table's latest
    migration has it (`MARKED_TABLES`), for code that rebuilds an index (a bulk load)."""
    if marked is None:
        marked = table in MARKED_TABLES
    names = rtree_columns(time_col is not None, marked)
    cols = ", ".join(names)
    declared = ", ".join(f"+{c}" if c in MARKING_COLUMNS else c for c in names)
    t = EPOCH.format(col=f"new.{time_col}") if time_col else ""
    marks = [f"new.{c}" for c in MARKING_COLUMNS] if marked else []
    values = ", ".join(
        ["new.id", "new.min_x", "new.max_x", "new.min_y", "new.max_y"]
        + ([t, t] if t else [])
        + marks
    )
    sets = "min_x = new.min_x, max_x = new.max_x, min_y = new.min_y, max_y = new.max_y" + (
        f", min_t = {t}, max_t = {t}" if t else ""
    )
    watched = "min_x, min_y, max_x, max_y" + (f", {time_col}" if time_col else "")
    if marked:
        sets += "".join(f", {c} = new.{c}" for c in MARKING_COLUMNS)
        watched += ", " + ", ".join(MARKING_COLUMNS)
    return [
        f"CREATE VIRTUAL TABLE {table}_rtree USING rtree({declared})",
        f"CREATE TRIGGER {table}_rtree_insert AFTER INSERT ON {table} "
        f"BEGIN INSERT INTO {table}_rtree ({cols}) VALUES ({values}); END",
        f"CREATE TRIGGER {table}_rtree_update AFTER UPDATE OF {watched} ON {table} "
        f"BEGIN UPDATE {table}_rtree SET {sets} WHERE id = new.id; END",
        f"CREATE TRIGGER {table}_rtree_delete AFTER DELETE ON {table} "
        f"BEGIN DELETE FROM {table}_rtree WHERE id = old.id; END",
    ]


def gist_name(table: str, timed: bool) -> str:
    """The name of a table's GiST index on PostgreSQL."""
    return f"gist_{table}_geom_time" if timed else f"gist_{table}_geom"


def postgis_statements(table: str, time_col: str | None) -> list[str]:
    indexed = f"geom, {time_col}" if time_col else "geom"
    name = gist_name(table, time_col is not None)
    return [
        f"ALTER TABLE {table} ADD COLUMN geom geometry(Geometry, 4326) "
        "GENERATED ALWAYS AS (ST_GeomFromWKB(geom_wkb, 4326)) STORED",
        f"CREATE INDEX {name} ON {table} USING gist ({indexed})",
    ]


def create_spatial_index(dialect: str, table: str, time_col: str | None = None) -> list[str]:
    """The statements for `dialect` ("sqlite" or "postgresql"), to run after the table exists."""
    if dialect == "postgresql":
        return postgis_statements(table, time_col)
    return rtree_statements(table, time_col)


def drop_spatial_index(dialect: str, table: str) -> list[str]:
    """The reverse, for downgrades (on PostgreSQL the column and index go with the table)."""
    if dialect == "postgresql":
        return []
    return [
        *(f"DROP TRIGGER IF EXISTS {table}_rtree_{s}" for s in ("insert", "update", "delete")),
        f"DROP TABLE IF EXISTS {table}_rtree",
    ]
