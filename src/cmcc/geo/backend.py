"""Spatial and time filters, one interface, two implementations (SQLite R*Tree, PostGIS GiST).

The R*Tree tables (`<table>_rtree`) and the PostGIS column `geom` with its GiST index are made
by the migrations; the SQL here only uses them. `bbox_filter` and `bbox_time_filter` return the
rows whose geometry's bounding box meets the query (exact for points); `shape_bbox_filter`,
`intersects_filter` and `within_distance_filter` test the shapes themselves, after the index.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    column,
    false,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session

from cmcc.access.policy import MarkingColumns, release_filter
from cmcc.core.releasability import Viewer
from cmcc.geo.ddl import MARKED_TABLES, table_rtree_columns
from cmcc.geo.geometry import BBox
from cmcc.geo.measure import degrees_around, distances_m

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch(value: dt.datetime) -> float:
    return (value - EPOCH).total_seconds()


class SpatialBackend:
    """The portable fallback: bounding-box columns only."""

    def bbox_filter(self, model: Any, bbox: BBox) -> ColumnElement[bool]:
        minx, miny, maxx, maxy = bbox
        return and_(
            model.max_x >= minx, model.min_x <= maxx, model.max_y >= miny, model.min_y <= maxy
        )

    def bbox_time_filter(
        self,
        model: Any,
        bbox: BBox,
        time_col: Any,
        start: dt.datetime | None,
        end: dt.datetime | None,
        viewer: Viewer | None = None,
    ) -> ColumnElement[bool]:
        """`viewer`: where the index carries the marking (`MARKED_TABLES`, SQLite), the release
        policy is applied inside it as well, so a hit the viewer may not see reads no table
        row; the caller still filters the rows (`visible`)."""
        clauses = [self.bbox_filter(model, bbox)]
        if start is not None:
            clauses.append(time_col >= start)
        if end is not None:
            clauses.append(time_col <= end)
        return and_(*clauses)

    def shape_bbox_filter(
        self, session: Session, model: Any, bbox: BBox, base: Select[Any]
    ) -> ColumnElement[bool]:
        """Rows of `base` whose geometry itself intersects the box, not only its bounding box
        (OGC API - Features `bbox`): the index finds the candidates; shapely then tests those
        that reach past the box's edge, and the ones whose shape misses it are left out."""
        near = self.bbox_filter(model, bbox)
        minx, miny, maxx, maxy = bbox
        inside = and_(
            model.min_x >= minx, model.max_x <= maxx, model.min_y >= miny, model.max_y <= maxy
        )
        rows = session.execute(
            base.with_only_columns(model.id, model.geom_wkb).where(near, ~inside).order_by(None)
        ).all()
        if not rows:
            return near
        ids = np.array([r[0] for r in rows])
        misses = ~shapely.intersects(shapely.box(*bbox), shapely.from_wkb([r[1] for r in rows]))
        if not misses.any():
            return near
        return and_(near, model.id.not_in(ids[misses].tolist()))

    def intersects_filter(
        self, session: Session, model: Any, geom: BaseGeometry, base: Select[Any]
    ) -> ColumnElement[bool]:
        """Rows of `base` whose geometry intersects `geom` (exact)."""
        rows = session.execute(
            base.with_only_columns(model.id, model.geom_wkb)
            .where(self.bbox_filter(model, geom.bounds))
            .order_by(None)
        ).all()
        if not rows:
            return false()
        ids = np.array([r[0] for r in rows])
        shapes = shapely.from_wkb([r[1] for r in rows])
        shapely.prepare(geom)
        return cast(
            ColumnElement[bool], model.id.in_(ids[shapely.intersects(geom, shapes)].tolist())
        )

    def within_distance_filter(
        self,
        session: Session,
        model: Any,
        lon: float,
        lat: float,
        metres: float,
        base: Select[Any],
    ) -> ColumnElement[bool]:
        """Rows of `base` whose geometry comes within `metres` of (lon, lat) (haversine from
        the nearest point of the geometry)."""
        dlon, dlat = degrees_around(lat, metres)
        box_ = (lon - dlon, lat - dlat, lon + dlon, lat + dlat)
        rows = session.execute(
            base.with_only_columns(model.id, model.geom_wkb)
            .where(self.bbox_filter(model, box_))
            .order_by(None)
        ).all()
        if not rows:
            return false()
        ids = np.array([r[0] for r in rows])
        shapes = shapely.from_wkb([r[1] for r in rows])
        nearest = shapely.get_point(shapely.shortest_line(shapes, shapely.Point(lon, lat)), 0)
        near = distances_m(shapely.get_x(nearest), shapely.get_y(nearest), lon, lat) <= metres
        return cast(ColumnElement[bool], model.id.in_(ids[near].tolist()))


