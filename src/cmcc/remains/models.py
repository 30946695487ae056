"""Tables of the search for remains: search tasks (with their steps and hazard links),
recoveries, and the personal data of the missing and their families (a table of its own)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Releasable, Timestamped, marking_checks, sql_in
from cmcc.geo.columns import Spatial
from cmcc.remains.domain import HandoverTo, TaskStatus
from cmcc.remains.domain import IdentificationMethod as IdMethod
from cmcc.remains.domain import IdentificationStatus as IdStatus


class SearchTask(Releasable, Spatial, Base):
    """A place to search (a point) or a sector of a grid (a polygon)."""

    __tablename__ = "search_tasks"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint(sql_in("status", TaskStatus), name="status"),
    )

    sector: Mapped[str | None] = mapped_column(String(12), default=None)  # e.g. "A-01"
    grid: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    marker: Mapped[str] = mapped_column(String(200), default="")  # INSARAG-style marking text
    team: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="not_started", index=True)
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    status_changed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    eod_escort: Mapped[str | None] = mapped_column(String(200), default=None)
    escort_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    description: Mapped[str] = mapped_column(Text, default="")


class SearchTaskStep(Timestamped, Base):
    """One status change of a search task: who, when, why."""

    __tablename__ = "search_task_steps"
    __audit_parent__ = "task_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("search_tasks.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(120))


class SearchTaskHazard(Base):
    """A search task's ground touches this hazard area (linked while the hazard was open)."""

    __tablename__ = "search_task_hazards"

    task_id: Mapped[int] = mapped_column(ForeignKey("search_tasks.id"), primary_key=True)
    hazard_id: Mapped[int] = mapped_column(
        ForeignKey("hazard_areas.id"), primary_key=True, index=True
    )
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Recovery(Releasable, Spatial, Base):
    """Remains found and recovered at a place, their identification and their handover."""

    __tablename__ = "recoveries"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint(
            "identification_status IS NULL OR " + sql_in("identification_status", IdStatus),
            name="identification_status",
        ),
        CheckConstraint(
            "identification_method IS NULL OR " + sql_in("identification_method", IdMethod),
            name="identification_method",
        ),
        CheckConstraint(
            "handover_to IS NULL OR " + sql_in("handover_to", HandoverTo), name="handover_to"
        ),
        CheckConstraint("(handover_to IS NULL) = (handover_date IS NULL)", name="handover_date"),
        CheckConstraint(
            "remains_found >= 0 AND remains_recovered >= 0 AND remains_recovered <= remains_found",
            name="counts",
        ),
    )

    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("search_tasks.id"), default=None, index=True
    )
    recovered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    place: Mapped[str] = mapped_column(String(500), default="")
    remains_found: Mapped[int] = mapped_column(Integer, default=0)
    remains_recovered: Mapped[int] = mapped_column(Integer, default=0)
    identification_status: Mapped[str | None] = mapped_column(String(12), default=None)
    identification_method: Mapped[str | None] = mapped_column(String(12), default=None)
    handover_to: Mapped[str | None] = mapped_column(String(10), default=None)
    handover_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")


# Recorded in the audit log as changed, never with their values.
PERSONAL_COLUMNS = frozenset(
    {
        "missing_name",
        "date_of_birth",
        "age",
        "family_contact_name",
        "family_contact_phone",
        "notes",
    }
)


class RecoveryPersonalData(Timestamped, Base):
    """The missing person and their family, for one recovery. Read only by a recovery officer of
    the recovery's owning organization; never exported, never in the audit log in clear."""

    __tablename__ = "recovery_personal_data"
    __audit_parent__ = "recovery_id"
    __audit_redact__ = PERSONAL_COLUMNS
    __table_args__ = (CheckConstraint("age IS NULL OR (age >= 0 AND age <= 130)", name="age"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recovery_id: Mapped[int] = mapped_column(ForeignKey("recoveries.id"), unique=True)
    missing_name: Mapped[str] = mapped_column(String(300), default="")
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date, default=None)
    age: Mapped[int | None] = mapped_column(Integer, default=None)
    family_contact_name: Mapped[str] = mapped_column(String(300), default="")
    family_contact_phone: Mapped[str] = mapped_column(String(50), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(120))
