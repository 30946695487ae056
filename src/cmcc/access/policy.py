"""The release policy as a SQL condition: the one place every read is filtered.

Every query for a released record goes through `release_filter` (lists, gets, reports,
exports, the audit log, and every later adapter), so the database returns only what the
caller may see. For a record with a marking of its own (`Releasable`) the rule is the same as
`cmcc.core.releasability.may_see`, which the tests compare it with. A derived record (`Derived`:
an alert) has no marking: the caller must be able to see each of its sources, checked in the
same query, so it follows their markings when they change (`may_see_all` is its reference).
A spatial index that carries a table's marking columns (`MarkingColumns`) is filtered by the
same function, so that the policy runs inside the index (`cmcc.geo.ddl.MARKED_TABLES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, and_, exists, false, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from cmcc.core.errors import NotFound
from cmcc.core.records import Derived, Record
from cmcc.core.releasability import MarkingKind, Viewer

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class MarkingColumns:
    """The marking columns of `entity` as an index holds them (e.g. auxiliary R*Tree columns):
    `release_filter` on it tests an index entry as it would the row. Only for a record with
    a marking of its own and no further condition (not Derived, no own_release_condition)."""

    entity: type[Record]
    releasability: Any
    owner_org_id: Any
    release_to: Any


def release_filter(model: Any, viewer: Viewer) -> ColumnElement[bool]:
    """The SQL condition under which `viewer` may see a row of `model` (a mapped class that is
    Releasable or Derived, or an alias of one), or an index entry (`MarkingColumns`)."""
    if isinstance(model, MarkingColumns):
        entity = model.entity
        if issubclass(entity, Derived) or hasattr(entity, "own_release_condition"):
            raise TypeError(f"{entity.__name__}: its marking alone does not decide release")
        return true() if viewer.sees_all else _marking_filter(model, viewer)
    if viewer.sees_all:
        return true()
    entity = _entity(model)
    if issubclass(entity, Derived):
        return _sources_filter(model, entity, viewer)
    own = getattr(entity, "own_release_condition", None)
    if own is not None:  # a record that names others (cmcc.command.models.NamesUnits)
        return and_(_marking_filter(model, viewer), own(model, viewer))
    return _marking_filter(model, viewer)


def _entity(model: Any) -> type[Record]:
    """The mapped class of a class or of an alias of it."""
    mapped = getattr(getattr(model, "_aliased_insp", None), "mapper", None)
    return cast(type[Record], mapped.class_ if mapped is not None else model)


def _marking_filter(model: Any, viewer: Viewer) -> ColumnElement[bool]:
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


def _sources_filter(model: Any, entity: type[Record], viewer: Viewer) -> ColumnElement[bool]:
    """Each source the row names is visible: one EXISTS per source, on an alias of the source's
    model, so the condition nests inside any query (also one that selects the source itself)."""
    clauses: list[ColumnElement[bool]] = []
    for name in cast(type[Derived], entity).__release_sources__:
        column = getattr(model, name)
        source = aliased(source_model(entity, name))
        seen = exists(select(literal(1)).where(source.id == column, release_filter(source, viewer)))
        nullable = entity.__table__.c[name].nullable  # type: ignore[attr-defined]
        clauses.append(or_(column.is_(None), seen) if nullable else seen)
    own = getattr(entity, "own_release_condition", None)
    if own is not None:
        clauses.append(own(model, viewer))
    return and_(*clauses) if clauses else true()


def source_model(entity: type[Record], column: str) -> type[Record]:
    """The model a derived record's source column refers to (through its foreign key)."""
    (fk,) = entity.__table__.c[column].foreign_keys  # type: ignore[attr-defined]
    for mapper in entity.registry.mappers:  # type: ignore[attr-defined]
        if mapper.local_table is fk.column.table:
            return cast(type[Record], mapper.class_)
    raise LookupError(f"no model for {fk.target_fullname}")


def visible(model: type[R], viewer: Viewer, *where: Any) -> Select[R]:
    """`SELECT model WHERE <release policy> AND where...`"""
    return select(model).where(release_filter(model, viewer), *where)


def get_visible(session: Session, model: type[R], record_id: int, viewer: Viewer) -> R:
    """The record, or NotFound whether it is missing or merely not released to the caller."""
    obj = session.scalars(visible(model, viewer, model.id == record_id)).one_or_none()
    if obj is None:
        raise NotFound(f"{model.__name__.lower()} {record_id} not found")
    return obj
