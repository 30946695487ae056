"""From the TAK gateway into the platform: positions become tracks, spot markers draft
incidents, and a unit entering a zone its pledge's caveats forbid raises an alert.

Every report comes attributed to a device by the server (`Report`): the registered device its
connection was identified as, or none. The bridge stores and alerts in that device's name only,
never in the name of whatever uid or callsign an event claims; a caveat alert only for the
device's own position, not for a marker it placed.

`Bridge.ingest` takes a batch from a worker thread and writes it in ONE transaction: one
INSERT for the tracks (`tracks.store_batch`), one geofence call for every position of the batch
(`GeofenceEngine.check_many`), one query for the devices. Caveat alerts are raised on entry:
the bridge remembers, per uid, the forbidden zones the unit was last seen in, and raises one
alert per (uid, zone) when the unit enters (not again while it stays inside; again after it
has left and comes back). That memory is per process and starts empty, so after a restart a
unit already inside is alerted once more. A device linked to an ORBAT unit is checked against
its unit's pledge when it has none of its own, and against its unit's open tasks: outside the
tasked area during the window raises one alert per task (`cmcc.cot.task_alerts`). A unit's
position inside a notified humanitarian movement's protective zone during its window raises
one alert per unit and movement (`cmcc.cot.movement_alerts`)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal, Role
from cmcc.access.service import org_by_code
from cmcc.bootstrap import Platform
from cmcc.core.clock import utcnow
from cmcc.core.releasability import MarkingKind
from cmcc.core.uow import after_commit
from cmcc.cot import devices
from cmcc.cot.event import UNKNOWN, CotEvent, Report
from cmcc.cot.movement_alerts import track_in_movement
from cmcc.cot.task_alerts import Position, outside_tasked_area
from cmcc.cot.tracks import TrackRow, store_batch
from cmcc.forces.domain import Caveats, caveats_permit
from cmcc.geo.geofence import GeofenceEngine
from cmcc.incidents.domain import IncidentType, VerificationStatus
from cmcc.incidents.models import Alert, Incident
from cmcc.incidents.service import raise_zone_alerts
from cmcc.zones.domain import zone_title
from cmcc.zones.models import Zone

HOME_ORG = "CMCC"  # owner of the tracks and reports of unregistered devices
ALERT_KIND = "caveat_violation"
ACTOR = "cot-gateway"
_TRACK = re.compile(r"<track\b([^>]*)>")
_ATTR = re.compile(r'\b(speed|course)\s*=\s*["\']([^"\']*)["\']')


def track_values(detail_xml: str) -> tuple[float | None, float | None]:
    """speed (m/s) and course (degrees) of a `<track>` detail element, when present."""
    found = _TRACK.search(detail_xml) if "<track" in detail_xml else None
    if found is None:
        return None, None
    values: dict[str, float | None] = {"speed": None, "course": None}
    for name, text in _ATTR.findall(found.group(1)):
        try:
            number = float(text)
        except ValueError:
            continue
        values[name] = number if np.isfinite(number) else None
    return values["speed"], values["course"]


def _known(value: float) -> float | None:
    return None if value == UNKNOWN or not np.isfinite(value) else value


class Bridge:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._lock = threading.Lock()
        self._inside: dict[str, frozenset[int]] = {}  # uid -> forbidden zones it is inside
        self._home: tuple[int, str] | None = None

    def _principal(self, session: Session) -> Principal:
        if self._home is None:
            org = org_by_code(session, HOME_ORG)
            self._home = (org.id, org.code)
        org_id, code = self._home
        return Principal(None, ACTOR, org_id, code, True, Role.ADMIN, system=True)

    def ingest(self, reports: Sequence[Report]) -> int:
        """Store the batch's friendly positions and spot markers; the number of records stored
        (tracks plus new draft incidents)."""
        positions = [r for r in reports if r.event.is_friendly_position]
        spots = [r for r in reports if r.event.is_spot_marker]
        if not positions and not spots:
            return 0
        fence = self.platform.fence()  # loaded (once) before this transaction starts
        with self.platform.unit_of_work(Principal.system_operator(), write=True) as session:
            principal = self._principal(session)
            session.info["actor"] = principal.actor
            known = devices.resolve_many(
                session, {r.device_uid for r in (*positions, *spots) if r.device_uid}
            )
            track_ids = self._tracks(session, positions, known)
            self._caveat_alerts(session, fence, positions, known, track_ids)
            own = self._own_positions(positions, known, track_ids)
            self._publish(session, outside_tasked_area(session, own) if own else [])
            self._publish(session, track_in_movement(session, fence, own) if own else [])
            stored = len(track_ids) + self._spot_reports(session, fence, spots, known)
        return stored

    # -- tracks --------------------------------------------------------------------------------

    @staticmethod
    def _device(known: dict[str, devices.DeviceInfo], report: Report) -> devices.DeviceInfo | None:
        return known.get(report.device_uid) if report.device_uid else None

    def _tracks(
        self, session: Session, positions: list[Report], known: dict[str, devices.DeviceInfo]
    ) -> list[int]:
        """Store the positions; their track ids, in order. A marker a device placed is stored
        under the device's organization and marking, without its pledge."""
        assert self._home is not None
        home = self._home[0]
        rows = []
        for report in positions:
            ev, info = report.event, self._device(known, report)
            speed, course = track_values(ev.detail_xml)
            rows.append(
                TrackRow(
                    uid=ev.uid,
                    type=ev.type[:64],
                    time=ev.time,
                    stale=ev.stale,
                    lon=ev.lon,
                    lat=ev.lat,
                    owner_org_id=info.org_id if info else home,
                    releasability=info.releasability if info else MarkingKind.OWNER.value,
                    release_to=info.release_to if info else None,
                    callsign=ev.callsign[:120] if ev.callsign else None,
                    pledge_id=info.pledge_id if info and report.own else None,
                    hae=_known(ev.hae),
                    speed=speed,
                    course=course,
                )
            )
        return store_batch(session, rows)

    # -- caveats -------------------------------------------------------------------------------

    def _caveat_alerts(
        self,
        session: Session,
        fence: GeofenceEngine,
        reports: list[Report],
        known: dict[str, devices.DeviceInfo],
        track_ids: list[int],
    ) -> list[Alert]:
        """Geofence the whole batch at once; alert on each entry of a device's own position
        into a forbidden zone, naming the position (track) that entered it."""
        if not reports:
            return []
        positions = [r.event for r in reports]
        infos = [self._device(known, r) if r.own else None for r in reports]
        lons = np.fromiter((e.lon for e in positions), dtype=np.float64, count=len(positions))
        lats = np.fromiter((e.lat for e in positions), dtype=np.float64, count=len(positions))
        # Every position of the batch through the geofence, against every zone, in one call;
        # validity is checked below against each report's own time.
        pts, zone_ids = fence.check_many(lons, lats)
        pledged = {i for i, info in enumerate(infos) if info is not None and info.pledge_id}
        hits: dict[int, list[int]] = {}
        if pledged:
            for p, z in zip(pts.tolist(), zone_ids.tolist(), strict=True):
                if p in pledged:
                    hits.setdefault(p, []).append(z)
        zones = _zone_rows(session, {z for zs in hits.values() for z in zs})

        alerts: list[Alert] = []
        with self._lock:
            state = dict(self._inside)
        changed: dict[str, frozenset[int]] = {}
        for idx, (ev, info) in enumerate(zip(positions, infos, strict=True)):
            if info is None or info.pledge_id is None:
                continue
            inside = frozenset(
                z
                for z in hits.get(idx, ())
                if z in zones
                and _valid(zones[z], ev.time)
                and not caveats_permit(
                    Caveats(forbidden_zone_kinds=info.caveats.forbidden_zone_kinds),
                    zones[z].kind,
                )
            )
            before = changed.get(ev.uid, state.get(ev.uid, frozenset()))
            for zone_id in sorted(inside - before):
                alerts.append(_alert(ev, info, zones[zone_id], track_ids[idx]))
            if inside != before:
                changed[ev.uid] = inside
        if alerts:
            session.add_all(alerts)
            session.flush()
        if changed or alerts:
            self._after_commit(session, changed, [a.id for a in alerts])
        return alerts

    def _after_commit(
        self, session: Session, changed: dict[str, frozenset[int]], alert_ids: list[int]
    ) -> None:
        bus = self.platform.bus

        def apply() -> None:
            with self._lock:
                for uid, inside in changed.items():
                    if inside:
                        self._inside[uid] = inside
                    else:
                        self._inside.pop(uid, None)
            for alert_id in alert_ids:
                bus.publish({"type": "alert", "id": alert_id})

        after_commit(session, apply)

    # -- tasked areas and notified movements ----------------------------------------------

    def _own_positions(
        self, reports: list[Report], known: dict[str, devices.DeviceInfo], track_ids: list[int]
    ) -> list[Position]:
        """The registered devices' own positions, each with its track."""
        return [
            Position(r.event, info, track_id)
            for r, track_id in zip(reports, track_ids, strict=True)
            if r.own and (info := self._device(known, r)) is not None
        ]

    def _publish(self, session: Session, alerts: list[Alert]) -> None:
        """Store the alerts; publish them on the bus once the transaction has committed."""
        if not alerts:
            return
        session.flush()
        bus, ids = self.platform.bus, [a.id for a in alerts]

        def publish() -> None:
            for alert_id in ids:
                bus.publish({"type": "alert", "id": alert_id})

        after_commit(session, publish)

    # -- spot reports --------------------------------------------------------------------------

    def _spot_reports(
        self,
        session: Session,
        fence: GeofenceEngine,
        spots: list[Report],
        known: dict[str, devices.DeviceInfo],
    ) -> int:
        """A draft incident per new spot marker uid (`external_ref` cot:<uid>), owned as its
        sender's device; a repeat of a marker already reported changes nothing."""
        if not spots:
            return 0
        by_ref: dict[str, Report] = {}
        for report in spots:
            by_ref.setdefault(f"cot:{report.event.uid}"[:120], report)
        existing = set(
            session.scalars(select(Incident.external_ref).where(Incident.external_ref.in_(by_ref)))
        )
        assert self._home is not None
        now = utcnow()
        made: list[Incident] = []
        for ref, report in by_ref.items():
            if ref in existing:
                continue
            ev, info = report.event, self._device(known, report)
            incident = Incident(
                external_ref=ref,
                type=IncidentType.OTHER.value,
                occurred_at=ev.time,
                reported_at=now,
                severity=1,
                source_reliability="F",
                info_credibility=6,
                narrative=_narrative(ev),
                attachments=[],
                source=f"TAK spot marker {ev.uid}"
                + (f" from {ev.callsign}" if ev.callsign else ""),
                status=VerificationStatus.REPORTED.value,
                owner_org_id=info.org_id if info else self._home[0],
                releasability=info.releasability if info else MarkingKind.OWNER.value,
                release_to=info.release_to if info else None,
            )
            incident.geometry = _point(ev.lon, ev.lat)
            made.append(incident)
        if made:
            session.add_all(made)
            session.flush()
            raise_zone_alerts(session, made, fence, self.platform.bus)
        return len(made)


