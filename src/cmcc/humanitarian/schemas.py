"""The API's shapes for notifications, their contacts, status steps and advisories."""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from cmcc.core.schemas import Input, RecordPublic
from cmcc.humanitarian.domain import (
    AdvisoryKind,
    CargoCategory,
    MovementType,
    NotificationKind,
    NotificationStatus,
    SiteType,
)

CODE = r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$"


class Contact(Input):
    """Personal data: seen only by the submitting organization and the centre."""

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field("", max_length=64)
    email: str = Field("", max_length=200)


class Waypoint(Input):
    name: str = Field("", max_length=200)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class NotificationContent(Input):
    """What a partner notifies; a new version gives all of it again."""

    title: str = Field(min_length=1, max_length=200)
    site_type: SiteType | None = Field(None, description="A site's function (sites only)")
    movement_type: MovementType | None = Field(None, description="Movements only")
    geometry: dict[str, Any] = Field(
        description="GeoJSON: a site is a Point or a Polygon; a movement's route a LineString"
    )
    outside_aoi: bool = False
    hours: str = Field("", max_length=200, description="A site's hours, e.g. 'daily 08:00-16:00'")
    waypoints: list[Waypoint] = Field(default_factory=list, max_length=100)
    crossing: str | None = Field(None, pattern=CODE, description="A crossing's code")
    valid_from: AwareDatetime = Field(description="A site's validity; a movement's start")
    valid_to: AwareDatetime | None = Field(
        None, description="End of validity (sites: unset, until further notice; movements: end)"
    )
    vehicles: int | None = Field(None, ge=0, le=10000)
    cargo_category: CargoCategory | None = None
    personnel_count: int | None = Field(None, ge=0, le=100000)
    buffer_m: float | None = Field(
        None, gt=0, le=5000, description="Metres watched around it (default: the setting's)"
    )
    description: str = Field("", max_length=4000)
    contact: Contact

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class NotificationCreate(NotificationContent):
    kind: NotificationKind


class NotificationVersion(NotificationContent):
    version: int = Field(ge=1, description="The version of the current notification you read")


class StatusStep(Input):
    version: int = Field(ge=1)
    to: NotificationStatus
    audiences: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="With `shared`: 'force' (the force's headquarters and contributing "
        "nations) and/or organization codes (a party's liaison cell)",
    )
    note: str = Field("", max_length=4000)


class ContactPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    phone: str
    email: str


class NotificationPublic(RecordPublic):
    lineage: int = Field(validation_alias="lineage_id")
    ref: str
    kind: NotificationKind
    title: str
    site_type: SiteType | None
    movement_type: MovementType | None
    geometry: dict[str, Any] = Field(validation_alias="geojson")
    hours: str
    waypoints: list[dict[str, Any]]
    crossing: str | None = None
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    vehicles: int | None
    cargo_category: CargoCategory | None
    personnel_count: int | None
    buffer_m: float
    description: str
    status: NotificationStatus
    status_at: dt.datetime
    status_by: str
    audiences: list[str]
    replaced_at: dt.datetime | None
    submitted_by: str
    short_notice: bool = False
    contact: ContactPublic | None = Field(
        None, description="Only for the submitting organization and the centre"
    )
    advisories: int = Field(0, description="How many deconfliction advisories it has")


class StatusChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: NotificationStatus
    to_status: NotificationStatus
    audiences: list[str]
    note: str
    by: str
    at: dt.datetime


class AdvisoryRecord(BaseModel):
    type: str = Field(description="zone, hazard, incident, task or crossing")
    id: int
    ref: str
    name: str


class AdvisoryPublic(BaseModel):
    kind: AdvisoryKind
    label: str
    message: str
    distance_m: float
    record: AdvisoryRecord
    notification: int = Field(description="The notification's lineage")


class WithheldPublic(BaseModel):
    kind: AdvisoryKind
    label: str
    count: int = Field(description="Advisories on records you may not see (ask the centre)")


class AdvisoriesPublic(BaseModel):
    computed_at: dt.datetime | None
    advisories: list[AdvisoryPublic]
    withheld: list[WithheldPublic]
