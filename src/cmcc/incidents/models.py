"""Tables of incidents, their verification steps, evidence and alerts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Releasable, Timestamped
from cmcc.core.types import JSONDoc
from cmcc.geo.columns import Spatial
from cmcc.incidents.domain import ACLED, IncidentType


class Incident(Releasable, Spatial, Base):
    __tablename__ = "incidents"

    external_ref: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    type: Mapped[str] = mapped_column(String(40), index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    severity: Mapped[int] = mapped_column(Integer)
    killed_civilian: Mapped[int] = mapped_column(Integer, default=0)
    killed_other: Mapped[int] = mapped_column(Integer, default=0)
    injured_civilian: Mapped[int] = mapped_column(Integer, default=0)
    injured_other: Mapped[int] = mapped_column(Integer, default=0)
    source_reliability: Mapped[str] = mapped_column(String(1), default="F")
    info_credibility: Mapped[int] = mapped_column(Integer, default=6)
    narrative: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    status: Mapped[str] = mapped_column(String(20), default="reported", index=True)
    attribution: Mapped[str | None] = mapped_column(String(120), default=None)
    finding: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")

    @property
    def acled_event_type(self) -> str:
        return ACLED[IncidentType(self.type)][0]

    @property
    def acled_sub_event_type(self) -> str:
        return ACLED[IncidentType(self.type)][1]


class VerificationStep(Timestamped, Base):
    __tablename__ = "incident_verification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(String(120), default=None)
    by: Mapped[str] = mapped_column(String(120))


class Evidence(Timestamped, Base):
    """A report, photo, track or other item that supports or contradicts an incident."""

    __tablename__ = "incident_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(Text, default="")
    observed_by: Mapped[str] = mapped_column(String(200), default="")
    observed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    added_by: Mapped[str] = mapped_column(String(120))


class Alert(Releasable, Base):
    """Something touched a protected zone: an incident, or (later) a unit position."""

    __tablename__ = "alerts"

    kind: Mapped[str] = mapped_column(String(40))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), default=None)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120), default=None)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
