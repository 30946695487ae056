"""Request and response schemas of the access constraints log and its monthly report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from cmcc.core.schemas import Input, MarkingText, RecordIdField, RecordPublic, VersionedUpdate
from cmcc.humanitarian.domain import AccessCategory, AccessImpact


def _since_1900(value: dt.datetime) -> dt.datetime:
    if value.year < 1900:
        raise ValueError("a date from 1900 on")
    return value


Moment = Annotated[AwareDatetime, AfterValidator(_since_1900)]
Lon = Field(None, ge=-180, le=180, description="WGS84 longitude of the place")
Lat = Field(None, ge=-90, le=90, description="WGS84 latitude of the place")
DelayMinutes = Field(
    None, ge=1, le=20_160, description="How long the delay lasted (delayed_at_checkpoint only)"
)
Text = Field("", max_length=4000)


class AccessConstraintCreate(Input):
    occurred_at: Moment
    impact: AccessImpact
    category: AccessCategory | None = Field(
        None, description="OCHA access monitoring category; default: the impact's usual one"
    )
    delay_minutes: int | None = DelayMinutes
    place: str = Field("", max_length=200, description="The place's name (checkpoint, road)")
    lon: float | None = Lon
    lat: float | None = Lat
    outside_aoi: bool = Field(False, description="Accept a point outside the area of interest")
    notification_lineage: RecordIdField | None = Field(
        None, description="The movement it hit: the lineage of a movement notification"
    )
    incident_id: RecordIdField | None = Field(None, description="The incident it is part of")
    description: str = Text
    source: str = Text
    releasability: MarkingText | None = Field(
        None, description="Default: the recording organization and the centre"
    )


class AccessConstraintUpdate(VersionedUpdate):
    """A correction: only the fields sent change; null clears an optional one."""

    occurred_at: Moment | None = None
    impact: AccessImpact | None = None
    category: AccessCategory | None = None
    delay_minutes: int | None = DelayMinutes
    place: str | None = Field(None, max_length=200)
    lon: float | None = Lon
    lat: float | None = Lat
    outside_aoi: bool = False
    notification_lineage: RecordIdField | None = None
    incident_id: RecordIdField | None = None
    description: str | None = Field(None, max_length=4000)
    source: str | None = Field(None, max_length=4000)


class AccessConstraintPublic(RecordPublic):
    occurred_at: dt.datetime
    category: AccessCategory
    impact: AccessImpact
    place: str
    lon: float | None
    lat: float | None
    delay_minutes: int | None
    notification_lineage: int | None = Field(
        description="The movement's lineage (null too when the movement is not released to you)"
    )
    movement_ref: str | None = Field(None, description="The movement's reference: movement_<n>")
    incident_id: int | None = Field(
        description="The incident (null too when the incident is not released to you)"
    )
    description: str
    source: str
    reported_by: str


class CategoryRow(BaseModel):
    month: str = Field(description="YYYY-MM (UTC)")
    category: AccessCategory
    label: str
    count: int
    delays: int = Field(description="How many were delays at a checkpoint")
    delay_minutes: int = Field(description="Their total delay in minutes")


class AreaRow(BaseModel):
    month: str
    area: str = Field(description="The governorate's name, or 'unlocated'")
    count: int
    delays: int
    delay_minutes: int


class AccessReportPublic(BaseModel):
    from_month: str
    to_month: str
    months: list[str]
    total: int
    total_delay_minutes: int
    by_category: list[CategoryRow]
    by_area: list[AreaRow]
