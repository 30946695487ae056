"""Cursor pagination over id-ordered queries: stable under inserts, no OFFSET scans."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cmcc.core.errors import InvalidInput

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    count: int
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput.field("query.cursor", "not a cursor this server issued") from None


def paginate(
    session: Session,
    stmt: Select[Any],
    id_column: Any,
    cursor: str | None,
    limit: int,
    *,
    columns: Sequence[Any] = (),
) -> Page[Any]:
    """One page of `stmt` ordered by `id_column`, the total count, and the next cursor.

    Items are the statement's entities, or rows of `columns` when given (for bulk readers that
    skip the ORM). The total is counted with a second query only when it is not already known:
    a first page that holds every match is its own count."""
    after = decode_cursor(cursor) if cursor else None
    query = stmt if after is None else stmt.where(id_column > after)
    query = query.order_by(None).order_by(id_column).limit(limit + 1)
    if columns:
        items: list[Any] = list(session.execute(query.with_only_columns(*columns)).all())
    else:
        items = list(session.scalars(query).unique())
    more = len(items) > limit
    items = items[:limit]
    count = len(items) if after is None and not more else count_matches(session, stmt)
    next_cursor = encode_cursor(getattr(items[-1], id_column.key)) if more and items else None
    return Page(items, count, next_cursor)


def count_matches(session: Session, stmt: Select[Any]) -> int:
    """How many rows `stmt` matches."""
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
