"""Request and response schemas of reconstruction funding: the plan tree, projects, flows and
the summary. Money is Decimal with two places (JSON: a string, never a float)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field

from cmcc.core.schemas import Input, RecordIdField, RecordPublic, ReleasableCreate, VersionedUpdate
from cmcc.funding.domain import RATE_PLACES, FlowStatus, ProjectStatus

GeoJSONGeometry = dict[str, Any]
Usd = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2, description="USD")]
Amount = Annotated[
    Decimal, Field(gt=0, max_digits=16, decimal_places=2, description="Original amount, > 0")
]
Rate = Annotated[
    Decimal,
    Field(
        gt=0,
        max_digits=20,
        decimal_places=RATE_PLACES,
        description="USD per unit of the original currency",
    ),
]
IatiId = Annotated[
    str,
    Field(
        min_length=3,
        max_length=120,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="IATI activity identifier: the reporting organisation's ref, '-', an id",
        examples=["XM-CMCC-PSE-RRP-2025"],
    ),
]
Title = Annotated[str, Field(min_length=1, max_length=300)]
Text = Annotated[str, Field(max_length=20_000)]
OrgCode = Annotated[str, Field(min_length=2, max_length=32, description="Organization code")]


# ---- the plan tree --------------------------------------------------------------------------


class PlanCreate(ReleasableCreate):
    code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: Title
    description: Text = ""
    start_date: dt.date
    end_date: dt.date
    budget_usd: Usd
    iati_identifier: IatiId
    source: Text = ""


class PlanUpdate(VersionedUpdate):
    title: Title | None = None
    description: Text | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    budget_usd: Usd | None = None
    source: Text | None = None


class PlanPublic(RecordPublic):
    code: str
    title: str
    description: str
    start_date: dt.date
    end_date: dt.date
    budget_usd: Decimal
    iati_identifier: str
    source: str


class PhaseCreate(ReleasableCreate):
    plan_id: RecordIdField
    number: int = Field(ge=1, le=99)
    title: Title
    start_date: dt.date
    end_date: dt.date
    budget_usd: Usd


class PhaseUpdate(VersionedUpdate):
    title: Title | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    budget_usd: Usd | None = None


class PhasePublic(RecordPublic):
    plan_id: int
    number: int
    title: str
    start_date: dt.date
    end_date: dt.date
    budget_usd: Decimal
    iati_identifier: str


class ProgrammeCreate(ReleasableCreate):
    phase_id: RecordIdField
    dac_code: str = Field(pattern=r"^\d{5}$", description="DAC CRS purpose code, e.g. 73010")
    title: Title
    budget_usd: Usd | None = None


class ProgrammeUpdate(VersionedUpdate):
    dac_code: str | None = Field(None, pattern=r"^\d{5}$")
    title: Title | None = None
    budget_usd: Usd | None = None


class ProgrammePublic(RecordPublic):
    phase_id: int
    dac_code: str
    dac_name: str
    title: str
    budget_usd: Decimal | None


# ---- projects -------------------------------------------------------------------------------


class ProjectCreate(ReleasableCreate):
    programme_id: RecordIdField
    title: Title
    description: Text = ""
    implementing_org: OrgCode
    geometry: GeoJSONGeometry = Field(
        description="GeoJSON Point, Polygon or MultiPolygon, [lon, lat], inside the mission area"
    )
    planned_start: dt.date | None = None
    planned_end: dt.date | None = None
    budget_usd: Usd
    iati_identifier: IatiId
    adm1: str | None = Field(None, max_length=100, description="Governorate, e.g. Gaza, Rafah")


class ProjectUpdate(VersionedUpdate):
    title: Title | None = None
    description: Text | None = None
    implementing_org: OrgCode | None = None
    geometry: GeoJSONGeometry | None = None
    planned_start: dt.date | None = None
    planned_end: dt.date | None = None
    budget_usd: Usd | None = None
    adm1: str | None = Field(None, max_length=100)


class ProjectStatusChange(Input):
    to: ProjectStatus
    version: int = Field(ge=1)
    on: dt.date | None = Field(None, description="The actual start or end date (default today)")


class ProjectPublic(RecordPublic):
    programme_id: int
    title: str
    description: str
    implementing_org: str = Field(validation_alias="implementing_org_code")
    status: ProjectStatus
    planned_start: dt.date | None
    planned_end: dt.date | None
    actual_start: dt.date | None
    actual_end: dt.date | None
    budget_usd: Decimal
    iati_identifier: str
    adm1: str | None
    geometry: GeoJSONGeometry = Field(validation_alias="geojson")


# ---- flows ----------------------------------------------------------------------------------


class FlowCreate(ReleasableCreate):
    status: FlowStatus
    donor: OrgCode = Field(description="The donor organization's code (a state: ISO alpha-3)")
    fulfils_id: RecordIdField | None = Field(
        None, description="The pledge a commitment converts, the commitment a payment converts"
    )
    amount: Amount
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")
    exchange_rate: Rate | None = Field(None, description="Required unless USD or amount_usd")
    rate_date: dt.date | None = Field(None, description="Default: the flow date")
    amount_usd: Usd | None = Field(None, description="Default: amount x exchange_rate")
    decision_date: dt.date
    flow_date: dt.date | None = Field(None, description="Default: the decision date")
    first_reported_date: dt.date | None = Field(None, description="Default: today")
    plan_id: RecordIdField | None = Field(
        None, description="Required unless a phase/programme/project"
    )
    phase_id: RecordIdField | None = None
    programme_id: RecordIdField | None = None
    project_id: RecordIdField | None = None
    restricted: bool = False
    notes: Text = ""
    source: Text = ""
    override_reason: str | None = Field(
        None, min_length=3, max_length=2000, description="Accept a payment over its commitment"
    )


class FlowRevision(VersionedUpdate):
    """A new version of the flow; fields left out keep their value. The old version is kept
    (is_current false)."""

    fulfils_id: RecordIdField | None = None
    amount: Amount | None = None
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    exchange_rate: Rate | None = None
    rate_date: dt.date | None = None
    amount_usd: Usd | None = None
    decision_date: dt.date | None = None
    flow_date: dt.date | None = None
    plan_id: RecordIdField | None = None
    phase_id: RecordIdField | None = None
    programme_id: RecordIdField | None = None
    project_id: RecordIdField | None = None
    restricted: bool | None = None
    notes: Text | None = None
    source: Text | None = None
    override_reason: str | None = Field(None, min_length=3, max_length=2000)


class FlowPublic(RecordPublic):
    lineage_id: int
    version_no: int
    is_current: bool
    status: FlowStatus
    donor: str = Field(validation_alias="donor_code")
    fulfils_id: int | None
    amount: Decimal
    currency: str
    exchange_rate: Decimal
    rate_date: dt.date
    amount_usd: Decimal
    decision_date: dt.date
    flow_date: dt.date
    first_reported_date: dt.date
    plan_id: int
    phase_id: int | None
    programme_id: int | None
    project_id: int | None
    restricted: bool
    notes: str
    source: str


# ---- summary --------------------------------------------------------------------------------


class SummaryRowPublic(BaseModel):
    key: str | None = Field(description="Donor code, phase number, DAC code or YYYY-MM")
    label: str
    pledged_usd: Decimal = Field(description="Current pledges, whole amounts")
    committed_usd: Decimal = Field(description="Current commitments, whole amounts")
    paid_usd: Decimal = Field(description="Current paid contributions")
    outstanding_pledges_usd: Decimal = Field(description="Pledges not yet converted")
    unpaid_commitments_usd: Decimal = Field(description="Commitments not yet paid")
    funded_usd: Decimal = Field(description="paid + unpaid commitments")
    total_usd: Decimal = Field(description="funded + outstanding pledges: never double counted")
    disbursement_rate: Decimal | None = Field(description="paid / committed")
    budget_usd: Decimal | None = None
    gap_usd: Decimal | None = Field(None, description="budget - funded, floored at 0")


class SummaryPublic(BaseModel):
    by: str
    donor: str | None
    rows: list[SummaryRowPublic]
    total: SummaryRowPublic
