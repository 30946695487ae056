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
    NOTIFIED_MOVEMENT = "notified_movement"  # a notified movement's route and time window
    RESTRICTED_AREA = "restricted_area"
    ADMINISTRATIVE_AREA = "administrative_area"  # governorates and the like


# How each kind reads in the users' words, within a sentence (alerts; cmcc.web.words gives
# the pages the same words with a capital).
KIND_LABELS: dict[ZoneKind, str] = {
    ZoneKind.GAZA_STRIP: "Gaza Strip",
    ZoneKind.AREA_UNDER_IDF_CONTROL: "area under IDF control",
    ZoneKind.ISF_SECTOR: "ISF sector",
    ZoneKind.CIVILIAN_SAFE_ZONE: "civilian safe zone",
    ZoneKind.CLEARED_AREA: "cleared area",
    ZoneKind.HAZARD_AREA: "hazard area",
    ZoneKind.CROSSING: "crossing",
    ZoneKind.NOTIFIED_HUMANITARIAN_SITE: "notified humanitarian site",
    ZoneKind.NOTIFIED_MOVEMENT: "notified humanitarian movement",
    ZoneKind.RESTRICTED_AREA: "restricted area",
    ZoneKind.ADMINISTRATIVE_AREA: "governorate or other administrative area",
}


def kind_label(value: str) -> str:
    try:
        return KIND_LABELS[ZoneKind(value)]
    except ValueError:
        return value.replace("_", " ")


def zone_title(kind: str, name: str) -> str:
    """How an alert names a zone: `civilian safe zone "Al-Mawasi"` (the kind alone when the
    name says no more)."""
    label = kind_label(kind)
    return label if name.strip().lower() == label.lower() else f'{label} "{name}"'


# An incident or position inside one of these raises an alert.
ALERTING_KINDS = frozenset(
    {
        ZoneKind.CIVILIAN_SAFE_ZONE,
        ZoneKind.NOTIFIED_HUMANITARIAN_SITE,
        ZoneKind.NOTIFIED_MOVEMENT,
        ZoneKind.RESTRICTED_AREA,
    }
)
