"""Which audit entries a reader of the log may see: those about records it may see now.

An entry names a table (`entity`) and a row (`record_id`); it is shown through the API when
the reader may see that row today, by the release policy (`cmcc.access.policy.release_filter`,
in the same query), so an entry follows its record's marking when the marking changes. What a
row is "about" is declared on its model:

- a released record (`Releasable`, `Derived`): its own release rule;
- `__audit_parent__ = "<column>"`: a row that belongs to another record (a verification step to
  its incident, a token to its user): seen with that record;
- `__audit_org__ = "<column>"`: a row of one organization (a user, a TAK device): seen by that
  organization's readers;
- `__audit_everyone__ = True`: seen by every reader of the log (the organizations);
- a row whose key is the pair of records it links (a tip linked to a search task): seen when both
  are;
- an entry for a batch of rows (`<first>-<last>`: stored positions, an import): seen when every
  row of the batch is;
- anything else (the used proof-of-work challenges of the public tip page, links between hazard
  records by reference): never through the API; the operator reads it at the command line.

An entry whose row is gone (deleted) is not shown either. The chain check
(`cmcc.audit.service.verify`) still walks the whole log, whoever asks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapper, aliased

from cmcc.access.policy import release_filter
from cmcc.audit.models import NOT_AUDITED, AuditEntry
from cmcc.core.db import Base
from cmcc.core.records import Record
from cmcc.core.releasability import Viewer

ID = r"[0-9]{1,18}"


def entry_filter(viewer: Viewer, dialect: str) -> ColumnElement[bool]:
    """The SQL condition under which `viewer` may see an audit entry."""
    if viewer.sees_all:
        return true()
    key = AuditEntry.record_id
    one, batch = f"^{ID}$", f"^{ID}-{ID}$"
    clauses: list[ColumnElement[bool]] = []
    for mapper in Base.registry.mappers:
        table = mapper.local_table.name  # type: ignore[attr-defined]
        if table in NOT_AUDITED:
            continue
        pk = list(mapper.primary_key)
        if len(pk) == 1:
            first, last = (_part(key, batch, "-", n, dialect) for n in (0, 1))
            about = or_(
                _row_visible(mapper, _part(key, one, None, 0, dialect), viewer),
                _batch_visible(mapper, first, last, viewer),
            )
        else:
            pair = "^" + ",".join([ID] * len(pk)) + "$"
            about = and_(
                *(
                    _linked_visible(column, _part(key, pair, ",", n, dialect), viewer)
                    for n, column in enumerate(pk)
                )
            )
        clauses.append(and_(AuditEntry.entity == table, about))
    return or_(*clauses)


def _part(key: Any, pattern: str, sep: str | None, n: int, dialect: str) -> ColumnElement[Any]:
    """The n-th whole number of the key (split at `sep`) as a BIGINT when the key matches the
    pattern, else NULL (which no row's id equals). The CASE keeps PostgreSQL from casting a key
    of another shape."""
    if sep is None:
        text = key
    elif dialect == "postgresql":
        text = func.split_part(key, sep, n + 1)
    elif n == 0:
        text = func.substr(key, 1, func.instr(key, sep) - 1)
    else:
        text = func.substr(key, func.instr(key, sep) + 1)
    return case((key.regexp_match(pattern), cast(text, BigInteger)), else_=null())


def _condition(mapper: Mapper[Any], row: Any, viewer: Viewer) -> ColumnElement[bool] | None:
    """What makes one row (of an alias `row` of the mapper's class) visible to the viewer;
    None: no rule, so never through the API."""
    model = mapper.class_
    if issubclass(model, Record):
        return release_filter(row, viewer)
    if getattr(model, "__audit_everyone__", False):
        return true()
    org = getattr(model, "__audit_org__", None)
    if org is not None:
        return getattr(row, org) == viewer.org_id if viewer.org_id is not None else false()
    parent = getattr(model, "__audit_parent__", None)
    if parent is not None:
        return _linked_visible(mapper.local_table.c[parent], getattr(row, parent), viewer)
    return None


def _row_visible(mapper: Mapper[Any], row_id: Any, viewer: Viewer) -> ColumnElement[bool]:
    row = aliased(mapper.class_)
    condition = _condition(mapper, row, viewer)
    if condition is None:
        return false()
    return exists(select(literal(1)).where(getattr(row, _key(mapper)) == row_id, condition))


def _batch_visible(
    mapper: Mapper[Any], first: Any, last: Any, viewer: Viewer
) -> ColumnElement[bool]:
    """Rows first..last exist and the viewer may see every one of them."""
    some, hidden = aliased(mapper.class_), aliased(mapper.class_)
    condition = _condition(mapper, hidden, viewer)
    if condition is None:
        return false()
    key = _key(mapper)
    return and_(
        exists(select(literal(1)).where(getattr(some, key).between(first, last))),
        not_(
            exists(
                select(literal(1)).where(getattr(hidden, key).between(first, last), not_(condition))
            )
        ),
    )


def _key(mapper: Mapper[Any]) -> str:
    """The attribute of the mapper's one-column primary key."""
    (pk,) = mapper.primary_key
    return mapper.get_property_by_column(pk).key


def _linked_visible(column: Any, row_id: Any, viewer: Viewer) -> ColumnElement[bool]:
    """The row that a foreign-key column refers to exists and is visible."""
    (fk,) = column.foreign_keys
    for mapper in Base.registry.mappers:
        if mapper.local_table is fk.column.table:
            return _row_visible(mapper, row_id, viewer)
    return false()
