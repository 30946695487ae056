"""A page's filter chosen from an enumeration: empty is no filter, anything else must be one of
its values (or a number; a 400 page naming the query field otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from cmcc.core.errors import InvalidInput

T = TypeVar("T")


def choice(kind: Callable[[str], T], text: str | None, field: str) -> T | None:
    """`kind(text)` (an enumeration, or `int`), or None for an empty filter."""
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise InvalidInput.field(f"query.{field}", "not one of the choices") from None
