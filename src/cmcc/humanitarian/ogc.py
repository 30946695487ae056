"""The `humanitarian-sites` and `movements` collections of the OGC API - Features endpoint:
the notified sites and movements on the list (the current version of each notification not
completed or withdrawn), through the release policy, never with a contact.

`datetime` selects those whose validity (a movement's window) meets the instant or interval;
without it, every one on the list, including movements notified ahead of their window. Feature
ids are the notifications' lineages, stable across their versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, or_
from sqlalchemy.orm import Session

from cmcc.core.errors import NotFound
from cmcc.core.pagination import count_matches
from cmcc.core.releasability import Viewer
from cmcc.core.timeparse import Interval
from cmcc.geo.backend import backend_for
from cmcc.humanitarian import notifications
from cmcc.humanitarian.domain import (
    ACTIVE_STATUSES,
    CargoCategory,
    MovementType,
    NotificationKind,
    NotificationStatus,
    SiteType,
)
from cmcc.humanitarian.models import Notification
from cmcc.interop.ogcapi.extent import spatial_extent
from cmcc.interop.ogcapi.provider import BBox, ItemPage, ItemQuery, record_id

ON_LIST = tuple(s.value for s in ACTIVE_STATUSES)
DATE_TIME = {"type": "string", "format": "date-time"}


def _on_list(kind: NotificationKind) -> tuple[ColumnElement[bool], ...]:
    return (
        Notification.kind == kind.value,
        Notification.replaced_at.is_(None),
        Notification.status.in_(ON_LIST),
    )


class NotificationCollection:
    """The notifications of one kind on the list, as features."""

    kind: NotificationKind
    id: str
    title: str
    description: str

    def _statement(self, viewer: Viewer) -> Select[Notification]:
        return notifications.current_statement(viewer).where(*_on_list(self.kind))

    def extent(self, session: Session, viewer: Viewer) -> tuple[BBox | None, Interval | None]:
        n = Notification
        return spatial_extent(
            session, n, viewer, n.valid_from, n.valid_to, open_end=True, where=_on_list(self.kind)
        )

    def query(self, session: Session, viewer: Viewer, q: ItemQuery) -> ItemPage:
        stmt = self._statement(viewer)
        if q.interval is not None:
            start, end = q.interval
            if end is not None:
                stmt = stmt.where(Notification.valid_from <= end)
            if start is not None:
                stmt = stmt.where(
                    or_(Notification.valid_to.is_(None), Notification.valid_to > start)
                )
        if q.bbox is not None:
            spatial = backend_for(session.get_bind())
            stmt = stmt.where(spatial.shape_bbox_filter(session, Notification, q.bbox, stmt))
        matched = count_matches(session, stmt)
        rows = list(session.scalars(stmt.order_by(Notification.id).offset(q.offset).limit(q.limit)))
        return ItemPage(features(session, viewer, rows), int(matched))

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        lineage = record_id(feature_id)
        stmt = self._statement(viewer).where(notifications.lineage_col() == lineage)
        found = session.scalars(stmt).one_or_none()
        if found is None:
            raise NotFound(f"feature {feature_id!r} not found")
        return features(session, viewer, [found])[0]

    def queryables(self) -> dict[str, dict[str, Any]]:
        common: dict[str, dict[str, Any]] = {
            "ref": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "string", "enum": list(ON_LIST)},
            "valid_from": DATE_TIME,
            "valid_to": DATE_TIME,
            "buffer_m": {"type": "number", "description": "metres protected around it"},
            "owner": {"type": "string", "description": "the notifying organization's code"},
        }
        if self.kind is NotificationKind.SITE:
            return common | {
                "site_type": {"type": "string", "enum": [t.value for t in SiteType]},
                "hours": {"type": "string"},
            }
        return common | {
            "movement_type": {"type": "string", "enum": [t.value for t in MovementType]},
            "crossing": {"type": "string", "description": "the crossing's code"},
            "vehicles": {"type": "integer"},
            "cargo_category": {"type": "string", "enum": [c.value for c in CargoCategory]},
            "personnel_count": {"type": "integer"},
        }


class SiteCollection(NotificationCollection):
    kind = NotificationKind.SITE
    id = "humanitarian-sites"
    title = "Notified humanitarian sites"
    description = (
        "Sites that humanitarian partners notified to the centre (health, WASH, shelter, food "
        "distribution, warehouses, offices, critical civilian infrastructure), with their type, "
        "hours, validity and protected radius; on the list while not closed or withdrawn."
    )


class MovementCollection(NotificationCollection):
    kind = NotificationKind.MOVEMENT
    id = "movements"
    title = "Notified humanitarian movements"
    description = (
        "Convoys and field missions that humanitarian partners notified to the centre: the "
        "route as a line, its window, crossing, vehicles, cargo and personnel; on the list "
        "until completed or withdrawn."
    )


def features(session: Session, viewer: Viewer, rows: list[Notification]) -> list[dict[str, Any]]:
    """The notifications as features (never a contact; the crossing by code, if visible)."""
    codes = notifications.crossing_codes(
        session, viewer, {n.crossing_id for n in rows if n.crossing_id is not None}
    )
    return [_feature(n, codes) for n in rows]


def _feature(n: Notification, codes: dict[int, str]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "lineage": n.lineage_id,
        "ref": n.ref,
        "title": n.title,
        "status": NotificationStatus(n.status).value,
        "valid_from": n.valid_from.isoformat(),
        "valid_to": n.valid_to.isoformat() if n.valid_to else None,
        "buffer_m": n.buffer_m,
        "description": n.description,
        "owner": n.owner_code,
        "releasability": n.marking_text,
    }
    if n.kind == NotificationKind.SITE.value:
        properties |= {"site_type": n.site_type, "hours": n.hours}
    else:
        properties |= {
            "movement_type": n.movement_type,
            "waypoints": n.waypoints,
            "crossing": codes.get(n.crossing_id) if n.crossing_id else None,
            "vehicles": n.vehicles,
            "cargo_category": n.cargo_category,
            "personnel_count": n.personnel_count,
        }
    return {
        "type": "Feature",
        "id": str(n.lineage_id),
        "geometry": n.geojson,
        "properties": properties,
    }
