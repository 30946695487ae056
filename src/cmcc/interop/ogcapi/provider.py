"""What a module implements to publish a collection: the `CollectionProvider` protocol.

Providers answer in CRS84 (longitude, latitude) and apply the release policy themselves, in
their SQL, with the `Viewer` they receive: the adapter passes the caller's viewer through and
never filters. A record the viewer may not see is absent from `query` and raises `NotFound`
from `get`, exactly like a record that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from cmcc.core.errors import NotFound
from cmcc.core.releasability import Viewer
from cmcc.core.schemas import MAX_ID
from cmcc.core.timeparse import Interval

__all__ = ["BBox", "CollectionProvider", "Interval", "ItemPage", "ItemQuery", "record_id"]

DIGITS = re.compile(r"^[0-9]{1,10}$")


def record_id(feature_id: str) -> int:
    """The integer key a feature id names; `NotFound` for an id that cannot be one (`abc`, or
    a number larger than an id column holds), as for a feature that does not exist."""
    if DIGITS.match(feature_id) and 0 < int(feature_id) <= MAX_ID:
        return int(feature_id)
    raise NotFound(f"feature {feature_id!r} not found")


BBox = tuple[float, float, float, float]
"""min longitude, min latitude, max longitude, max latitude (CRS84)."""


@dataclass(frozen=True)
class ItemQuery:
    """One `/items` request, validated: the provider only filters and pages."""

    bbox: BBox | None
    interval: Interval | None  # (start, end), aware UTC, None = open end; instant t -> (t, t)
    limit: int
    offset: int
    properties: tuple[str, ...] | None = None  # Part 6 selection; None: every property


@dataclass
class ItemPage:
    """One page of GeoJSON Feature dicts (`type`, `id`, `geometry`, `properties`) and the
    number of features that match the query across all pages."""

    features: list[dict[str, Any]]
    number_matched: int


class CollectionProvider(Protocol):
    """A provider that offers property selection (`ItemQuery.properties`) also has a
    `returnables` attribute: the names a selection may take (checked before `query`)."""

    id: str
    title: str
    description: str

    def extent(self, session: Session, viewer: Viewer) -> tuple[BBox | None, Interval | None]:
        """The bounding box and time span of what `viewer` may see (None when unknown)."""
        ...

    def query(self, session: Session, viewer: Viewer, q: ItemQuery) -> ItemPage:
        """The features `viewer` may see that intersect `q.bbox` and `q.interval`, in a
        stable order, `q.offset` features skipped, at most `q.limit` returned."""
        ...

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        """One feature; raises `cmcc.core.errors.NotFound` when missing or not released."""
        ...

    def queryables(self) -> dict[str, dict[str, Any]]:
        """Property name -> JSON schema of the properties a client may expect."""
        ...
