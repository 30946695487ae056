"""Tables of public tips and rewards.

Nothing here names or locates the tipster: no address, agent, referrer or cookie has a column.
The claim code is stored only as its peppered Argon2id hash (and a locator of 6 digits). The
tip's texts, the hash and the photo are recorded in the audit log as changed, without values.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Releasable, Timestamped, marking_checks, sql_in
from cmcc.core.types import Money
from cmcc.tips.domain import RewardStatus, TipOutcome, TipStatus


class Tip(Releasable, Base):
    __tablename__ = "tips"
    __audit_redact__ = frozenset({"claim_hash", "text", "place"})
    __table_args__ = (
        *marking_checks(),
        CheckConstraint(sql_in("status", TipStatus), name="status"),
        CheckConstraint("outcome IS NULL OR " + sql_in("outcome", TipOutcome), name="outcome"),
        CheckConstraint("(outcome IS NULL) = (status <> 'closed')", name="closed_outcome"),
        CheckConstraint("(duplicate_of_id IS NULL) OR outcome = 'duplicate'", name="duplicate"),
        CheckConstraint("(lon IS NULL) = (lat IS NULL)", name="location"),
    )

    locator: Mapped[str] = mapped_column(String(8), unique=True)  # opens nothing by itself
    claim_hash: Mapped[str] = mapped_column(String(200))
    claim_redeemed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    text: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(String(500), default="")
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None, index=True)
    status: Mapped[str] = mapped_column(String(16), default=TipStatus.RECEIVED.value, index=True)
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id"), default=None)
    triage_note: Mapped[str] = mapped_column(Text, default="")


# The global rate limit counts the tips of the last hour.
Index("ix_tips_created_at", Tip.created_at)


class TipPhoto(Timestamped, Base):
    """The photo of a tip, re-encoded without metadata (see cmcc.tips.photos)."""

    __tablename__ = "tip_photos"
    __audit_parent__ = "tip_id"
    __audit_redact__ = frozenset({"data"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), unique=True)
    media_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class TipSearchTask(Base):
    """The tip led to (or informs) this search task."""

    __tablename__ = "tip_search_tasks"

    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), primary_key=True)
    search_task_id: Mapped[int] = mapped_column(
        ForeignKey("search_tasks.id"), primary_key=True, index=True
    )
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    linked_by: Mapped[str] = mapped_column(String(120))


class TipRecovery(Base):
    """The tip led to this recovery of remains."""

    __tablename__ = "tip_recoveries"

    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), primary_key=True)
    recovery_id: Mapped[int] = mapped_column(
        ForeignKey("recoveries.id"), primary_key=True, index=True
    )
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    linked_by: Mapped[str] = mapped_column(String(120))


class UsedChallenge(Base):
    """A proof-of-work challenge already spent, kept until it expires (replays are refused).
    Abuse-control state, not a record: written with plain SQL, outside the audit log."""

    __tablename__ = "tip_challenges_used"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class Reward(Releasable, Base):
    """A reward for one tip: nominated, approved by a second officer, paid against the code."""

    __tablename__ = "rewards"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint(sql_in("status", RewardStatus), name="status"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("(status = 'paid') = (paid_at IS NOT NULL)", name="paid"),
    )

    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(
        String(12), default=RewardStatus.NOMINATED.value, index=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    nominated_by: Mapped[str] = mapped_column(String(120))
    nominated_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[str | None] = mapped_column(String(120), default=None)
    approved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    paid_by: Mapped[str | None] = mapped_column(String(120), default=None)
    paid_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    paid_amount: Mapped[Decimal | None] = mapped_column(Money(), default=None)
