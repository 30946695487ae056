"""Tables of command and control: the ORBAT (units in versions over time), command
relationships, areas of responsibility, deployment phases, tasks, unit reports, SITREPs.

A unit is kept like a zone: every change is a new version of the same lineage, valid from a
moment, so the force can be read as it stood at any date. Records that name a unit or a zone
by lineage (a relationship, a task, a report, an area assignment) carry a marking of their
own and are released only to whoever may also see what they name (`lineage_visible`), so they
follow the unit's marking when it changes."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column

from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Releasable, Timestamped, marking_checks
from cmcc.core.releasability import Viewer
from cmcc.core.types import JSONDoc
from cmcc.zones.models import Zone


class Unit(Releasable, Base):
    """A node of the ORBAT: a headquarters, a national contingent, a unit or a sub-unit."""

    __tablename__ = "units"

    # The first version's id; NULL on the first version itself (see lineage_id).
    lineage: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    parent_lineage: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(40), default="")
    nation: Mapped[str] = mapped_column(String(3), default="")  # ISO3; "" multinational
    kind: Mapped[str] = mapped_column(String(16))
    echelon: Mapped[str] = mapped_column(String(16))
    sidc: Mapped[str] = mapped_column(String(30))
    capability: Mapped[str | None] = mapped_column(String(40), default=None)
    strength_authorized: Mapped[int] = mapped_column(Integer, default=0)
    strength_assigned: Mapped[int] = mapped_column(Integer, default=0)
    strength_present: Mapped[int] = mapped_column(Integer, default=0)
    location: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    pledge_id: Mapped[int | None] = mapped_column(
        ForeignKey("pledges.id"), index=True, default=None
    )
    transfer_of_authority: Mapped[dt.date | None] = mapped_column(Date, default=None)
    area_zone_lineage: Mapped[int | None] = mapped_column(Integer, default=None)  # its own AOR
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text, default="")

    @property
    def lineage_id(self) -> int:
        """The id shared by every version of this unit (the first version's id)."""
        return self.lineage if self.lineage is not None else self.id


def unit_lineage_col(model: Any) -> ColumnElement[int]:
    return func.coalesce(model.lineage, model.id)


def is_lineage(model: Any, value: Any) -> Any:
    """A row of `model` (a unit or a zone) is a version of lineage `value` (a number or a
    column): through the indexed `id` and `lineage` columns, where `coalesce(lineage, id)`
    would be served by no index."""
    return or_(model.id == value, model.lineage == value)


def lineage_visible(column: Any, model: type[Unit] | type[Zone], viewer: Viewer) -> Any:
    """Some version of the unit or zone of lineage `column` is visible to `viewer`."""
    from cmcc.access.policy import release_filter

    other = aliased(model)
    return exists(
        select(literal(1)).where(is_lineage(other, column), release_filter(other, viewer))
    )


class NamesUnits:
    """A Releasable record that names units (and zones) by lineage: released by its own
    marking and only to whoever may see each unit and zone it names."""

    __unit_columns__: ClassVar[tuple[str, ...]] = ()
    __zone_columns__: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def own_release_condition(cls, model: Any, viewer: Viewer) -> ColumnElement[bool]:
        clauses = [lineage_visible(getattr(model, c), Unit, viewer) for c in cls.__unit_columns__]
        for c in cls.__zone_columns__:
            col = getattr(model, c)
            clauses.append(col.is_(None) | lineage_visible(col, Zone, viewer))
        return and_(*clauses)


class CommandRelationship(NamesUnits, Releasable, Base):
    """OPCON, TACON, ADCON or national command only of a headquarters over a unit, agreed by
    the contributing nation and effective from the transfer of authority."""

    __tablename__ = "command_relationships"
    __unit_columns__ = ("unit_lineage", "hq_lineage")

    unit_lineage: Mapped[int] = mapped_column(Integer, index=True)
    hq_lineage: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    effective_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    proposed_by: Mapped[str] = mapped_column(String(120))
    agreed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    agreed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")


class AreaAssignment(NamesUnits, Releasable, Base):
    """A sector (a zone of kind ISF sector, or any area) assigned to a headquarters as its
    area of responsibility over an interval."""

    __tablename__ = "area_assignments"
    __unit_columns__ = ("hq_lineage",)
    __zone_columns__ = ("zone_lineage",)

    hq_lineage: Mapped[int] = mapped_column(Integer, index=True)
    zone_lineage: Mapped[int] = mapped_column(Integer, index=True)
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")


class DeploymentPhase(Releasable, Base):
    """A phase of the deployment, and the zone kinds where the force deploys during it (the
    first: areas under Israeli control)."""

    __tablename__ = "deployment_phases"

    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    zone_kinds: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")


class UnitTask(NamesUnits, Releasable, Base):
    """A task issued by a headquarters to a unit, in an area (a zone) or at a point."""

    __tablename__ = "unit_tasks"
    __unit_columns__ = ("unit_lineage", "issuer_lineage")
    __zone_columns__ = ("zone_lineage",)

    title: Mapped[str] = mapped_column(String(200))
    task: Mapped[str] = mapped_column(String(40))
    unit_lineage: Mapped[int] = mapped_column(Integer, index=True)
    issuer_lineage: Mapped[int] = mapped_column(Integer, index=True)
    zone_lineage: Mapped[int | None] = mapped_column(Integer, default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    priority: Mapped[str] = mapped_column(String(16), default="routine")
    status: Mapped[str] = mapped_column(String(20), default="issued", index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_by: Mapped[str | None] = mapped_column(String(120), default=None)
    status_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    issued_by: Mapped[str] = mapped_column(String(120))


class TaskStatusChange(Timestamped, Base):
    """The history of a task's status (a national refusal with its reason, among others)."""

    __tablename__ = "task_status_changes"
    __audit_parent__ = "task_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("unit_tasks.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(120))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class UnitReport(NamesUnits, Releasable, Base):
    """A unit's daily PERSTAT (personnel, casualties by category, no names) or LOGSTAT (days
    of supply by class)."""

    __tablename__ = "unit_reports"
    __unit_columns__ = ("unit_lineage",)

    __table_args__: tuple[Any, ...] = (
        *marking_checks(),
        UniqueConstraint("unit_lineage", "report_date", "kind"),
    )

    unit_lineage: Mapped[int] = mapped_column(Integer, index=True)
    report_date: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(8))
    figures: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    submitted_by: Mapped[str] = mapped_column(String(120))
    remarks: Mapped[str] = mapped_column(Text, default="")


class Sitrep(Releasable, Base):
    """A daily situation report as issued: for one organization (its owner, marked owner),
    archived with its bytes and their SHA-256."""

    __tablename__ = "sitreps"
    __audit_redact__ = frozenset({"content"})  # the audit keeps its SHA-256, not the bytes

    report_date: Mapped[dt.date] = mapped_column(Date, index=True)
    audience: Mapped[str] = mapped_column(String(40))  # the organization's code
    format: Mapped[str] = mapped_column(String(8))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    generated_by: Mapped[str] = mapped_column(String(120))
    scheduled: Mapped[bool] = mapped_column(Boolean, default=False)
