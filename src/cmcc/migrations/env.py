"""Alembic environment: runs on the connection cmcc.schema hands over, or on the configured URL."""

from __future__ import annotations

import warnings
from typing import Any

from alembic import context
from sqlalchemy import Connection

from cmcc.core.db import make_engine
from cmcc.schema import metadata

EXTENSION_TABLES = frozenset({"spatial_ref_sys", "geometry_columns", "geography_columns"})
# Reflection does not know PostGIS's type; those columns are left out of the comparison anyway.
warnings.filterwarnings("ignore", "Did not recognize type 'geometry'")
RTREE_SUFFIXES = ("_rtree", "_rtree_node", "_rtree_parent", "_rtree_rowid")


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave out of the comparison with the models what the migrations add beside them on
    purpose: PostGIS's own tables, SQLite R*Tree tables, the generated PostGIS `geom` columns
    and their GiST indexes (named gist_*)."""
    if not reflected or compare_to is not None or name is None:
        return True
    if type_ == "table":
        return name not in EXTENSION_TABLES and not name.endswith(RTREE_SUFFIXES)
    if type_ == "column":
        return name != "geom"
    if type_ == "index":
        return not name.startswith("gist_")
    return True


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
