"""Humanitarian coordination: notifications of sites and movements (in versions), their
contacts, their deconfliction advisories, access constraints, crossings and aid flow."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    exists,
    literal,
    select,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column

from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Derived, Releasable, Timestamped, marking_checks, sql_in
from cmcc.core.releasability import Viewer
from cmcc.core.types import JSONDoc
from cmcc.geo.columns import Spatial
from cmcc.humanitarian.domain import (
    AccessCategory,
    AccessImpact,
    AdvisoryKind,
    CargoCategory,
    CrossingStatus,
    NotificationKind,
    NotificationStatus,
    notification_ref,
)


class Notification(Releasable, Spatial, Base):
    """A humanitarian notification of a site (a point or an area) or a movement (a route as a
    line), in versions of one lineage: a change is a new version, the one it replaces keeps
    `replaced_at`. Its marking is kept by the workflow: the submitting organization and the
    centre, then whoever it is shared with (see cmcc.humanitarian.sharing)."""

    __tablename__ = "humanitarian_notifications"
    __table_args__: tuple[Any, ...] = (
        *marking_checks(),
        CheckConstraint(sql_in("kind", NotificationKind), name="kind"),
        CheckConstraint(sql_in("status", NotificationStatus), name="status"),
    )

    # The first version's id; NULL on the first version itself (see lineage_id).
    lineage: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    replaced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    site_type: Mapped[str | None] = mapped_column(String(32), default=None)
    movement_type: Mapped[str | None] = mapped_column(String(32), default=None)
    hours: Mapped[str] = mapped_column(String(200), default="")  # a site's opening hours
    waypoints: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    crossing_id: Mapped[int | None] = mapped_column(ForeignKey("crossings.id"), default=None)
    # A site's validity; a movement's time window.
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    vehicles: Mapped[int | None] = mapped_column(Integer, default=None)
    cargo_category: Mapped[str | None] = mapped_column(String(16), default=None)
    personnel_count: Mapped[int | None] = mapped_column(Integer, default=None)
    buffer_m: Mapped[float] = mapped_column(Float)  # protection radius / corridor half-width
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status_by: Mapped[str] = mapped_column(String(120))
    audiences: Mapped[list[str]] = mapped_column(JSONDoc, default=list)  # "force", party codes
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), default=None)
    submitted_by: Mapped[str] = mapped_column(String(120))
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def lineage_id(self) -> int:
        return self.lineage if self.lineage is not None else self.id

    @property
    def ref(self) -> str:
        return notification_ref(self.kind, self.lineage_id)


class NotificationContact(Releasable, Base):
    """The contact of a notification: personal data. Marked for the submitting organization and
    the centre only, whoever the notification is shared with; the audit keeps no value."""

    __tablename__ = "notification_contacts"
    __audit_redact__ = frozenset({"name", "phone", "email"})

    notification_lineage: Mapped[int] = mapped_column(Integer, index=True, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(String(200), default="")


class NotificationStatusChange(Timestamped, Base):
    """The history of a notification's status (and of the audiences it was shared with)."""

    __tablename__ = "notification_status_changes"
    __audit_parent__ = "notification_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("humanitarian_notifications.id"), index=True
    )
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    audiences: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(120))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Advisory(Derived, Base):
    """A deconfliction advisory: the notification (one version) against one record of the
    picture. Released with its notification; the record it names is named only to a caller who
    may see it, and counted for the others (cmcc.humanitarian.advisories)."""

    __tablename__ = "deconfliction_advisories"
    __release_sources__ = ("notification_id",)
    __table_args__: tuple[Any, ...] = (CheckConstraint(sql_in("kind", AdvisoryKind), name="kind"),)

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("humanitarian_notifications.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True, default=None)
    hazard_id: Mapped[int | None] = mapped_column(
        ForeignKey("hazard_areas.id"), index=True, default=None
    )
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), index=True, default=None
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("unit_tasks.id"), index=True, default=None
    )
    crossing_status_id: Mapped[int | None] = mapped_column(
        ForeignKey("crossing_statuses.id"), index=True, default=None
    )
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)  # 0: touches or crosses
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Crossing(Releasable, Base):
    """A crossing point into the Strip, where aid enters."""

    __tablename__ = "crossings"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    approx: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")


class NamesCrossing:
    """A Releasable record about a crossing (its status): released by its own marking and only
    to whoever may see the crossing, so that a crossing re-marked away from a viewer takes what
    is said about it along. (The aid flow's figures are not: they count, for a crossing the
    viewer may not see, under "a crossing not released to you".)"""

    @classmethod
    def own_release_condition(cls, model: Any, viewer: Viewer) -> ColumnElement[bool]:
        from cmcc.access.policy import release_filter

        crossing = aliased(Crossing)
        seen = exists(
            select(literal(1)).where(
                crossing.id == model.crossing_id, release_filter(crossing, viewer)
            )
        )
        column = model.crossing_id
        return (column.is_(None) | seen) if cls.__table__.c.crossing_id.nullable else seen  # type: ignore[attr-defined]


class CrossingStatusChange(NamesCrossing, Releasable, Base):
    """A crossing's status from a moment until the next change (with its source)."""

    __tablename__ = "crossing_statuses"
    __table_args__: tuple[Any, ...] = (
        *marking_checks(),
        CheckConstraint(sql_in("status", CrossingStatus), name="status"),
    )

    crossing_id: Mapped[int] = mapped_column(ForeignKey("crossings.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    hours: Mapped[str] = mapped_column(String(100), default="")  # restricted hours: "08:00-16:00"
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    approx: Mapped[bool] = mapped_column(Boolean, default=False)
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)


class AidFlowEntry(Releasable, Base):
    """Trucks of one cargo category through one crossing on one day, with the figure's source."""

    __tablename__ = "aid_flow_entries"
    __table_args__: tuple[Any, ...] = (
        *marking_checks(),
        CheckConstraint(sql_in("cargo_category", CargoCategory), name="cargo_category"),
        CheckConstraint("trucks >= 0", name="trucks"),
        UniqueConstraint("crossing_id", "day", "cargo_category"),
    )

    crossing_id: Mapped[int] = mapped_column(ForeignKey("crossings.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    cargo_category: Mapped[str] = mapped_column(String(16))
    trucks: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text, default="")
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)


class AidFlowTarget(Releasable, Base):
    """Trucks per day to aim for, from a day (until the next target of the same scope): for
    one crossing or all (NULL), for one cargo category or all (NULL)."""

    __tablename__ = "aid_flow_targets"
    __table_args__: tuple[Any, ...] = (
        *marking_checks(),
        CheckConstraint("trucks_per_day >= 0", name="trucks_per_day"),
    )

    crossing_id: Mapped[int | None] = mapped_column(ForeignKey("crossings.id"), default=None)
    cargo_category: Mapped[str | None] = mapped_column(String(16), default=None)
    trucks_per_day: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text, default="")


class AccessConstraint(Releasable, Base):
    """An impediment to humanitarian access, in OCHA's access monitoring categories, linked to
    the movement it hit and to the incident it is part of."""

    __tablename__ = "access_constraints"
    __table_args__: tuple[Any, ...] = (
        *marking_checks(),
        CheckConstraint(sql_in("category", AccessCategory), name="category"),
        CheckConstraint(sql_in("impact", AccessImpact), name="impact"),
    )

    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    category: Mapped[str] = mapped_column(String(40))
    impact: Mapped[str] = mapped_column(String(32))
    place: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    delay_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    notification_lineage: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    reported_by: Mapped[str] = mapped_column(String(120))
