"""Explosive ordnance hazards (IMSMA style): the vocabulary, the status rules, area arithmetic
and the readable cross-reference ids. Pure rules: no database, no web framework.

Statuses: open -> closed | handed_over; closed -> open | handed_over; handed_over is final (new
contamination found later is a new hazard area). Handover needs land release: the completed
activities of the hazard (end date set) have cancelled, reduced or cleared at least the
hazard's area less RELEASE_TOLERANCE.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from enum import StrEnum

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from cmcc.core.errors import InvalidInput, TransitionRefused
from cmcc.core.schemas import MAX_ID
from cmcc.geo.measure import EARTH_RADIUS_M


class Classification(StrEnum):
    SHA = "sha"  # suspected hazardous area: indirect evidence
    CHA = "cha"  # confirmed hazardous area: direct evidence of explosive ordnance


class HazardStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    HANDED_OVER = "handed_over"


class DeviceCategory(StrEnum):
    UXO = "uxo"  # unexploded ordnance
    AXO = "axo"  # abandoned explosive ordnance
    LANDMINE = "landmine"
    IED = "ied"
    CLUSTER_MUNITION = "cluster_munition"
    AIRCRAFT_BOMB = "aircraft_bomb"
    OTHER = "other"


class Disposition(StrEnum):
    LEFT_IN_PLACE = "left_in_place"
    REMOVED = "removed"
    DESTROYED = "destroyed"


class LandReleaseKind(StrEnum):
    NON_TECHNICAL_SURVEY = "non_technical_survey"
    TECHNICAL_SURVEY = "technical_survey"
    CLEARANCE = "clearance"


class AccidentKind(StrEnum):
    DEMINING = "demining"  # a deminer at work
    CIVILIAN = "civilian"


class LinkRelation(StrEnum):
    FOUND_IN = "found_in"
    CLEARED_BY = "cleared_by"
    CAUSED_BY = "caused_by"
    RELATED = "related"


# ---- status transitions ---------------------------------------------------------------------

NEXT: dict[HazardStatus, frozenset[HazardStatus]] = {
    HazardStatus.OPEN: frozenset({HazardStatus.CLOSED, HazardStatus.HANDED_OVER}),
    HazardStatus.CLOSED: frozenset({HazardStatus.OPEN, HazardStatus.HANDED_OVER}),
    HazardStatus.HANDED_OVER: frozenset(),
}

# Land release figures come from the field; the area from the drawn polygon. They may differ by
# this share of the hazard's area either way (over-release allowed, short handover allowed).
RELEASE_TOLERANCE = 0.05


def check_transition(current: HazardStatus, target: HazardStatus) -> None:
    if target not in NEXT[current]:
        allowed = ", ".join(sorted(NEXT[current])) or "nothing (final)"
        raise TransitionRefused(
            f"{current.value} -> {target.value} is not a hazard status change; from "
            f"{current.value} the next status is {allowed}"
        )


def check_handover(area_m2: int, released_m2: int, completed: int) -> None:
    """Handover needs completed land release covering the area (within the tolerance)."""
    if completed == 0:
        raise TransitionRefused(
            "handover needs at least one completed land release activity (with an end date)"
        )
    needed = math.floor(area_m2 * (1 - RELEASE_TOLERANCE))
    if released_m2 < needed:
        raise TransitionRefused(
            f"handover needs land release of at least {needed} m² (the area {area_m2} m² less "
            f"{RELEASE_TOLERANCE:.0%}); completed activities released {released_m2} m²"
        )


def check_release_total(area_m2: int, total_m2: int, field: str) -> None:
    """Cancelled + reduced + cleared over all activities may not exceed the area + tolerance."""
    ceiling = math.ceil(area_m2 * (1 + RELEASE_TOLERANCE))
    if total_m2 > ceiling:
        raise InvalidInput.field(
            field,
            f"land released on this hazard would total {total_m2} m², more than its area "
            f"{area_m2} m² plus {RELEASE_TOLERANCE:.0%} ({ceiling} m²)",
        )


# ---- area -----------------------------------------------------------------------------------


def _ring_area(coords: list[tuple[float, ...]]) -> float:
    """Area on the sphere (m²) of a closed lon/lat ring (Chamberlain & Duquette, 2007)."""
    total = 0.0
    for (lon1, lat1, *_), (lon2, lat2, *_) in itertools.pairwise(coords):
        total += math.radians(lon2 - lon1) * (
            2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2))
        )
    return abs(total) * EARTH_RADIUS_M**2 / 2


def _polygon_area(poly: Polygon) -> float:
    outer = _ring_area(list(poly.exterior.coords))
    return outer - sum(_ring_area(list(r.coords)) for r in poly.interiors)


def area_m2(geom: BaseGeometry) -> int:
    """Geodesic area in square metres (spherical Earth, mean radius), rounded."""
    if isinstance(geom, Polygon):
        return round(_polygon_area(geom))
    if isinstance(geom, MultiPolygon):
        return round(sum(_polygon_area(p) for p in geom.geoms))
    return 0


# ---- cross-reference ids --------------------------------------------------------------------


class RefType(StrEnum):
    HAZARD = "hazard"
    EO_SPOT = "eo_spot"
    LAND_RELEASE = "land_release"
    EO_ACCIDENT = "eo_accident"


ID_PATTERN = re.compile(r"^[1-9][0-9]{0,17}$")
REF_PATTERN = re.compile(r"^(hazard|eo_spot|land_release|eo_accident)_([1-9][0-9]{0,17})$")


@dataclass(frozen=True)
class Ref:
    type: RefType
    id: int

    def __str__(self) -> str:
        return f"{self.type.value}_{self.id}"


def make_ref(kind: RefType, record_id: int) -> str:
    return f"{kind.value}_{record_id}"


def parse_ref(value: str, field: str) -> Ref:
    """`hazard_145` and the like."""
    m = REF_PATTERN.match(value.strip())
    if m is None:
        raise InvalidInput.field(
            field, f"{value!r} is not a reference like hazard_12, eo_spot_3, land_release_7"
        )
    return Ref(RefType(m.group(1)), int(m.group(2)))


def parse_id(value: int | str, kind: RefType, field: str) -> int:
    """An id given as a number, or as a ref of the expected type (`hazard_145` -> 145); 1 to
    MAX_ID, the largest an id column holds."""
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        if ID_PATTERN.match(text):
            number = int(text)
        else:
            ref = parse_ref(text, field)
            if ref.type is not kind:
                raise InvalidInput.field(field, f"expected a {kind.value} reference, got {text!r}")
            number = ref.id
    if not 0 < number <= MAX_ID:
        raise InvalidInput.field(field, f"must be a positive id up to {MAX_ID}")
    return number
