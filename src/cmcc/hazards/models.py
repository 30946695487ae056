"""Tables of explosive ordnance hazards (IMSMA style): hazard areas with their status changes,
EO spot reports, land release activities, accidents, and the links between them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Releasable, Timestamped, marking_checks, sql_in
from cmcc.geo.columns import Spatial
from cmcc.geo.geometry import to_geojson
from cmcc.hazards.domain import (
    AccidentKind,
    Classification,
    DeviceCategory,
    Disposition,
    HazardStatus,
    LandReleaseKind,
    LinkRelation,
    RefType,
    make_ref,
)


class HazardArea(Releasable, Spatial, Base):
    """A suspected (SHA) or confirmed (CHA) hazardous area: a Polygon or MultiPolygon."""

    __tablename__ = "hazard_areas"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint(sql_in("classification", Classification), name="classification"),
        CheckConstraint(sql_in("status", HazardStatus), name="status"),
        CheckConstraint(sql_in("device_category", DeviceCategory), name="device_category"),
        CheckConstraint("area_m2 >= 0", name="area_m2"),
    )

    name: Mapped[str] = mapped_column(String(200))
    classification: Mapped[str] = mapped_column(String(8), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    device_category: Mapped[str] = mapped_column(String(20))
    device_type: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    area_m2: Mapped[int] = mapped_column(Integer)
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    cleared_zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), default=None)

    @property
    def ref(self) -> str:
        return make_ref(RefType.HAZARD, self.id)


class HazardStatusChange(Timestamped, Base):
    """Who changed a hazard's status, when, and why."""

    __tablename__ = "hazard_status_changes"
    __audit_parent__ = "hazard_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard_areas.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(120))


class EOSpotReport(Releasable, Spatial, Base):
    """A single item of explosive ordnance found at a point."""

    __tablename__ = "eo_spot_reports"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint(sql_in("device_category", DeviceCategory), name="device_category"),
        CheckConstraint(sql_in("disposition", Disposition), name="disposition"),
    )

    device_category: Mapped[str] = mapped_column(String(20))
    device_type: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    disposition: Mapped[str] = mapped_column(String(16))
    hazard_id: Mapped[int | None] = mapped_column(
        ForeignKey("hazard_areas.id"), index=True, default=None
    )

    @property
    def ref(self) -> str:
        return make_ref(RefType.EO_SPOT, self.id)


class LandReleaseActivity(Releasable, Base):
    """Non-technical survey, technical survey or clearance of one hazard area."""

    __tablename__ = "land_release_activities"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint(sql_in("kind", LandReleaseKind), name="kind"),
        CheckConstraint("cancelled_m2 >= 0 AND reduced_m2 >= 0 AND cleared_m2 >= 0", name="areas"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
    )

    kind: Mapped[str] = mapped_column(String(24))
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard_areas.id"), index=True)
    organization: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[dt.date] = mapped_column()
    end_date: Mapped[dt.date | None] = mapped_column(default=None)
    cancelled_m2: Mapped[int] = mapped_column(Integer, default=0)
    reduced_m2: Mapped[int] = mapped_column(Integer, default=0)
    cleared_m2: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    # The released land, when drawn (GeoJSON Polygon/MultiPolygon as WKB); optional, so not
    # the Spatial mixin (whose columns are required) and not spatially indexed.
    released_wkb: Mapped[bytes | None] = mapped_column(default=None)

    @property
    def ref(self) -> str:
        return make_ref(RefType.LAND_RELEASE, self.id)

    @property
    def released_geometry(self) -> BaseGeometry | None:
        return None if self.released_wkb is None else shapely.from_wkb(self.released_wkb)

    @released_geometry.setter
    def released_geometry(self, geom: BaseGeometry | None) -> None:
        self.released_wkb = None if geom is None else shapely.to_wkb(geom)

    @property
    def released_geojson(self) -> dict[str, Any] | None:
        geom = self.released_geometry
        return None if geom is None else to_geojson(geom)

    @property
    def released_m2(self) -> int:
        return self.cancelled_m2 + self.reduced_m2 + self.cleared_m2


class EOAccident(Releasable, Spatial, Base):
    """An explosive ordnance accident: victims are counted, never named."""

    __tablename__ = "eo_accidents"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint(sql_in("kind", AccidentKind), name="kind"),
        CheckConstraint(sql_in("device_category", DeviceCategory), name="device_category"),
        CheckConstraint("killed >= 0 AND injured >= 0", name="victims"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    device_category: Mapped[str] = mapped_column(String(20))
    device_type: Mapped[str] = mapped_column(String(200), default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    killed: Mapped[int] = mapped_column(Integer, default=0)
    injured: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    hazard_id: Mapped[int | None] = mapped_column(
        ForeignKey("hazard_areas.id"), index=True, default=None
    )

    @property
    def ref(self) -> str:
        return make_ref(RefType.EO_ACCIDENT, self.id)


class HazardLink(Timestamped, Base):
    """A first-class link between two records of this module, by their refs."""

    __tablename__ = "hazard_links"
    __table_args__ = (
        CheckConstraint(sql_in("relation", LinkRelation), name="relation"),
        CheckConstraint("from_ref <> to_ref", name="distinct_ends"),
        UniqueConstraint("from_ref", "to_ref", "relation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_ref: Mapped[str] = mapped_column(String(40), index=True)
    to_ref: Mapped[str] = mapped_column(String(40), index=True)
    relation: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(120))
