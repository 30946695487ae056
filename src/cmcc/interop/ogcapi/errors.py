"""OGC API clients expect 400 Bad Request for a bad query parameter, not 422."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cmcc.core.errors import InvalidInput


class InvalidParameter(InvalidInput):
    http_status = 400
    code = "invalid-parameter"
    title = "Invalid parameter"


@contextmanager
def as_invalid_parameter() -> Iterator[None]:
    """Re-raise the shared parsers' `InvalidInput` (422) as `InvalidParameter` (400)."""
    try:
        yield
    except InvalidParameter:
        raise
    except InvalidInput as exc:
        raise InvalidParameter(exc.detail, exc.errors) from None
