"""Request and response schemas of the force generation API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cmcc.core.schemas import Input, RecordIdField, RecordPublic, ReleasableCreate, VersionedUpdate
from cmcc.forces.domain import Capability, ReadinessLevel, StateStatus, Task, VisitKind
from cmcc.zones.domain import ZoneKind

ISO3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 code")]
Ref = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
Text = Annotated[str, Field(max_length=4000)]
Strength = Annotated[int, Field(ge=1, le=100_000, description="Personnel")]


def _not_before(later: dt.date | None, earlier: dt.date | None, field: str, other: str) -> None:
    if later is not None and earlier is not None and later < earlier:
        raise ValueError(f"{field} ({later}) is before {other} ({earlier})")


# --- states -----------------------------------------------------------------------------------


class StatePublic(RecordPublic):
    iso3: str
    name: str
    un_member: bool
    status: StateStatus
    status_since: dt.date | None
    notes: str


class StateUpdate(VersionedUpdate):
    notes: Text | None = None


class TransitionCreate(Input):
    to: StateStatus
    date: dt.date
    reason: str = Field(min_length=3, max_length=2000)
    source: Text = ""
    force: bool = Field(False, description="Skip or reverse pipeline steps (admins only; audited)")


class TransitionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    from_status: StateStatus
    to_status: StateStatus
    date: dt.date
    reason: str
    source: str
    forced: bool
    by: str


# --- pledges ----------------------------------------------------------------------------------


class CaveatsIn(Input):
    only_zone_kinds: list[ZoneKind] = Field(default_factory=list)
    forbidden_zone_kinds: list[ZoneKind] = Field(default_factory=list)
    only_tasks: list[Task] = Field(default_factory=list)
    forbidden_tasks: list[Task] = Field(default_factory=list)
    notes: Text = ""
    forbidden_relationships: list[Literal["opcon", "tacon", "adcon"]] = Field(
        default_factory=list,
        description="Command relationships the nation will not grant over its units",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        both = set(self.only_zone_kinds) & set(self.forbidden_zone_kinds)
        if both:
            raise ValueError(f"zone kinds both allowed only and forbidden: {sorted(both)}")
        both_t = set(self.only_tasks) & set(self.forbidden_tasks)
        if both_t:
            raise ValueError(f"tasks both allowed only and forbidden: {sorted(both_t)}")
        return self


class PledgeDates(Input):
    registered_on: dt.date | None = None
    earliest_deployment: dt.date | None = None
    deployed_on: dt.date | None = None

    @model_validator(mode="after")
    def _date_order(self) -> Self:
        _not_before(
            self.earliest_deployment, self.registered_on, "earliest_deployment", "registered_on"
        )
        _not_before(self.deployed_on, self.registered_on, "deployed_on", "registered_on")
        return self


class PledgeCreate(PledgeDates, ReleasableCreate):
    ref: Ref
    state: ISO3
    capability: Capability
    units: int = Field(1, ge=1, le=100)
    strength: Strength
    equipment: Text = ""
    registered_on: dt.date
    duration_months: int | None = Field(None, ge=1, le=120)
    tour_months: int = Field(6, ge=1, le=24)
    caveats: CaveatsIn = Field(default_factory=CaveatsIn)
    notes: Text = ""
    source: Text = ""


class PledgeUpdate(PledgeDates, VersionedUpdate):
    units: int | None = Field(None, ge=1, le=100)
    strength: Strength | None = None
    equipment: Text | None = None
    duration_months: int | None = Field(None, ge=1, le=120)
    tour_months: int | None = Field(None, ge=1, le=24)
    caveats: CaveatsIn | None = None
    notes: Text | None = None
    source: Text | None = None


class PledgePublic(RecordPublic):
    ref: str
    state: str = Field(validation_alias="state_iso3")
    capability: Capability
    units: int
    strength: int
    equipment: str
    readiness: ReadinessLevel
    registered_on: dt.date
    last_renewed_on: dt.date | None
    renewal_due: dt.date
    renewal_overdue: bool
    earliest_deployment: dt.date | None
    deployed_on: dt.date | None
    duration_months: int | None
    tour_months: int
    caveats: CaveatsIn
    requirement_id: int | None
    notes: str
    source: str


class ReadinessChange(Input):
    level: ReadinessLevel
    visit: VisitKind
    date: dt.date
    notes: Text = ""
    version: int = Field(ge=1)


class ReadinessVisitPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: VisitKind
    date: dt.date
    from_level: ReadinessLevel
    to_level: ReadinessLevel
    notes: str
    by: str


class Renewal(Input):
    date: dt.date
    version: int = Field(ge=1)


# --- requirements -----------------------------------------------------------------------------


class RequirementCreate(ReleasableCreate):
    code: Ref
    title: str = Field(min_length=1, max_length=200)
    capability: Capability
    units: int = Field(ge=1, le=100)
    strength_per_unit: Strength
    sector: str = Field("", max_length=80)
    zone_kinds: list[ZoneKind] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    needed_by: dt.date | None = None
    notes: Text = ""
    source: Text = ""


class RequirementUpdate(VersionedUpdate):
    title: str | None = Field(None, min_length=1, max_length=200)
    units: int | None = Field(None, ge=1, le=100)
    strength_per_unit: Strength | None = None
    sector: str | None = Field(None, max_length=80)
    zone_kinds: list[ZoneKind] | None = None
    tasks: list[Task] | None = None
    needed_by: dt.date | None = None
    notes: Text | None = None
    source: Text | None = None


class RequirementPublic(RecordPublic):
    code: str
    title: str
    capability: Capability
    units: int
    strength_per_unit: int
    sector: str
    zone_kinds: list[ZoneKind]
    tasks: list[Task]
    needed_by: dt.date | None
    notes: str
    source: str


class MatchCreate(Input):
    pledge_id: RecordIdField


class Candidate(BaseModel):
    pledge: PledgePublic
    permitted: bool
    reasons: list[str]


# --- reports ----------------------------------------------------------------------------------


class GapRow(BaseModel):
    capability: Capability
    required_units: int
    required_strength: int
    matched_units: int
    matched_strength: int
    ready_units: int = Field(description="Matched by pledges at Level 3 or Rapid Deployment")
    ready_strength: int
    gap_units: int
    gap_strength: int
    unmatched_pledged_units: int = Field(description="Pledged but not yet matched to a SUR")
    unmatched_pledged_strength: int


class GapReport(BaseModel):
    rows: list[GapRow]
    total_gap_units: int
    total_gap_strength: int


class TargetCreate(ReleasableCreate):
    name: str = Field(min_length=1, max_length=80)
    strength: Strength
    due: dt.date
    source: Text = ""


class TargetUpdate(VersionedUpdate):
    strength: Strength | None = None
    due: dt.date | None = None
    source: Text | None = None


class TargetPublic(RecordPublic):
    name: str
    strength: int
    due: dt.date
    source: str


class TargetResultPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    strength: int
    due: dt.date
    met_on: dt.date | None
    met_by_due: bool
    strength_on_due: int
    shortfall_on_due: int


class SeriesPointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    on: dt.date
    committed: int
    pledged: int


class RotationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    month: dt.date
    contingents: int
    strength: int


class ProjectionPublic(BaseModel):
    start: dt.date
    end: dt.date
    series: list[SeriesPointPublic]
    committed_targets: list[TargetResultPublic] = Field(
        description="Against pledges of states that are committed, deploying or deployed"
    )
    pledged_targets: list[TargetResultPublic] = Field(
        description="Against every pledge of a state that has not declined or withdrawn"
    )
    rotations: list[RotationPublic]


# --- contributions ----------------------------------------------------------------------------

Amount = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]


class ContributionCreate(ReleasableCreate):
    state: ISO3
    status: Literal["pledged", "paid"]
    amount: Amount
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")
    usd_amount: Amount | None = Field(None, description="Required unless the currency is USD")
    date: dt.date
    purpose: Text = ""
    source: Text = ""
    ref: Ref | None = None

    @model_validator(mode="after")
    def _usd(self) -> Self:
        if self.usd_amount is None:
            if self.currency != "USD":
                raise ValueError("usd_amount is required when the currency is not USD")
            self.usd_amount = self.amount
        return self


class ContributionUpdate(VersionedUpdate):
    status: Literal["pledged", "paid"] | None = None
    purpose: Text | None = None
    source: Text | None = None


class ContributionPublic(RecordPublic):
    state: str = Field(validation_alias="state_iso3")
    status: str
    amount: Decimal
    currency: str
    usd_amount: Decimal
    date: dt.date
    purpose: str
    source: str
    ref: str | None


class ContributionTotal(BaseModel):
    state: str
    name: str
    pledged_usd: Decimal
    paid_usd: Decimal
