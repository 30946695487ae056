"""The release policy as a SQL condition: the one place every read is filtered.

Every query for a releasable record goes through `release_filter` (lists, gets, reports,
exports, and every later adapter), so the database returns only what the caller may see.
The rule is the same as `cmcc.core.releasability.may_see`, which the tests compare it with.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session

from cmcc.core.errors import NotFound
from cmcc.core.records import Releasable
from cmcc.core.releasability import MarkingKind, Viewer

R = TypeVar("R", bound=Releasable)


def release_filter(model: type[Releasable], viewer: Viewer) -> ColumnElement[bool]:
    if viewer.sees_all:
        return true()
    clauses: list[ColumnElement[bool]] = [model.releasability == MarkingKind.PUBLIC.value]
    if viewer.org_id is not None:
        clauses.append(model.owner_org_id == viewer.org_id)
        if viewer.is_member:
            clauses.append(model.releasability == MarkingKind.MISSION.value)
        if viewer.org_code:
            clauses.append(
                and_(
                    model.releasability == MarkingKind.REL.value,
                    model.release_to.contains(f"|{viewer.org_code}|", autoescape=True),
                )
            )
    return or_(*clauses) if clauses else false()


def visible(model: type[R], viewer: Viewer, *where: Any) -> Select[R]:
    """`SELECT model WHERE <release policy> AND where...`"""
    return select(model).where(release_filter(model, viewer), *where)


def get_visible(session: Session, model: type[R], record_id: int, viewer: Viewer) -> R:
    """The record, or NotFound whether it is missing or merely not released to the caller."""
    obj = session.scalars(visible(model, viewer, model.id == record_id)).one_or_none()
    if obj is None:
        raise NotFound(f"{model.__name__.lower()} {record_id} not found")
    return obj
