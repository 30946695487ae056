"""Request and response schemas of hazard areas, EO spot reports, land release, accidents and
links. Every record answers with its readable `ref` (hazard_12, eo_spot_3, ...); every field
that links to a hazard takes its id or its ref."""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from cmcc.core.schemas import Input, RecordPublic, ReleasableCreate, VersionedUpdate
from cmcc.hazards.domain import (
    AccidentKind,
    Classification,
    DeviceCategory,
    Disposition,
    HazardStatus,
    LandReleaseKind,
    LinkRelation,
)

GeoJSONGeometry = dict[str, Any]
HazardLinkField = Field(
    None, description="The hazard area: its id (12) or its ref (hazard_12)", examples=["hazard_12"]
)
SquareMetres = Field(0, ge=0, le=10_000_000_000, description="Square metres")
Victims = Field(0, ge=0, le=100_000)


def _not_future(value: dt.datetime | None, name: str) -> None:
    if value is not None and value > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10):
        raise ValueError(f"{name} is in the future")


# ---- hazard areas ---------------------------------------------------------------------------


class HazardCreate(ReleasableCreate):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Rubble of a residential block (illustrative)",
                    "classification": "sha",
                    "device_category": "uxo",
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [[34.30, 31.34], [34.31, 31.34], [34.31, 31.35], [34.30, 31.34]]
                        ],
                    },
                    "releasability": "mission",
                }
            ]
        }
    )
    name: str = Field(min_length=1, max_length=200)
    classification: Classification = Field(description="sha (suspected) or cha (confirmed)")
    device_category: DeviceCategory
    device_type: str = Field("", max_length=200, description="Free text, e.g. 'M42 submunition'")
    description: str = Field("", max_length=20_000, description="The evidence")
    geometry: GeoJSONGeometry = Field(description="GeoJSON Polygon or MultiPolygon, [lon, lat]")
    outside_aoi: bool = False


class HazardUpdate(VersionedUpdate):
    name: str | None = Field(None, min_length=1, max_length=200)
    classification: Classification | None = None
    device_category: DeviceCategory | None = None
    device_type: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=20_000)
    geometry: GeoJSONGeometry | None = Field(
        None, description="Redrawn area (not once handed over)"
    )
    outside_aoi: bool = False


class HazardPublic(RecordPublic):
    ref: str
    name: str
    classification: Classification
    status: HazardStatus
    device_category: DeviceCategory
    device_type: str
    description: str
    area_m2: int = Field(description="Geodesic area of the geometry, square metres")
    geometry: GeoJSONGeometry = Field(validation_alias="geojson")
    handed_over_at: dt.datetime | None
    cleared_zone_id: int | None = Field(description="The cleared_area zone made at handover")


class StatusChangeCreate(Input):
    to: HazardStatus
    reason: str = Field(min_length=3, max_length=4000)
    version: int = Field(ge=1, description="The hazard's version you read")


class StatusChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    from_status: HazardStatus
    to_status: HazardStatus
    reason: str
    by: str
    created_at: dt.datetime


# ---- EO spot reports ------------------------------------------------------------------------


class SpotCreate(ReleasableCreate):
    device_category: DeviceCategory
    device_type: str = Field("", max_length=200)
    description: str = Field("", max_length=20_000)
    found_at: AwareDatetime
    disposition: Disposition
    geometry: GeoJSONGeometry = Field(description="GeoJSON Point, [lon, lat]")
    hazard: int | str | None = HazardLinkField
    outside_aoi: bool = False

    @model_validator(mode="after")
    def _when(self) -> Self:
        _not_future(self.found_at, "found_at")
        return self


class SpotUpdate(VersionedUpdate):
    device_category: DeviceCategory | None = None
    device_type: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=20_000)
    disposition: Disposition | None = None


class SpotPublic(RecordPublic):
    ref: str
    device_category: DeviceCategory
    device_type: str
    description: str
    found_at: dt.datetime
    disposition: Disposition
    geometry: GeoJSONGeometry = Field(validation_alias="geojson")
    hazard_id: int | None


# ---- land release ---------------------------------------------------------------------------


class LandReleaseCreate(ReleasableCreate):
    kind: LandReleaseKind
    hazard: int | str = Field(description="The hazard area: id or ref", examples=["hazard_12"])
    organization: str = Field(min_length=1, max_length=200, description="Who did the work")
    start_date: dt.date
    end_date: dt.date | None = Field(None, description="Set when the activity is completed")
    cancelled_m2: int = SquareMetres
    reduced_m2: int = SquareMetres
    cleared_m2: int = SquareMetres
    description: str = Field("", max_length=20_000)
    released_geometry: GeoJSONGeometry | None = Field(
        None, description="The released land, GeoJSON Polygon or MultiPolygon"
    )
    outside_aoi: bool = False

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class LandReleaseUpdate(VersionedUpdate):
    organization: str | None = Field(None, min_length=1, max_length=200)
    end_date: dt.date | None = None
    cancelled_m2: int | None = Field(None, ge=0, le=10_000_000_000)
    reduced_m2: int | None = Field(None, ge=0, le=10_000_000_000)
    cleared_m2: int | None = Field(None, ge=0, le=10_000_000_000)
    description: str | None = Field(None, max_length=20_000)
    released_geometry: GeoJSONGeometry | None = None
    outside_aoi: bool = False


class LandReleasePublic(RecordPublic):
    ref: str
    kind: LandReleaseKind
    hazard_id: int
    organization: str
    start_date: dt.date
    end_date: dt.date | None
    cancelled_m2: int
    reduced_m2: int
    cleared_m2: int
    released_m2: int = Field(description="cancelled + reduced + cleared")
    description: str
    released_geometry: GeoJSONGeometry | None = Field(validation_alias="released_geojson")


# ---- accidents ------------------------------------------------------------------------------


class AccidentCreate(ReleasableCreate):
    kind: AccidentKind = Field(description="demining (a deminer at work) or civilian")
    device_category: DeviceCategory
    device_type: str = Field("", max_length=200)
    occurred_at: AwareDatetime
    killed: int = Victims
    injured: int = Victims
    description: str = Field("", max_length=20_000, description="No names of victims")
    geometry: GeoJSONGeometry = Field(description="GeoJSON Point, [lon, lat]")
    hazard: int | str | None = HazardLinkField
    outside_aoi: bool = False

    @model_validator(mode="after")
    def _when(self) -> Self:
        _not_future(self.occurred_at, "occurred_at")
        return self


class AccidentPublic(RecordPublic):
    ref: str
    kind: AccidentKind
    device_category: DeviceCategory
    device_type: str
    occurred_at: dt.datetime
    killed: int
    injured: int
    description: str
    geometry: GeoJSONGeometry = Field(validation_alias="geojson")
    hazard_id: int | None


# ---- links ----------------------------------------------------------------------------------


class LinkCreate(Input):
    from_ref: str = Field(min_length=1, max_length=40, examples=["eo_spot_12"])
    to_ref: str = Field(min_length=1, max_length=40, examples=["hazard_145"])
    relation: LinkRelation


class LinkPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    from_ref: str
    to_ref: str
    relation: LinkRelation
    created_by: str
    created_at: dt.datetime
