"""The vocabulary of zone kinds, shared by caveats, the picture and the geofence."""

from __future__ import annotations

from enum import StrEnum


class ZoneKind(StrEnum):
    GAZA_STRIP = "gaza_strip"  # the Strip as a whole: "inside Gaza"
    AREA_UNDER_IDF_CONTROL = "area_under_idf_control"  # behind the yellow line
    ISF_SECTOR = "isf_sector"
    CIVILIAN_SAFE_ZONE = "civilian_safe_zone"
    CLEARED_AREA = "cleared_area"
    HAZARD_AREA = "hazard_area"
    CROSSING = "crossing"
    NOTIFIED_HUMANITARIAN_SITE = "notified_humanitarian_site"
    RESTRICTED_AREA = "restricted_area"
    ADMINISTRATIVE_AREA = "administrative_area"  # governorates and the like


# An incident or position inside one of these raises an alert.
ALERTING_KINDS = frozenset(
    {ZoneKind.CIVILIAN_SAFE_ZONE, ZoneKind.NOTIFIED_HUMANITARIAN_SITE, ZoneKind.RESTRICTED_AREA}
)
