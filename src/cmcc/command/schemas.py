"""Request and response schemas of command and control."""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from cmcc.command.domain import (
    CasualtyCategory,
    Echelon,
    Priority,
    Relationship,
    RelationshipStatus,
    ReportKind,
    Supply,
    TaskStatus,
    UnitKind,
)
from cmcc.core.schemas import (
    Input,
    MarkingText,
    RecordIdField,
    RecordPublic,
    ReleasableCreate,
)
from cmcc.forces.domain import Capability, Task


class _UnitFields(Input):
    short_name: str | None = Field(None, max_length=40)
    nation: str | None = Field(None, pattern=r"^([A-Z]{3})?$", description="ISO 3166 alpha-3")
    sidc: str | None = Field(
        None, pattern=r"^[A-Z0-9*-]{10,30}$", description="Default: from kind, capability, echelon"
    )
    capability: Capability | None = None
    strength_authorized: int | None = Field(None, ge=0, le=1_000_000)
    strength_assigned: int | None = Field(None, ge=0, le=1_000_000)
    strength_present: int | None = Field(None, ge=0, le=1_000_000)
    location: str | None = Field(None, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    parent: RecordIdField | None = Field(None, description="The parent unit's lineage")
    area_zone: RecordIdField | None = Field(
        None, description="The lineage of a zone that is this unit's own area of responsibility"
    )
    source: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _point(self) -> Self:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        return self


class UnitCreate(_UnitFields, ReleasableCreate):
    name: str = Field(min_length=1, max_length=200)
    kind: UnitKind = UnitKind.UNIT
    echelon: Echelon
    pledge_id: RecordIdField | None = None
    transfer_of_authority: dt.date | None = None
    valid_from: AwareDatetime | None = Field(None, description="Default: now")
    illustrative: bool = False


class UnitChange(_UnitFields):
    """A new version of the unit from `valid_from` on (the current version closes then)."""

    version: int = Field(ge=1, description="The current version you read")
    valid_from: AwareDatetime | None = Field(None, description="Default: now")
    name: str | None = Field(None, min_length=1, max_length=200)
    echelon: Echelon | None = None
    releasability: MarkingText | None = None
    clear_parent: bool = Field(False, description="Make the unit a root of the ORBAT")


class UnitClose(Input):
    version: int = Field(ge=1)
    valid_to: AwareDatetime | None = Field(None, description="Default: now")


class UnitPublic(RecordPublic):
    lineage: int = Field(validation_alias="lineage_id")
    parent: int | None = Field(validation_alias="parent_lineage")
    name: str
    short_name: str
    nation: str
    kind: UnitKind
    echelon: Echelon
    sidc: str
    capability: str | None
    strength_authorized: int
    strength_assigned: int
    strength_present: int
    location: str
    lon: float | None
    lat: float | None
    pledge_id: int | None
    transfer_of_authority: dt.date | None
    area_zone: int | None = Field(validation_alias="area_zone_lineage")
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    illustrative: bool
    source: str


class PledgeUnits(Input):
    """A deployed pledge becomes units under a parent, from its transfer of authority."""

    parent: RecordIdField = Field(description="The lineage of the contingent or HQ above")
    transfer_of_authority: dt.date
    echelon: Echelon = Echelon.BATTALION
    names: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="One per unit of the pledge; default from the state and capability",
    )
    location: str = Field("", max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    releasability: MarkingText | None = Field(None, description="Default: the pledge's")


class RelationshipCreate(ReleasableCreate):
    unit: RecordIdField = Field(description="The unit's lineage")
    headquarters: RecordIdField = Field(description="The headquarters' lineage")
    kind: Relationship
    effective_from: AwareDatetime = Field(description="The transfer of authority")
    notes: str = Field("", max_length=4000)


class RelationshipStep(Input):
    version: int = Field(ge=1)
    status: RelationshipStatus
    note: str = Field("", max_length=2000)


class RelationshipPublic(RecordPublic):
    unit: int = Field(validation_alias="unit_lineage")
    headquarters: int = Field(validation_alias="hq_lineage")
    kind: Relationship
    status: RelationshipStatus
    effective_from: dt.datetime
    ended_at: dt.datetime | None
    proposed_by: str
    agreed_by: str | None
    agreed_at: dt.datetime | None
    notes: str


class AreaAssign(ReleasableCreate):
    headquarters: RecordIdField
    zone: RecordIdField = Field(description="The zone's lineage (an ISF sector)")
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = None
    notes: str = Field("", max_length=4000)


class AreaPublic(RecordPublic):
    headquarters: int = Field(validation_alias="hq_lineage")
    zone: int = Field(validation_alias="zone_lineage")
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    notes: str


class PhaseCreate(ReleasableCreate):
    number: int = Field(ge=0, le=99)
    name: str = Field(min_length=1, max_length=200)
    starts_on: dt.date
    ends_on: dt.date | None = None
    zone_kinds: list[str] = Field(default_factory=list, description="Where the force deploys")
    description: str = Field("", max_length=4000)
    source: str = Field("", max_length=4000)


class PhasePublic(RecordPublic):
    number: int
    name: str
    starts_on: dt.date
    ends_on: dt.date | None
    zone_kinds: list[str]
    description: str
    source: str


class TaskCreate(Input):
    title: str = Field(min_length=1, max_length=200)
    task: Task
    unit: RecordIdField = Field(description="The tasked unit's lineage")
    issuer: RecordIdField = Field(description="The issuing headquarters' lineage")
    zone: RecordIdField | None = Field(None, description="The task's area: a zone's lineage")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    priority: Priority = Priority.ROUTINE
    description: str = Field("", max_length=4000)
    releasability: MarkingText | None = Field(None, description="Default: the unit's")

    @model_validator(mode="after")
    def _where_and_when(self) -> Self:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        if self.zone is None and self.lon is None:
            raise ValueError("a task needs an area (zone) or a point (lon, lat)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class TaskStatusIn(Input):
    version: int = Field(ge=1)
    status: TaskStatus
    reason: str = Field("", max_length=4000, description="Required for a national refusal")


class TaskPublic(RecordPublic):
    title: str
    task: Task
    unit: int = Field(validation_alias="unit_lineage")
    issuer: int = Field(validation_alias="issuer_lineage")
    zone: int | None = Field(validation_alias="zone_lineage")
    lon: float | None
    lat: float | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    priority: Priority
    status: TaskStatus
    status_reason: str
    status_by: str | None
    status_at: dt.datetime | None
    description: str
    issued_by: str


class Perstat(Input):
    present: int = Field(ge=0, le=1_000_000)
    on_leave: int = Field(0, ge=0, le=1_000_000)
    casualties: dict[CasualtyCategory, int] = Field(
        default_factory=dict, description="Counts by category; never names"
    )

    @model_validator(mode="after")
    def _counts(self) -> Self:
        for k, v in self.casualties.items():
            if v < 0:
                raise ValueError(f"casualties.{k.value}: must be 0 or more")
        return self


class Logstat(Input):
    days_of_supply: dict[Supply, float] = Field(description="Days of supply by class")

    @model_validator(mode="after")
    def _days(self) -> Self:
        for k, v in self.days_of_supply.items():
            if not 0 <= v <= 365:
                raise ValueError(f"days_of_supply.{k.value}: must be between 0 and 365")
        return self


class ReportCreate(Input):
    unit: RecordIdField = Field(description="The unit's lineage")
    report_date: dt.date
    kind: ReportKind
    perstat: Perstat | None = None
    logstat: Logstat | None = None
    remarks: str = Field("", max_length=4000)
    releasability: MarkingText | None = Field(None, description="Default: the unit's")

    @model_validator(mode="after")
    def _body(self) -> Self:
        body = self.perstat if self.kind is ReportKind.PERSTAT else self.logstat
        if body is None:
            raise ValueError(f"a {self.kind.value} report needs its `{self.kind.value}` figures")
        return self

    def figures(self) -> dict[str, Any]:
        if self.kind is ReportKind.PERSTAT:
            assert self.perstat is not None
            return self.perstat.model_dump(mode="json")
        assert self.logstat is not None
        return self.logstat.model_dump(mode="json")


class ReportPublic(RecordPublic):
    unit: int = Field(validation_alias="unit_lineage")
    report_date: dt.date
    kind: ReportKind
    figures: dict[str, Any]
    submitted_by: str
    remarks: str


class OrbatUnit(BaseModel):
    """A unit as a node of the tree carries it (the unit's own route has every field)."""

    lineage: int
    parent: int | None = Field(description="null also when the parent is not released to you")
    owner: str
    releasability: str
    name: str
    short_name: str
    nation: str
    kind: UnitKind
    echelon: Echelon
    sidc: str
    capability: str | None
    strength_authorized: int
    strength_assigned: int
    strength_present: int
    location: str
    lon: float | None
    lat: float | None
    illustrative: bool


class OrbatNodePublic(BaseModel):
    unit: OrbatUnit
    totals: dict[str, int] = Field(description="Strength summed over the subtree")
    children: list[OrbatNodePublic]


class RollupRow(BaseModel):
    key: str = Field(description="The sector's name or the nation's code")
    units: int
    reported: int
    present: int
    on_leave: int
    casualties: dict[str, int]
    lowest_days_of_supply: dict[str, float]
    overdue: int
