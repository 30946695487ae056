"""Exchange files of humanitarian notifications, as each caller may see them, streamed.

- GeoJSON (RFC 7946) and CSV: the current version of each notification the caller may see
  (the list's filters: kind, status, active), in the API's shape (`readout.public`): the
  contact only where its marking lets the caller see it (the submitting organization and the
  centre), blank for everyone else.
- HXL-tagged CSV of the sites, 3W style (who does what where): the organization, the cluster
  of the site's type, the activity, the governorate (the administrative area the caller may
  see that contains the site), the place, its point, status and validity. Never a contact.

The rows are read in chunks of `CHUNK` (by id, each chunk through the same release-filtered
statement), so a large export never sits in memory. Free text goes through `spreadsheet_safe`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any, Literal

import orjson
import shapely
from sqlalchemy import Select
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.core.clock import utcnow
from cmcc.core.releasability import Viewer
from cmcc.geo.backend import SpatialBackend
from cmcc.humanitarian import notifications, readout
from cmcc.humanitarian.domain import NotificationKind, NotificationStatus, SiteType
from cmcc.humanitarian.models import Notification
from cmcc.humanitarian.rules import Rules
from cmcc.incidents.readout import rfc3339
from cmcc.interop.tabular import Column, csv_text, spreadsheet_safe
from cmcc.zones.domain import ZoneKind
from cmcc.zones.service import zone_statement

Format = Literal["geojson", "csv", "hxl"]
MEDIA_TYPES: dict[str, str] = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "hxl": "text/csv; charset=utf-8",
}
FILE_NAMES: dict[str, str] = {
    "geojson": "notifications.geojson",
    "csv": "notifications.csv",
    "hxl": "humanitarian-sites.hxl.csv",
}
CHUNK = 500

# The humanitarian cluster of each site type (IASC clusters; an office coordinates, a
# warehouse is logistics, critical civilian infrastructure is early recovery).
CLUSTERS: dict[SiteType, str] = {
    SiteType.HEALTH: "Health",
    SiteType.WASH: "WASH",
    SiteType.SHELTER: "Shelter",
    SiteType.FOOD_DISTRIBUTION: "Food Security",
    SiteType.WAREHOUSE: "Logistics",
    SiteType.OFFICE: "Coordination",
    SiteType.CRITICAL_INFRASTRUCTURE: "Early Recovery",
}
ACTIVITIES: dict[SiteType, str] = {
    SiteType.HEALTH: "Health care",
    SiteType.WASH: "Water, sanitation and hygiene",
    SiteType.SHELTER: "Shelter",
    SiteType.FOOD_DISTRIBUTION: "Food distribution",
    SiteType.WAREHOUSE: "Storage of relief items",
    SiteType.OFFICE: "Humanitarian office",
    SiteType.CRITICAL_INFRASTRUCTURE: "Critical civilian infrastructure",
}

# The CSV of notifications: one column per field of the API's shape, then the contact.
CSV_FIELDS: tuple[str, ...] = (
    "id",
    "lineage",
    "ref",
    "kind",
    "title",
    "site_type",
    "movement_type",
    "status",
    "status_at",
    "valid_from",
    "valid_to",
    "lat",
    "lon",
    "geometry",
    "hours",
    "waypoints",
    "crossing",
    "vehicles",
    "cargo_category",
    "personnel_count",
    "buffer_m",
    "short_notice",
    "advisories",
    "audiences",
    "description",
    "owner",
    "releasability",
    "contact_name",
    "contact_phone",
    "contact_email",
)
FREE_TEXT = frozenset({"title", "hours", "description"})
CONTACT_FIELDS = ("name", "phone", "email")

SITE_COLUMNS: tuple[Column, ...] = (
    Column("ref", "Site", "#meta+id"),
    Column("organization", "Organization", "#org+name"),
    Column("implementing", "Implementing organization", "#org+impl"),
    Column("cluster", "Cluster", "#sector+cluster"),
    Column("activity", "Activity", "#activity"),
    Column("adm1", "Governorate", "#adm1+name"),
    Column("place", "Site name", "#loc+name"),
    Column("site_type", "Site type", "#loc+type"),
    Column("lat", "Latitude", "#geo+lat"),
    Column("lon", "Longitude", "#geo+lon"),
    Column("status", "Status", "#status"),
    Column("start", "Valid from", "#date+start"),
    Column("end", "Valid to", "#date+end"),
)
_ADM1_TAIL = re.compile(r"(\s*\([^)]*\))+\s*$|\s+governorate\s*$", re.IGNORECASE)


def adm1_name(zone_name: str) -> str:
    """A governorate's name as 3W files write it: "Khan Younis governorate (notional)" ->
    "Khan Younis"."""
    name = zone_name.strip()
    while (cut := _ADM1_TAIL.sub("", name)) != name:
        name = cut
    return name


def _text(value: dt.datetime | None) -> str:
    return rfc3339(value) if value is not None else ""


def _point(n: Notification) -> tuple[float, float]:
    point = shapely.point_on_surface(n.geometry)
    return float(shapely.get_x(point)), float(shapely.get_y(point))


def _chunks(session: Session, stmt: Select[Notification]) -> Iterator[list[Notification]]:
    """The notifications of `stmt`, by id, CHUNK at a time."""
    ids = list(
        session.scalars(
            stmt.with_only_columns(Notification.id).order_by(None).order_by(Notification.id)
        )
    )
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        yield list(
            session.scalars(
                stmt.where(Notification.id.in_(part)).order_by(None).order_by(Notification.id)
            )
        )
        session.expunge_all()


# ---- notifications: GeoJSON and CSV --------------------------------------------------------


def _feature(n: Notification, item: Any) -> dict[str, Any]:
    properties = item.model_dump(mode="json", exclude={"geometry"})
    return {"type": "Feature", "id": n.id, "geometry": item.geometry, "properties": properties}


def _csv_row(n: Notification, item: Any) -> list[Any]:
    values: dict[str, Any] = item.model_dump(mode="json", exclude={"geometry"})
    contact = values.pop("contact") or {}
    lon, lat = _point(n)
    values.update(
        lat=f"{lat:.6f}",
        lon=f"{lon:.6f}",
        geometry=orjson.dumps(item.geometry).decode(),
        waypoints=orjson.dumps(values["waypoints"]).decode() if values["waypoints"] else "",
        audiences=" ".join(values["audiences"]),
        status_at=_text(n.status_at),
        valid_from=_text(n.valid_from),
        valid_to=_text(n.valid_to),
        short_notice="yes" if values["short_notice"] else "no",
        **{f"contact_{k}": spreadsheet_safe(contact.get(k) or "") for k in CONTACT_FIELDS},
    )
    for name in FREE_TEXT:
        values[name] = spreadsheet_safe(values[name])
    return ["" if values[f] is None else values[f] for f in CSV_FIELDS]


def notifications_text(
    session: Session, viewer: Viewer, stmt: Select[Notification], fmt: Format, rules: Rules
) -> Iterator[str]:
    """The notifications of `stmt` (a `notifications.list_statement` for `viewer`) as GeoJSON
    or CSV."""
    if fmt == "geojson":
        yield '{"type":"FeatureCollection","features":[\n'
        first = True
        for notes in _chunks(session, stmt):
            items = readout.public(session, viewer, notes, rules)
            pairs = zip(notes, items, strict=True)
            parts = [orjson.dumps(_feature(n, i)).decode() for n, i in pairs]
            yield ("" if first else ",\n") + ",\n".join(parts)
            first = False
        yield "\n]}\n"
        return
    yield csv_text([CSV_FIELDS])
    for notes in _chunks(session, stmt):
        items = readout.public(session, viewer, notes, rules)
        yield csv_text(_csv_row(n, i) for n, i in zip(notes, items, strict=True))


# ---- sites: HXL 3W -------------------------------------------------------------------------


class Governorates:
    """The administrative areas valid now that the caller may see, to name the governorate of
    each site (the first area, by id, that contains its point)."""

    def __init__(self, session: Session, principal: Principal, spatial: SpatialBackend) -> None:
        stmt = zone_statement(
            principal, spatial, kind=ZoneKind.ADMINISTRATIVE_AREA, as_of=utcnow()
        ).order_by(None)
        zones = sorted(session.scalars(stmt), key=lambda z: z.id)
        self.names = [adm1_name(z.name) for z in zones]
        self.shapes = [z.geometry for z in zones]
        for shape in self.shapes:
            shapely.prepare(shape)

    def of(self, points: list[tuple[float, float]]) -> list[str]:
        out = [""] * len(points)
        if not points or not self.shapes:
            return out
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        for name, shape in zip(self.names, self.shapes, strict=True):
            for i, inside in enumerate(shapely.intersects_xy(shape, xs, ys).tolist()):
                if inside and not out[i]:
                    out[i] = name
        return out


def _site_values(n: Notification, point: tuple[float, float], adm1: str) -> list[Any]:
    site_type = SiteType(n.site_type) if n.site_type else None
    organization = spreadsheet_safe(n.owner.name)
    values = {
        "ref": n.ref,
        "organization": organization,
        "implementing": organization,
        "cluster": CLUSTERS[site_type] if site_type else "",
        "activity": ACTIVITIES[site_type] if site_type else "",
        "adm1": spreadsheet_safe(adm1),
        "place": spreadsheet_safe(n.title),
        "site_type": n.site_type or "",
        "lat": f"{point[1]:.6f}",
        "lon": f"{point[0]:.6f}",
        "status": n.status,
        "start": _text(n.valid_from),
        "end": _text(n.valid_to),
    }
    return [values[c.field] for c in SITE_COLUMNS]


def sites_hxl(
    session: Session, principal: Principal, spatial: SpatialBackend, stmt: Select[Notification]
) -> Iterator[str]:
    """The sites of `stmt` as HXL-tagged 3W CSV."""
    governorates = Governorates(session, principal, spatial)
    yield csv_text([[c.header for c in SITE_COLUMNS], [c.hashtag for c in SITE_COLUMNS]])
    for notes in _chunks(session, stmt):
        points = [_point(n) for n in notes]
        names = governorates.of(points)
        yield csv_text(_site_values(n, p, a) for n, p, a in zip(notes, points, names, strict=True))


def export_bytes(
    session: Session,
    principal: Principal,
    spatial: SpatialBackend,
    fmt: Format,
    rules: Rules,
    *,
    kind: NotificationKind | None = None,
    status: NotificationStatus | None = None,
    active: dt.datetime | None = None,
) -> Iterator[bytes]:
    """The export as UTF-8 bytes, for files and HTTP responses (HXL: the sites only)."""
    if fmt == "hxl":
        kind = NotificationKind.SITE
    stmt = notifications.list_statement(
        principal.viewer, spatial, kind=kind, status=status, active=active
    )
    if fmt == "hxl":
        texts = sites_hxl(session, principal, spatial, stmt)
    else:
        texts = notifications_text(session, principal.viewer, stmt, fmt, rules)
    for text in texts:
        yield text.encode()
