"""Tables of reconstruction funding: the plan as a tree (plan -> phases -> programmes ->
projects) and the funding flows (pledge -> commitment -> paid), each flow in versions that
share a lineage. Money is `Money` (whole cents in a BIGINT): exact sums on both backends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cmcc.access.models import Organization
from cmcc.core.db import Base
from cmcc.core.records import Releasable, marking_checks, sql_in
from cmcc.core.types import Money
from cmcc.funding import dac
from cmcc.funding.columns import ExchangeRate
from cmcc.funding.domain import FlowStatus, ProjectStatus
from cmcc.geo.columns import Spatial


class Plan(Releasable, Base):
    """A recovery plan (e.g. the USD 67 billion, five-year plan for Gaza)."""

    __tablename__ = "funding_plans"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint("budget_usd >= 0", name="budget"),
        CheckConstraint("end_date >= start_date", name="period"),
    )

    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    budget_usd: Mapped[Decimal] = mapped_column(Money())
    iati_identifier: Mapped[str] = mapped_column(String(120), unique=True)
    source: Mapped[str] = mapped_column(Text, default="")


class Phase(Releasable, Base):
    """A phase of a plan (number 1, 2, 3...), with its period and budget."""

    __tablename__ = "funding_phases"
    __table_args__: tuple[Any, ...] = (
        *marking_checks(),
        UniqueConstraint("plan_id", "number"),
        CheckConstraint("budget_usd >= 0", name="budget"),
        CheckConstraint("number >= 1", name="number"),
        CheckConstraint("end_date >= start_date", name="period"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("funding_plans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    budget_usd: Mapped[Decimal] = mapped_column(Money())

    plan: Mapped[Plan] = relationship(lazy="joined", innerjoin=True)

    @property
    def iati_identifier(self) -> str:
        return f"{self.plan.iati_identifier}-P{self.number}"


class Programme(Releasable, Base):
    """A sector programme of a phase, coded with a DAC CRS purpose code (cmcc.funding.dac)."""

    __tablename__ = "funding_programmes"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint("budget_usd IS NULL OR budget_usd >= 0", name="budget"),
    )

    phase_id: Mapped[int] = mapped_column(ForeignKey("funding_phases.id"), index=True)
    dac_code: Mapped[str] = mapped_column(String(5), index=True)
    title: Mapped[str] = mapped_column(String(300))
    budget_usd: Mapped[Decimal | None] = mapped_column(Money(), default=None)

    phase: Mapped[Phase] = relationship(lazy="joined", innerjoin=True)

    @property
    def dac_name(self) -> str:
        return dac.dac_name(self.dac_code)


class Project(Releasable, Spatial, Base):
    """A located project (a point or an area) of a programme, run by an implementing
    organization. It starts (in_progress) only inside cleared areas, clear of open hazards."""

    __tablename__ = "funding_projects"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint(sql_in("status", ProjectStatus), name="status"),
        CheckConstraint("budget_usd >= 0", name="budget"),
    )

    programme_id: Mapped[int] = mapped_column(ForeignKey("funding_programmes.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    implementing_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pipeline", index=True)
    planned_start: Mapped[dt.date | None] = mapped_column(Date, default=None)
    planned_end: Mapped[dt.date | None] = mapped_column(Date, default=None)
    actual_start: Mapped[dt.date | None] = mapped_column(Date, default=None)
    actual_end: Mapped[dt.date | None] = mapped_column(Date, default=None)
    budget_usd: Mapped[Decimal] = mapped_column(Money())
    iati_identifier: Mapped[str] = mapped_column(String(120), unique=True)
    adm1: Mapped[str | None] = mapped_column(String(100), default=None)  # governorate, for 3W

    programme: Mapped[Programme] = relationship(lazy="joined", innerjoin=True)
    owner: Mapped[Organization] = relationship(
        foreign_keys="Project.owner_org_id", lazy="joined", innerjoin=True
    )
    implementing_org: Mapped[Organization] = relationship(
        foreign_keys=[implementing_org_id], lazy="joined", innerjoin=True
    )

    @property
    def implementing_org_code(self) -> str:
        return self.implementing_org.code


# the columns the reports read after their group column (see ix_funding_flows_report_*)
_REPORTED = (
    "is_current",
    "status",
    "amount_usd",
    "converted_usd",
    "lineage_id",
    "releasability",
    "owner_org_id",
    "release_to",
)


class Flow(Releasable, Base):
    """One version of a funding flow. A revision adds a version with the same `lineage_id` and
    marks the old one `is_current` false; totals count current versions only. `fulfils_id`
    is the lineage (first version's id) of the flow of the previous stage it converts;
    `converted_usd` the sum of the current flows converting this one's lineage."""

    __tablename__ = "funding_flows"
    __table_args__: tuple[Any, ...] = (
        *marking_checks(),
        CheckConstraint(sql_in("status", FlowStatus), name="status"),
        CheckConstraint("amount > 0 AND amount_usd >= 0 AND exchange_rate > 0", name="amounts"),
        CheckConstraint("version_no >= 1", name="version_no"),
        CheckConstraint("flow_date >= decision_date", name="dates"),
        UniqueConstraint("lineage_id", "version_no"),
        # the reports' converted sums per lineage read this index only (no table rows)
        Index(
            "ix_funding_flows_converting",
            "fulfils_id",
            "is_current",
            "amount_usd",
            "releasability",
            "owner_org_id",
            "release_to",
        ),
        # the reports' GROUP BY (donor, phase, programme -> sector, date -> month) reads one
        # of these only, in order (no table rows, no sort); each also serves its column alone
        *(
            Index(f"ix_funding_flows_report_{column}", column, *_REPORTED)
            for column in ("donor_org_id", "phase_id", "programme_id", "flow_date")
        ),
    )

    lineage_id: Mapped[int] = mapped_column(
        ForeignKey("funding_flows.id"), index=True, nullable=True
    )
    version_no: Mapped[int] = mapped_column(Integer, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    fulfils_id: Mapped[int | None] = mapped_column(ForeignKey("funding_flows.id"), default=None)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    exchange_rate: Mapped[Decimal] = mapped_column(ExchangeRate())
    rate_date: Mapped[dt.date] = mapped_column(Date)
    amount_usd: Mapped[Decimal] = mapped_column(Money())
    # pledges and commitments: the USD of the current flows converting this lineage, whoever
    # may see them (kept by cmcc.funding.flows on every write; the current version's is exact)
    converted_usd: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    decision_date: Mapped[dt.date] = mapped_column(Date)
    flow_date: Mapped[dt.date] = mapped_column(Date)
    first_reported_date: Mapped[dt.date] = mapped_column(Date)
    donor_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("funding_plans.id"), index=True)
    phase_id: Mapped[int | None] = mapped_column(ForeignKey("funding_phases.id"), default=None)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("funding_programmes.id"), default=None
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("funding_projects.id"), index=True, default=None
    )
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")

    owner: Mapped[Organization] = relationship(
        foreign_keys="Flow.owner_org_id", lazy="joined", innerjoin=True
    )
    donor: Mapped[Organization] = relationship(
        foreign_keys=[donor_org_id], lazy="joined", innerjoin=True
    )

    @property
    def donor_code(self) -> str:
        return self.donor.code


