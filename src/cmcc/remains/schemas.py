"""Request and response schemas of search tasks, grids, recoveries and personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cmcc.core.schemas import Input, RecordIdField, RecordPublic, ReleasableCreate, VersionedUpdate
from cmcc.remains.domain import (
    MAX_SECTORS,
    HandoverTo,
    IdentificationMethod,
    IdentificationStatus,
    TaskStatus,
)

GeoJSONGeometry = dict[str, Any]
Text200 = Field("", max_length=200)


class SearchTaskCreate(ReleasableCreate):
    geometry: GeoJSONGeometry = Field(
        description="A Point (a location) or a Polygon/MultiPolygon (a sector), WGS84"
    )
    sector: str | None = Field(None, min_length=1, max_length=12, examples=["A-01"])
    grid: str | None = Field(None, min_length=1, max_length=200, description="The grid's name")
    marker: str = Field("", max_length=200, description="INSARAG-style marking text")
    team: str = Field("", max_length=200, description="The search team (free text or org code)")
    eod_escort: str | None = Field(None, min_length=1, max_length=200)
    escort_confirmed_at: AwareDatetime | None = Field(
        None, description="When the EOD escort was confirmed (default: when it is recorded)"
    )
    description: str = Field("", max_length=4000)
    outside_aoi: bool = False


class SearchTaskUpdate(VersionedUpdate):
    geometry: GeoJSONGeometry | None = None
    outside_aoi: bool = False
    sector: str | None = Field(None, min_length=1, max_length=12)
    grid: str | None = Field(None, min_length=1, max_length=200)
    marker: str | None = Field(None, max_length=200)
    team: str | None = Field(None, max_length=200)
    eod_escort: str | None = Field(None, min_length=1, max_length=200, description="null: none")
    escort_confirmed_at: AwareDatetime | None = None
    description: str | None = Field(None, max_length=4000)


class StatusChange(Input):
    to: TaskStatus
    note: str = Field("", max_length=4000, description="Required for not_possible: the reason")
    team: str | None = Field(None, min_length=1, max_length=200, description="Assign a team")
    eod_escort: str | None = Field(None, min_length=1, max_length=200, description="Record one")
    version: int = Field(ge=1)


class SearchTaskPublic(RecordPublic):
    geometry: GeoJSONGeometry = Field(validation_alias="geojson")
    sector: str | None
    grid: str | None
    marker: str
    team: str
    status: TaskStatus
    status_changed_at: dt.datetime | None
    status_changed_by: str | None
    eod_escort: str | None
    escort_confirmed_at: dt.datetime | None
    description: str
    hazards: list[str] = Field(
        default_factory=list, description="Refs of the hazard areas linked (those you may see)"
    )


class StepPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    from_status: TaskStatus
    to_status: TaskStatus
    note: str
    by: str
    created_at: dt.datetime


class GridCut(ReleasableCreate):
    area: GeoJSONGeometry = Field(description="The area to cut: a Polygon or MultiPolygon")
    size_m: int = Field(ge=10, le=1000, description="Side of a square sector, metres")
    grid: str = Field(min_length=1, max_length=200, description="The grid's name")
    marker: str = Text200
    team: str = Text200
    description: str = Field("", max_length=4000)
    outside_aoi: bool = False


class GridPublic(BaseModel):
    grid: str
    size_m: int
    rows: int
    columns: int
    sectors: int = Field(description=f"Search tasks created (at most {MAX_SECTORS})")
    tasks: list[SearchTaskPublic]


Count = Field(0, ge=0, le=10_000)


class RecoveryCreate(ReleasableCreate):
    task_id: RecordIdField | None = Field(
        None, description="The search task (in progress or completed)"
    )
    recovered_at: AwareDatetime
    geometry: GeoJSONGeometry = Field(description="A GeoJSON Point, WGS84 [lon, lat]")
    place: str = Field("", max_length=500, description="Where, in words")
    remains_found: int = Count
    remains_recovered: int = Count
    identification_status: IdentificationStatus | None = None
    identification_method: IdentificationMethod | None = None
    handover_to: HandoverTo | None = None
    handover_date: dt.date | None = None
    notes: str = Field("", max_length=4000, description="Never names: see personal-data")
    outside_aoi: bool = False


class RecoveryUpdate(VersionedUpdate):
    recovered_at: AwareDatetime | None = None
    geometry: GeoJSONGeometry | None = None
    outside_aoi: bool = False
    place: str | None = Field(None, max_length=500)
    remains_found: int | None = Field(None, ge=0, le=10_000)
    remains_recovered: int | None = Field(None, ge=0, le=10_000)
    identification_status: IdentificationStatus | None = None
    identification_method: IdentificationMethod | None = None
    handover_to: HandoverTo | None = None
    handover_date: dt.date | None = None
    notes: str | None = Field(None, max_length=4000)


class RecoveryPublic(RecordPublic):
    task_id: int | None
    recovered_at: dt.datetime
    geometry: GeoJSONGeometry = Field(validation_alias="geojson")
    place: str
    remains_found: int
    remains_recovered: int
    identification_status: IdentificationStatus | None
    identification_method: IdentificationMethod | None
    handover_to: HandoverTo | None
    handover_date: dt.date | None
    notes: str


class PersonalDataPut(Input):
    missing_name: str = Field(min_length=1, max_length=300)
    date_of_birth: dt.date | None = None
    age: int | None = Field(None, ge=0, le=130, description="When the date of birth is unknown")
    family_contact_name: str = Field("", max_length=300)
    family_contact_phone: str = Field("", max_length=50)
    notes: str = Field("", max_length=4000)


class PersonalDataPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    recovery_id: int
    missing_name: str
    date_of_birth: dt.date | None
    age: int | None
    family_contact_name: str
    family_contact_phone: str
    notes: str
    updated_by: str
    updated_at: dt.datetime


class RecoveryWithPersonalData(RecoveryPublic):
    """A recovery as its owner's recovery officers read it (null: none recorded yet)."""

    personal_data: PersonalDataPublic | None = None
