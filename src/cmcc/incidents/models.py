"""Tables of incidents, their verification steps, evidence and alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Integer,
    String,
    Text,
    column,
    func,
    or_,
    select,
    table,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Derived, Releasable, Timestamped
from cmcc.core.releasability import Marking, Viewer
from cmcc.core.types import JSONDoc
from cmcc.geo.columns import Spatial
from cmcc.incidents.domain import ACLED, IncidentType

# The TAK gateway's positions (cmcc.cot.tracks.Track), named here by table so that this module
# does not import the gateway (which imports it).
_TRACKS = table("tracks", column("id"), column("releasability"), column("release_to"))
# The same for units (cmcc.command.models.Unit), which import the picture.
_UNITS = table("units", column("id"), column("releasability"), column("release_to"))
_TASKS = table("unit_tasks", column("id"), column("releasability"), column("release_to"))


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
    __audit_parent__ = "incident_id"

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
    __audit_parent__ = "incident_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(Text, default="")
    observed_by: Mapped[str] = mapped_column(String(200), default="")
    observed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    added_by: Mapped[str] = mapped_column(String(120))


def _subject(name: str, incident_id: Any, track_id: Any, unit_id: Any, task_id: Any) -> Any:
    """A marking column of an alert's subject: its incident's, else its position's, else its
    unit's, else its task's."""
    return func.coalesce(
        select(getattr(Incident, name))
        .where(Incident.id == incident_id)
        .correlate_except(Incident)
        .scalar_subquery(),
        select(_TRACKS.c[name]).where(_TRACKS.c.id == track_id).scalar_subquery(),
        select(_UNITS.c[name]).where(_UNITS.c.id == unit_id).scalar_subquery(),
        select(_TASKS.c[name]).where(_TASKS.c.id == task_id).scalar_subquery(),
    )


class Alert(Derived, Base):
    """Something touched a protected zone: an incident inside it, or a unit's position where
    its pledge's caveats forbid it.

    An alert has no marking of its own: it is released to whoever may see every record it
    names, at the moment of reading (its zone; its incident, or its unit's position and
    pledge). So it follows their markings when they change, and nobody learns from an alert of
    a zone, an incident or a position they may not see (docs/security.md)."""

    __tablename__ = "alerts"
    __release_sources__ = (
        "zone_id",
        "incident_id",
        "track_id",
        "pledge_id",
        "unit_id",
        "task_id",
        "report_id",
    )

    kind: Mapped[str] = mapped_column(String(40))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True, default=None)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), index=True, default=None
    )
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"), default=None)
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledges.id"), default=None)
    # Command and control: the unit (a version of it), its task, its report.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("unit_tasks.id"), default=None)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("unit_reports.id"), default=None)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120), default=None)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    # The marking shown with the alert: its subject's (the incident's, or the position's). Who
    # may read the alert also depends on its zone and pledge (see the class).
    subject_releasability: Mapped[str | None] = column_property(
        _subject("releasability", incident_id, track_id, unit_id, task_id)
    )
    subject_release_to: Mapped[str | None] = column_property(
        _subject("release_to", incident_id, track_id, unit_id, task_id)
    )

    @property
    def marking_text(self) -> str:
        if self.subject_releasability is None:
            return "owner"  # no subject: its owner's only (own_release_condition)
        return str(Marking.from_stored(self.subject_releasability, self.subject_release_to))

    @classmethod
    def own_release_condition(cls, model: Any, viewer: Viewer) -> ColumnElement[bool]:
        """An alert that names no subject (raised before alerts named their unit's position)
        is its owner's only. A task is a subject (a task that meets a notified movement)."""
        return or_(
            model.incident_id.is_not(None),
            model.track_id.is_not(None),
            model.unit_id.is_not(None),
            model.task_id.is_not(None),
            model.owner_org_id == viewer.org_id,
        )
