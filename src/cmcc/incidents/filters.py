"""The query filters of incident lists and exports, parsed once for every route that takes them."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from cmcc.core.errors import InvalidInput
from cmcc.core.schemas import MAX_ID
from cmcc.core.timeparse import parse_interval
from cmcc.geo.geometry import BBox, parse_bbox
from cmcc.incidents.domain import IncidentType, VerificationStatus


@dataclass(frozen=True)
class IncidentFilters:
    bbox: BBox | None
    start: dt.datetime | None
    end: dt.datetime | None
    types: list[IncidentType] | None
    status: VerificationStatus | None
    min_severity: int | None
    zone_id: int | None
    near: tuple[float, float, float] | None

    def kwargs(self) -> dict[str, Any]:
        """As keyword arguments of `service.incident_statement`."""
        return asdict(self)


def _near(text: str | None) -> tuple[float, float, float] | None:
    if not text:
        return None
    try:
        lon, lat, metres = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidInput.field("query.near", "use lon,lat,metres") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90 and 0 < metres <= 100_000):
        raise InvalidInput.field("query.near", "lon -180..180, lat -90..90, metres 0..100000")
    return lon, lat, metres


def incident_filters(
    bbox: Annotated[str | None, Query(description="min lon,min lat,max lon,max lat")] = None,
    datetime: Annotated[
        str | None, Query(description="RFC 3339 instant or interval a/b, .. open")
    ] = None,
    type: Annotated[list[IncidentType] | None, Query()] = None,
    status: VerificationStatus | None = None,
    min_severity: Annotated[int | None, Query(ge=1, le=5)] = None,
    zone: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Inside this zone (id)")] = None,
    near: Annotated[str | None, Query(description="lon,lat,metres")] = None,
) -> IncidentFilters:
    start, end = parse_interval(datetime, field="query.datetime") if datetime else (None, None)
    return IncidentFilters(
        bbox=parse_bbox(bbox, field="query.bbox") if bbox else None,
        start=start,
        end=end,
        types=type,
        status=status,
        min_severity=min_severity,
        zone_id=zone,
        near=_near(near),
    )


IncidentFiltersDep = Annotated[IncidentFilters, Depends(incident_filters)]
