"""Geometry columns, the same on both backends: WKB plus its bounding box.

The bounding box feeds the SQLite R*Tree (kept in step by triggers, see the migrations) and
cheap bbox tests; PostgreSQL adds a generated PostGIS `geom` column from the WKB with a GiST
index. The model itself is backend-neutral.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Float, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from cmcc.geo.geometry import to_geojson


class Spatial:
    geom_wkb: Mapped[bytes] = mapped_column(LargeBinary)
    min_x: Mapped[float] = mapped_column(Float)
    min_y: Mapped[float] = mapped_column(Float)
    max_x: Mapped[float] = mapped_column(Float)
    max_y: Mapped[float] = mapped_column(Float)

    @property
    def geometry(self) -> BaseGeometry:
        return shapely.from_wkb(self.geom_wkb)

    @geometry.setter
    def geometry(self, geom: BaseGeometry) -> None:
        self.geom_wkb = shapely.to_wkb(geom)
        self.min_x, self.min_y, self.max_x, self.max_y = (float(v) for v in geom.bounds)

    @property
    def geojson(self) -> dict[str, Any]:
        return to_geojson(self.geometry)
