"""Notified humanitarian sites and movements as CoT items for TAK clients; `cmcc.cot.outbound`
puts them in each viewer's picture through the release policy (a device's organization gets
what the notification's marking lets it read: the force once the centre shared it with the
force, a party's liaison cell once shared with it).

- A site on the list (not completed or withdrawn) and valid now: a neutral ground installation
  (`a-n-G-I`: MIL-STD-2525's neutral frame, the green square, neither friend nor foe), named
  after the site, its remarks beginning "Notified humanitarian site — protected".
- A movement on the list during its window: its route as a TAK route (`b-m-r`, green, one
  `<link>` per point of the line), its remarks beginning "Notified humanitarian movement —
  protected", with the window, vehicles, personnel, cargo and waypoints.

Never a contact. Each is stale at the end of its validity when that comes within the hour
(else in an hour: the gateway sends the picture again every half hour). When a notification
leaves the picture (completed, withdrawn, replaced by a new version, its window over) the
clients that were shown it get a delete.

uids: `cmcc-notified-site-<version id>`, `cmcc-notified-movement-<version id>` (the route's
points `...-<n>`): a new version is a new item, and the replaced one is deleted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely

from cmcc.cot.event import CotEvent
from cmcc.cot.items import GREEN, STALE_SECONDS, clip, marker, route
from cmcc.humanitarian.domain import NotificationKind
from cmcc.humanitarian.models import Notification
from cmcc.humanitarian.notifications import active_at

SITE_TYPE = "a-n-G-I"
MIN_STALE_SECONDS = 60.0
SITE_WORDS = {"wash": "WASH"}  # the site types' names, where not their value in words


def site_uid(version_id: int) -> str:
    return f"cmcc-notified-site-{version_id}"


def movement_uid(version_id: int) -> str:
    return f"cmcc-notified-movement-{version_id}"


def in_picture(now: dt.datetime) -> tuple[Any, ...]:
    """SQL conditions: the current version, on the list and valid at `now`."""
    return (Notification.replaced_at.is_(None), *active_at(now))


def edges() -> tuple[Any, ...]:
    """The moments at which a notification enters or leaves the picture by the clock alone."""
    return (Notification.valid_from, Notification.valid_to)


def _stale(n: Notification, now: dt.datetime) -> float:
    if n.valid_to is None:
        return STALE_SECONDS
    left = (n.valid_to - now).total_seconds()
    return max(min(left, STALE_SECONDS), MIN_STALE_SECONDS)


def _window(n: Notification) -> str:
    start = f"{n.valid_from:%Y-%m-%d %H:%M}Z"
    return f"{start} to {n.valid_to:%Y-%m-%d %H:%M}Z" if n.valid_to else f"from {start}"


def notification_events(n: Notification, now: dt.datetime) -> list[CotEvent]:
    """The site's marker or the movement's route."""
    tail = f"; {n.status}; {n.ref}; releasability {n.marking_text}"
    if n.kind == NotificationKind.SITE.value:
        site_type = n.site_type or "site"
        kind = SITE_WORDS.get(site_type, site_type.replace("_", " "))
        remarks = clip(
            f"Notified humanitarian site — protected. {kind} site of {n.owner_code}"
            + (f"; hours {n.hours}" if n.hours else "")
            + f"; valid {_window(n)}"
            + ("" if n.valid_to else " until further notice")
            + tail
        )
        point = shapely.point_on_surface(n.geometry)
        return [
            marker(site_uid(n.id), point, now, n.title, remarks, GREEN, _stale(n, now), SITE_TYPE)
        ]
    moving = (n.movement_type or "movement").replace("_", " ")
    load = [
        f"{n.vehicles} vehicles" if n.vehicles is not None else "",
        f"{n.personnel_count} personnel" if n.personnel_count is not None else "",
        f"cargo {n.cargo_category}" if n.cargo_category else "",
    ]
    via = [str(w.get("name")) for w in n.waypoints if w.get("name")]
    remarks = clip(
        f"Notified humanitarian movement — protected. {moving.capitalize()} of {n.owner_code}, "
        f"{_window(n)}"
        + "".join(f"; {x}" for x in load if x)
        + (f"; via {', '.join(via)}" if via else "")
        + tail
    )
    return [route(movement_uid(n.id), n.geometry, now, n.title, remarks, GREEN, _stale(n, now))]
