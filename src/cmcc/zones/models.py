"""Zones: a geometry of a kind, valid over an interval, in versions that share a lineage."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Releasable
from cmcc.geo.columns import Spatial


class Zone(Releasable, Spatial, Base):
    __tablename__ = "zones"

    # The first version's id; NULL on the first version itself (see lineage_id).
    lineage: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    notional: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    # A zone made from another module's record (`hazard_areas:<id>` for a cleared area): it
    # carries that record's marking, and follows it when it changes.
    derived_from: Mapped[str | None] = mapped_column(String(64), default=None)

    @property
    def lineage_id(self) -> int:
        """The id shared by every version of this zone (the first version's id)."""
        return self.lineage if self.lineage is not None else self.id
