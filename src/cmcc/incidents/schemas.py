"""Request and response schemas of incidents, verification, evidence and alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from cmcc.core.schemas import Input, MarkingText, RecordPublic, ReleasableCreate, VersionedUpdate
from cmcc.incidents.domain import IncidentType, Reliability, VerificationStatus

Count = Field(0, ge=0, le=100_000)
Severity = Field(ge=1, le=5, description="1 (minor) to 5 (most severe)")


class Casualties(Input):
    killed_civilian: int = Count
    killed_other: int = Count
    injured_civilian: int = Count
    injured_other: int = Count


class IncidentCreate(ReleasableCreate):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "explosive_ordnance_found",
                    "occurred_at": "2026-03-01T08:30:00Z",
                    "geometry": {"type": "Point", "coordinates": [34.45, 31.5]},
                    "severity": 2,
                    "narrative": "Unexploded mortar round reported near a school (illustrative)",
                    "releasability": "mission",
                }
            ]
        }
    )
    external_ref: str | None = Field(
        None, min_length=1, max_length=120, description="The source's own id (unique)"
    )
    type: IncidentType
    occurred_at: AwareDatetime
    reported_at: AwareDatetime | None = Field(None, description="Default: now")
    geometry: dict[str, Any] = Field(description="GeoJSON Point or area, WGS84 [lon, lat]")
    severity: int = Severity
    killed_civilian: int = Count
    killed_other: int = Count
    injured_civilian: int = Count
    injured_other: int = Count
    source_reliability: Reliability = Field(Reliability.F, description="NATO A-F")
    info_credibility: int = Field(6, ge=1, le=6, description="NATO 1-6")
    narrative: str = Field("", max_length=20_000)
    attachments: list[str] = Field(default_factory=list, max_length=50)
    source: str = Field("", max_length=4000)
    outside_aoi: bool = False

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.reported_at is not None and self.reported_at < self.occurred_at:
            raise ValueError("reported_at is before occurred_at")
        if self.occurred_at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10):
            raise ValueError("occurred_at is in the future")
        return self


class IncidentUpdate(VersionedUpdate):
    severity: int | None = Field(None, ge=1, le=5)
    killed_civilian: int | None = Field(None, ge=0, le=100_000)
    killed_other: int | None = Field(None, ge=0, le=100_000)
    injured_civilian: int | None = Field(None, ge=0, le=100_000)
    injured_other: int | None = Field(None, ge=0, le=100_000)
    source_reliability: Reliability | None = None
    info_credibility: int | None = Field(None, ge=1, le=6)
    narrative: str | None = Field(None, max_length=20_000)
    attachments: list[str] | None = Field(None, max_length=50)
    source: str | None = Field(None, max_length=4000)


class IncidentPublic(RecordPublic):
    external_ref: str | None
    type: IncidentType
    acled_event_type: str
    acled_sub_event_type: str
    occurred_at: dt.datetime
    reported_at: dt.datetime
    geometry: dict[str, Any] = Field(validation_alias="geojson")
    severity: int
    killed_civilian: int
    killed_other: int
    injured_civilian: int
    injured_other: int
    source_reliability: Reliability
    info_credibility: int
    narrative: str
    attachments: list[str]
    status: VerificationStatus
    attribution: str | None
    finding: str
    source: str


class VerificationCreate(Input):
    to: VerificationStatus
    note: str = Field(min_length=3, max_length=4000)
    attribution: str | None = Field(
        None, min_length=1, max_length=120, description="A party, or 'undetermined' (verified only)"
    )
    finding: str | None = Field(None, max_length=20_000, description="Releasable finding")
    releasability: MarkingText | None = Field(
        None, description="Release the incident and its finding more widely (or narrower)"
    )
    version: int = Field(ge=1)


class VerificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    from_status: VerificationStatus
    to_status: VerificationStatus
    note: str
    attribution: str | None
    by: str
    created_at: dt.datetime


class EvidenceCreate(Input):
    kind: Literal["report", "photo", "video", "track", "witness", "document", "other"]
    reference: str = Field(min_length=1, max_length=1000, description="Where the item is kept")
    description: str = Field("", max_length=4000)
    observed_by: str = Field("", max_length=200)
    observed_at: AwareDatetime | None = None


class EvidencePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    reference: str
    description: str
    observed_by: str
    observed_at: dt.datetime | None
    added_by: str
    created_at: dt.datetime


class DuplicatePublic(BaseModel):
    incident: IncidentPublic
    distance_m: float
    hours_apart: float


class AlertPublic(RecordPublic):
    kind: str
    zone_id: int | None
    incident_id: int | None
    unit_id: int | None = Field(None, description="The unit (a version of it) it concerns")
    task_id: int | None = None
    message: str
    status: Literal["open", "acknowledged", "closed"]
    raised_at: dt.datetime
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    closed_by: str | None
    closed_at: dt.datetime | None


class AlertAction(Input):
    version: int = Field(ge=1)
    note: str = Field("", max_length=2000)