class _ZoneRow(NamedTuple):
    id: int
    kind: str
    name: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None


def _zone_rows(session: Session, ids: set[int]) -> dict[int, _ZoneRow]:
    if not ids:
        return {}
    stmt = select(Zone.id, Zone.kind, Zone.name, Zone.valid_from, Zone.valid_to)
    return {r.id: _ZoneRow(*r) for r in session.execute(stmt.where(Zone.id.in_(ids)))}


def _valid(zone: _ZoneRow, moment: dt.datetime) -> bool:
    return zone.valid_from <= moment and (zone.valid_to is None or moment < zone.valid_to)


def _alert(ev: CotEvent, info: devices.DeviceInfo, zone: _ZoneRow, track_id: int) -> Alert:
    """Released to whoever may see the position (its track), the pledge whose caveats forbid
    the zone, and the zone (see `Alert`)."""
    unit = ev.callsign or ev.uid
    pledge = f" (pledge {info.pledge_ref})" if info.pledge_ref else ""
    return Alert(
        kind=ALERT_KIND,
        zone_id=zone.id,
        incident_id=None,
        track_id=track_id,
        pledge_id=info.pledge_id,
        message=(
            f"{info.org_code} unit {unit}{pledge} entered {zone_title(zone.kind, zone.name)}, "
            f"which its caveats forbid, at {ev.time:%Y-%m-%d %H:%M:%S}Z "
            f"({ev.lat:.5f}, {ev.lon:.5f})"
        ),
        raised_at=utcnow(),
        owner_org_id=info.org_id,
    )


def _narrative(ev: CotEvent) -> str:
    who = ev.callsign or ev.uid
    text = (ev.remarks or "").strip()
    return f"Spot report from {who} (TAK): {text}" if text else f"Spot report from {who} (TAK)"


def _point(lon: float, lat: float) -> BaseGeometry:
    return shapely.Point(lon, lat)
