"""Columns every releasable record carries: owner, marking, optimistic version, timestamps."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from cmcc.core.clock import utcnow
from cmcc.core.db import UTCDateTime
from cmcc.core.releasability import Marking

if TYPE_CHECKING:
    from cmcc.access.models import Organization


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def marking_checks() -> tuple[CheckConstraint, ...]:
    """The database refuses a marking that no code path should produce (new objects per table:
    a constraint belongs to one table)."""
    return (
        CheckConstraint("releasability IN ('public', 'mission', 'rel', 'owner')", name="marking"),
        CheckConstraint("(releasability = 'rel') = (release_to IS NOT NULL)", name="release_list"),
    )


class Record(Timestamped):
    """What every released record has: an id, an owning organization, an optimistic version."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}

    @declared_attr
    def owner(cls) -> Mapped[Organization]:
        return relationship("Organization", lazy="joined", innerjoin=True)

    @property
    def owner_code(self) -> str:
        return self.owner.code


class Releasable(Record):
    """Mixin for every record that is released by its own marking (see
    cmcc.core.releasability)."""

    releasability: Mapped[str] = mapped_column(String(8), default="mission")
    release_to: Mapped[str | None] = mapped_column(String(1000), default=None)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[CheckConstraint, ...]:
        return marking_checks()

    @property
    def marking(self) -> Marking:
        return Marking.from_stored(self.releasability, self.release_to)

    @marking.setter
    def marking(self, value: Marking) -> None:
        self.releasability = value.kind.value
        self.release_to = value.stored_list

    @property
    def marking_text(self) -> str:
        return str(self.marking)


class Derived(Record):
    """Mixin for a record made from other records (an alert from an incident and a zone): it
    has no marking of its own. Whoever may see every one of its sources may see it, at the
    moment of reading, so it follows its sources' markings when they change.

    `__release_sources__` names its foreign-key columns to the source records (each to a
    Releasable or Derived model); a NULL source is no condition. A model may add a condition
    of its own with `own_release_condition` (see cmcc.access.policy)."""

    __release_sources__: ClassVar[tuple[str, ...]] = ()


def sql_in(column: str, values: type[StrEnum]) -> str:
    """The text of a CHECK constraint that keeps `column` within an enum's values."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"
