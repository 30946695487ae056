"""Reported facts of a scenario (figures as the sources report them, with the source)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmcc.core.db import Base
from cmcc.core.records import Releasable


class ReportedFact(Releasable, Base):
    __tablename__ = "reported_facts"

    key: Mapped[str] = mapped_column(String(80), unique=True)
    scenario: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str] = mapped_column(String(40), index=True)
    statement: Mapped[str] = mapped_column(Text)
    value: Mapped[Decimal | None] = mapped_column(Numeric(20, 2), default=None)
    unit: Mapped[str] = mapped_column(String(40), default="")
    as_of: Mapped[dt.date | None] = mapped_column(Date, default=None)
    source: Mapped[str] = mapped_column(Text)
    approx: Mapped[bool] = mapped_column(Boolean, default=False)
