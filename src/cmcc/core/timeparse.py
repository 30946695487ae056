"""RFC 3339 instants and intervals as the API and OGC API take them (`a/b`, `..` open ends)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cmcc.core.errors import InvalidInput

Interval = tuple[dt.datetime | None, dt.datetime | None]


def parse_instant(text: str, *, field: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput.field(field, f"{text!r} is not an RFC 3339 date-time") from None
    if value.tzinfo is None:
        raise InvalidInput.field(field, f"{text!r} needs a time zone (for example Z)")
    return value.astimezone(dt.UTC)


def parse_interval(text: str, *, field: str) -> Interval:
    """`t` (an instant: start = end = t), `a/b`, `../b`, `a/..` (or empty for an open end)."""
    if "/" not in text:
        t = parse_instant(text, field=field)
        return t, t
    a, _, b = text.partition("/")
    start = None if a.strip() in ("", "..") else parse_instant(a, field=field)
    end = None if b.strip() in ("", "..") else parse_instant(b, field=field)
    if start is not None and end is not None and end < start:
        raise InvalidInput.field(field, "the interval ends before it starts")
    return start, end


def as_aware(value: Any) -> dt.datetime | None:
    """A database timestamp (naive UTC from SQLite aggregates, text, or aware) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
