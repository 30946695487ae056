"""Tables of the force generation module."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cmcc.core.clock import utcnow
from cmcc.core.db import Base
from cmcc.core.records import Releasable, Timestamped
from cmcc.core.types import JSONDoc, Money


class State(Releasable, Base):
    """A state and its outreach pipeline status (the record a force generation cell keeps)."""

    __tablename__ = "states"

    iso3: Mapped[str] = mapped_column(String(3), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    un_member: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="not_approached", index=True)
    status_since: Mapped[dt.date | None] = mapped_column(Date, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")


class StateTransition(Timestamped, Base):
    __tablename__ = "state_transitions"
    __audit_parent__ = "state_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_id: Mapped[int] = mapped_column(ForeignKey("states.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, default="")
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    by: Mapped[str] = mapped_column(String(120))


class Requirement(Releasable, Base):
    """A Statement of Unit Requirements (SUR)."""

    __tablename__ = "requirements"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    capability: Mapped[str] = mapped_column(String(40), index=True)
    units: Mapped[int] = mapped_column(Integer)
    strength_per_unit: Mapped[int] = mapped_column(Integer)
    sector: Mapped[str] = mapped_column(String(80), default="")
    zone_kinds: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    tasks: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    needed_by: Mapped[dt.date | None] = mapped_column(Date, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")


class Pledge(Releasable, Base):
    """A unit or capability offered by a state, with its PCRS readiness and national caveats."""

    __tablename__ = "pledges"

    ref: Mapped[str] = mapped_column(String(40), unique=True)
    state_id: Mapped[int] = mapped_column(ForeignKey("states.id"), index=True)
    capability: Mapped[str] = mapped_column(String(40), index=True)
    units: Mapped[int] = mapped_column(Integer, default=1)
    strength: Mapped[int] = mapped_column(Integer)
    equipment: Mapped[str] = mapped_column(Text, default="")
    readiness: Mapped[str] = mapped_column(String(20), default="level_1", index=True)
    registered_on: Mapped[dt.date] = mapped_column(Date)
    last_renewed_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    renewal_due: Mapped[dt.date] = mapped_column(Date, index=True)
    earliest_deployment: Mapped[dt.date | None] = mapped_column(Date, default=None)
    deployed_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    duration_months: Mapped[int | None] = mapped_column(Integer, default=None)
    tour_months: Mapped[int] = mapped_column(Integer, default=6)
    caveats: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    requirement_id: Mapped[int | None] = mapped_column(
        ForeignKey("requirements.id"), default=None, index=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")

    state: Mapped[State] = relationship(lazy="joined", innerjoin=True)

    @property
    def state_iso3(self) -> str:
        return self.state.iso3

    @property
    def renewal_overdue(self) -> bool:
        return self.renewal_due < utcnow().date()


class ReadinessVisit(Timestamped, Base):
    """The PCRS step (registration, AAV, SUR alignment, verification visit) that set a level."""

    __tablename__ = "readiness_visits"
    __audit_parent__ = "pledge_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    date: Mapped[dt.date] = mapped_column(Date)
    from_level: Mapped[str] = mapped_column(String(20))
    to_level: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(120))


class ForceTarget(Releasable, Base):
    __tablename__ = "force_targets"

    name: Mapped[str] = mapped_column(String(80), unique=True)
    strength: Mapped[int] = mapped_column(Integer)
    due: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text, default="")


class Contribution(Releasable, Base):
    """A financial contribution to the force (kept apart from troop pledges)."""

    __tablename__ = "contributions"

    state_id: Mapped[int] = mapped_column(ForeignKey("states.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # pledged | paid
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    usd_amount: Mapped[Decimal] = mapped_column(Money())
    date: Mapped[dt.date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    ref: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)

    state: Mapped[State] = relationship(lazy="joined", innerjoin=True)

    @property
    def state_iso3(self) -> str:
        return self.state.iso3
