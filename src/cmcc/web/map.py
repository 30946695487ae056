"""The common operational picture: the map page. Its layers come from the OGC API collections
and the alert routes, through the release policy like any other client."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from cmcc.access.domain import Permission
from cmcc.incidents.domain import IncidentType
from cmcc.web.auth import SignedIn
from cmcc.web.nav import NOTIFICATIONS
from cmcc.web.templating import render
from cmcc.web.words import label
from cmcc.zones.domain import ZoneKind

router = APIRouter(include_in_schema=False)

# Layer id, OGC collection (or None), legend label, colour (contrast on the light map).
LAYERS = (
    ("zones", "zones", "Zones", "#0b3d91"),
    ("incidents", "incidents", "Incidents", "#b00020"),
    ("alerts", None, "Alerts (open)", "#ff6f00"),
    ("hazards", "hazards", "Explosive hazards", "#6a1b9a"),
    ("search-tasks", "search-tasks", "Search sectors", "#00695c"),
    ("projects", "projects", "Reconstruction projects", "#5d4037"),
    ("tracks", "tracks", "Unit positions (TAK)", "#1b5e20"),
    ("units", None, "Units (ORBAT, now)", "#0b3d91"),
)
# From the notifications API (active now), for the users of humanitarian notifications.
NOTIFIED_LAYERS = (
    ("sites", None, "Notified humanitarian sites", "#00695c"),
    ("movements", None, "Notified movements (active now)", "#7a3e00"),
)


# Zone fill by kind; the Strip and the governorates are outlines only.
ZONE_COLOURS: dict[str, str] = {
    ZoneKind.GAZA_STRIP: "",
    ZoneKind.ADMINISTRATIVE_AREA: "",
    ZoneKind.AREA_UNDER_IDF_CONTROL: "#8b0000",
    ZoneKind.ISF_SECTOR: "#0b3d91",
    ZoneKind.CIVILIAN_SAFE_ZONE: "#0b6b2b",
    ZoneKind.CLEARED_AREA: "#2e7d32",
    ZoneKind.HAZARD_AREA: "#6a1b9a",
    ZoneKind.CROSSING: "#0b3d91",
    ZoneKind.NOTIFIED_HUMANITARIAN_SITE: "#00838f",
    ZoneKind.RESTRICTED_AREA: "#b00020",
}


@router.get("/map")
def map_page(request: Request, visitor: SignedIn) -> Response:
    principal = visitor.principal
    notified = NOTIFICATIONS.shown_to(principal)
    return render(
        request,
        "map.html",
        visitor,
        layers=LAYERS + (NOTIFIED_LAYERS if notified else ()),
        notified=notified,
        zone_colours=[(label(k), c) for k, c in ZONE_COLOURS.items() if c],
        zone_colours_json=orjson.dumps({str(k): c for k, c in ZONE_COLOURS.items()}).decode(),
        zone_kinds=[(k.value, label(k.value)) for k in ZoneKind],
        incident_types=[(t.value, label(t.value)) for t in IncidentType],
        may_draw=principal.can(Permission.WRITE_ZONES),
        may_report=principal.can(Permission.REPORT_INCIDENTS),
    )