class SQLiteBackend(SpatialBackend):
    """R*Tree: `<table>_rtree(id, min_x, max_x, min_y, max_y[, min_t, max_t][, +releasability,
    +owner_org_id, +release_to])` (float32 bounds, rounded outwards by SQLite, so it never
    misses; exact columns filter afterwards)."""

    def _rtree(self, model: Any) -> Any:
        cols = table_rtree_columns(model.__tablename__)
        return table(f"{model.__tablename__}_rtree", *(column(c) for c in cols))

    def bbox_filter(self, model: Any, bbox: BBox) -> ColumnElement[bool]:
        minx, miny, maxx, maxy = bbox
        r = self._rtree(model)
        ids = select(r.c.id).where(
            r.c.max_x >= minx, r.c.min_x <= maxx, r.c.max_y >= miny, r.c.min_y <= maxy
        )
        return and_(model.id.in_(ids), super().bbox_filter(model, bbox))

    def bbox_time_filter(
        self,
        model: Any,
        bbox: BBox,
        time_col: Any,
        start: dt.datetime | None,
        end: dt.datetime | None,
        viewer: Viewer | None = None,
    ) -> ColumnElement[bool]:
        minx, miny, maxx, maxy = bbox
        r = self._rtree(model)
        where = [r.c.max_x >= minx, r.c.min_x <= maxx, r.c.max_y >= miny, r.c.min_y <= maxy]
        if start is not None:
            where.append(r.c.max_t >= epoch(start) - 1)
        if end is not None:
            where.append(r.c.min_t <= epoch(end) + 1)
        if viewer is not None and model.__tablename__ in MARKED_TABLES:
            marks = MarkingColumns(model, r.c.releasability, r.c.owner_org_id, r.c.release_to)
            where.append(release_filter(marks, viewer))
        # The exact test on the columns; not the inherited filter, which would reach the
        # R*Tree a second time through this class's bbox_filter.
        exact = SpatialBackend.bbox_filter(self, model, bbox)
        if start is not None:
            exact = and_(exact, time_col >= start)
        if end is not None:
            exact = and_(exact, time_col <= end)
        return and_(model.id.in_(select(r.c.id).where(*where)), exact)


def _geom(model: Any) -> ColumnElement[Any]:
    """The generated PostGIS column of a spatial table (not mapped: the model is neutral)."""
    return literal_column(f"{model.__tablename__}.geom")


class PostGISBackend(SpatialBackend):
    """GiST on the generated `geom` column (and on (geom, time) for incidents, via btree_gist)."""

    def bbox_filter(self, model: Any, bbox: BBox) -> ColumnElement[bool]:
        return cast(ColumnElement[bool], _geom(model).op("&&")(func.ST_MakeEnvelope(*bbox, 4326)))

    def shape_bbox_filter(
        self, session: Session, model: Any, bbox: BBox, base: Select[Any]
    ) -> ColumnElement[bool]:
        # ST_Intersects finds its candidates through the GiST index (&&), then tests exactly.
        envelope = func.ST_MakeEnvelope(*bbox, 4326)
        return cast(ColumnElement[bool], func.ST_Intersects(_geom(model), envelope))

    def intersects_filter(
        self, session: Session, model: Any, geom: BaseGeometry, base: Select[Any]
    ) -> ColumnElement[bool]:
        other = func.ST_GeomFromWKB(shapely.to_wkb(geom), 4326)
        return cast(ColumnElement[bool], func.ST_Intersects(_geom(model), other))

    def within_distance_filter(
        self,
        session: Session,
        model: Any,
        lon: float,
        lat: float,
        metres: float,
        base: Select[Any],
    ) -> ColumnElement[bool]:
        point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
        return cast(
            ColumnElement[bool],
            func.ST_DWithin(func.geography(_geom(model)), func.geography(point), metres),
        )


def backend_for(bind: Engine | Connection) -> SpatialBackend:
    """The backend for a database (an engine, or a session's bind)."""
    return PostGISBackend() if bind.dialect.name == "postgresql" else SQLiteBackend()