class Total(Base):
    """Converted totals kept per marking (`cmcc.funding.totals` keeps them on every write of a
    flow): per grouping (`phase`, `sector`: the programme, `month`: yyyymm; 0 for none), plan,
    donor and status, the cents of the current flows of one marking (`marking`), for one set of
    markings of their converting flows (`conversions`, '' for none). A caller's figure is the sum
    of the rows whose marking and conversions they may see (`TotalMarking`): the rows are as
    many as groups x markings, whatever the number of flows. Derived from the flows and
    recomputable (`totals.rebuild`): not audited."""

    __tablename__ = "funding_totals"
    __table_args__ = (
        UniqueConstraint(
            "grouping", "plan_id", "donor_org_id", "group_key", "status", "marking", "conversions"
        ),
        CheckConstraint("grouping IN ('phase', 'sector', 'month')", name="grouping"),
        CheckConstraint(sql_in("status", FlowStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grouping: Mapped[str] = mapped_column(String(8))
    plan_id: Mapped[int] = mapped_column(ForeignKey("funding_plans.id"), index=True)
    donor_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_key: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    marking: Mapped[str] = mapped_column(String(40))
    conversions: Mapped[str] = mapped_column(String(40))
    cents: Mapped[int] = mapped_column(BigInteger)
    flows: Mapped[int] = mapped_column(Integer)  # rows without conversions: the flows counted


class TotalMarking(Base):
    """The markings of each set named by `Total.marking` and `Total.conversions` (a digest of
    the set): the release policy (`release_filter`) reads these columns, one row per member."""

    __tablename__ = "funding_total_markings"
    __table_args__ = (UniqueConstraint("set_key", "member"), *marking_checks())

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_key: Mapped[str] = mapped_column(String(40))
    member: Mapped[str] = mapped_column(String(40))
    releasability: Mapped[str] = mapped_column(String(8))
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    release_to: Mapped[str | None] = mapped_column(String(1000), default=None)
