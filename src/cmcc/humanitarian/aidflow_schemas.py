"""Request and response schemas of the crossings and the aid flow through them: crossings,
their status changes, daily entries of trucks, targets and the dashboard."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from cmcc.core.schemas import RecordIdField, RecordPublic, ReleasableCreate
from cmcc.humanitarian.domain import CargoCategory, CrossingStatus

Text = Annotated[str, Field(max_length=20_000)]
Source = Annotated[str, Field(max_length=2_000, description="Where the figure or fact is from")]
CrossingCode = Annotated[
    str,
    Field(
        min_length=2,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        description="The crossing's short code",
        examples=["KS"],
    ),
]
Trucks = Annotated[int, Field(ge=0, le=100_000, description="Trucks (whole number, 0 or more)")]


# ---- crossings ------------------------------------------------------------------------------


class CrossingCreate(ReleasableCreate):
    code: CrossingCode
    name: str = Field(min_length=1, max_length=200)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    approx: bool = Field(False, description="The location is approximate")
    description: Text = ""
    source: Source = ""


class CrossingStatusCreate(ReleasableCreate):
    crossing_id: RecordIdField
    status: CrossingStatus
    since: AwareDatetime = Field(description="In force from this moment until the next change")
    hours: str = Field(
        "", max_length=100, description="Opening hours, for restricted_hours: 08:00-16:00"
    )
    note: Text = ""
    source: Source = ""
    approx: bool = Field(False, description="The moment is approximate")
    illustrative: bool = False


class CrossingStatusPublic(RecordPublic):
    crossing_id: int
    status: str
    since: dt.datetime
    hours: str
    note: str
    source: str
    approx: bool
    illustrative: bool


class CrossingPublic(RecordPublic):
    code: str
    name: str
    lon: float
    lat: float
    approx: bool
    description: str
    source: str
    current_status: CrossingStatusPublic | None = Field(
        None, description="The status in force now, of the changes released to you"
    )


# ---- entries and targets --------------------------------------------------------------------


class AidFlowEntryIn(ReleasableCreate):
    """One figure: written over the stored one of the same crossing, day and category."""

    crossing_id: RecordIdField
    day: dt.date
    cargo_category: CargoCategory
    trucks: Trucks
    source: Source = Field(min_length=1)
    illustrative: bool = False


class AidFlowEntryPublic(RecordPublic):
    crossing_id: int
    day: dt.date
    cargo_category: str
    trucks: int
    source: str
    illustrative: bool


class AidFlowTargetCreate(ReleasableCreate):
    crossing_id: RecordIdField | None = Field(None, description="One crossing, or all (null)")
    cargo_category: CargoCategory | None = Field(None, description="One category, or all (null)")
    trucks_per_day: Trucks
    starts_on: dt.date = Field(description="In force from this day until the next target")
    source: Source = ""


class AidFlowTargetPublic(RecordPublic):
    crossing_id: int | None
    cargo_category: str | None
    trucks_per_day: int
    starts_on: dt.date
    source: str


# ---- the dashboard --------------------------------------------------------------------------


class DayPublic(BaseModel):
    day: dt.date
    trucks: int = Field(description="Trucks that day, of the entries released to you")
    reported: bool = Field(description="At least one entry released to you for that day")
    target: int | None = Field(description="The target of the dashboard's scope in force")
    average_7d: float | None = Field(
        description="Mean trucks per reported day over the 7 days ending that day (null: none)"
    )


class TotalPublic(BaseModel):
    key: str | None = Field(description="Crossing code or cargo category; null: not named")
    label: str
    trucks: int
    average_per_day: float
    target_trucks: int | None = Field(description="The day's targets of this scope, summed")
    share_of_target: float | None = Field(description="trucks / target_trucks")


class DashboardPublic(BaseModel):
    start: dt.date
    end: dt.date
    crossing_id: int | None
    cargo_category: str | None
    days: list[DayPublic]
    by_crossing: list[TotalPublic]
    by_category: list[TotalPublic]
    total: TotalPublic


class ImportedPublic(BaseModel):
    rows: int
    created: int
    updated: int
    unchanged: int
