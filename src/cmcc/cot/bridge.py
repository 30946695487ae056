"""From the TAK gateway into the platform: positions become tracks, spot markers draft
incidents, and a unit entering a zone its pledge's caveats forbid raises an alert.

Every report comes attributed to a device by the server (`Report`): the registered device its
connection was identified as, or none. The bridge stores and alerts in that device's name only,
never in the name of whatever uid or callsign an event claims; a caveat alert only for the
device's own position, not for a marker it placed.

One way to store, whoever calls: the gateway of a single process hands its reports to
`Bridge.ingest`, a `cmcc worker` the fixes it fetched from the stream to `Bridge.store`
(`cmcc.cot.stream`). A batch is written in ONE transaction: the tracks with the driver's bulk
path (`tracks.store_batch`, which skips a position already stored under its idempotent key),
one geofence call for every position of the batch (`GeofenceEngine.check_many`, before the
transaction), one query for the devices. Only positions stored by this batch raise alerts, so
a batch delivered twice alerts once.

Caveat alerts are raised on entry: a unit's position inside a forbidden zone raises one alert
per zone when the unit's previous position (the one before it in time: earlier in the batch, or
else the latest stored before the batch) was not inside that zone; not again while it stays
inside, again after it has left and comes back. The positions around the batch are read from
the database after `tracks.lock_writers`, so several workers sharing the stream see each
other's committed batches, and a restart forgets nothing. Workers may commit one unit's batches
out of time order: a stay that goes on into a position stored earlier (later in time) was
alerted already and is not alerted again; a late position outside a zone, between two stored
inside it, does not raise the alert the second stay would have had in order. A device
linked to an ORBAT unit is checked against its unit's pledge when it has none of its own, and
against its unit's open tasks: outside the tasked area during the window raises one alert per
task (`cmcc.cot.task_alerts`). A unit's position inside a notified humanitarian movement's
protective zone during its window raises one alert per unit and movement
(`cmcc.cot.movement_alerts`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
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
from cmcc.cot import devices, tracks
from cmcc.cot.event import UNKNOWN, CotEvent, Report
from cmcc.cot.movement_alerts import track_in_movement
from cmcc.cot.stream import Fix, fixes_of
from cmcc.cot.task_alerts import Position, outside_tasked_area
from cmcc.cot.tracks import Neighbour, TrackRow, store_batch
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
Hits = dict[int, list[int]]  # index of a position -> the zones it lies in


class Bridge:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
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
        return self.store(fixes_of(reports))

    def store(self, fixes: Sequence[Fix]) -> int:
        """Store the fixes in one transaction; the number of records stored (tracks plus new
        draft incidents; a fix whose key is stored already counts for nothing)."""
        positions = [f for f in fixes if not f.is_spot_marker]
        spots = [f for f in fixes if f.is_spot_marker]
        if not positions and not spots:
            return 0
        fence = self.platform.fence()  # loaded (once) before this transaction starts
        hits = _geofence(fence, positions)  # every position, against every zone, in one call
        with self.platform.unit_of_work(Principal.system_operator(), write=True) as session:
            principal = self._principal(session)
            session.info["actor"] = principal.actor
            known = devices.resolve_many(session, {f.device_uid for f in fixes if f.device_uid})
            track_ids = store_batch(session, self._rows(positions, known))
            if not positions:
                tracks.lock_writers(session)
            self._caveat_alerts(session, fence, positions, known, track_ids, hits)
            own = self._own_positions(positions, known, track_ids)
            self._publish(session, outside_tasked_area(session, own) if own else [])
            self._publish(session, track_in_movement(session, fence, own) if own else [])
            stored = sum(i is not None for i in track_ids)
            stored += self._spot_reports(session, fence, spots, known)
        return stored

    # -- tracks --------------------------------------------------------------------------------

    @staticmethod
    def _device(known: dict[str, devices.DeviceInfo], fix: Fix) -> devices.DeviceInfo | None:
        return known.get(fix.device_uid) if fix.device_uid else None

    def _rows(self, positions: list[Fix], known: dict[str, devices.DeviceInfo]) -> list[TrackRow]:
        """The track rows of the positions. A marker a device placed is stored under the
        device's organization and marking, without its pledge."""
        assert self._home is not None
        home, owner = self._home[0], MarkingKind.OWNER.value
        rows = []
        for fix in positions:
            info = known.get(fix.device_uid) if fix.device_uid else None
            callsign = fix.callsign[:120] if fix.callsign else None
            row: tuple[int, str, str | None, str | None, int | None]
            if info is None:  # an unregistered device: the centre's, marked owner
                row = (home, owner, None, callsign, None)
            else:
                pledge = info.pledge_id if fix.own else None
                row = (info.org_id, info.releasability, info.release_to, callsign, pledge)
            rows.append(
                TrackRow(
                    fix.uid, fix.type[:64], fix.time, fix.stale, fix.lon, fix.lat,
                    *row, fix.hae, fix.speed, fix.course, fix.key,
                )
            )  # fmt: skip
        return rows

    # -- caveats -------------------------------------------------------------------------------

    def _caveat_alerts(
        self,
        session: Session,
        fence: GeofenceEngine,
        positions: list[Fix],
        known: dict[str, devices.DeviceInfo],
        track_ids: list[int | None],
        hits: Hits,
    ) -> None:
        """Alert on each entry of a device's own position into a forbidden zone, naming the
        position (track) that entered it; only positions this batch stored alert."""
        units: dict[str, list[int]] = {}  # uid -> its pledged positions, by time
        infos: dict[str, devices.DeviceInfo] = {}
        for idx, fix in enumerate(positions):
            info = self._device(known, fix) if fix.own else None
            if info is not None and info.pledge_id is not None:
                units.setdefault(fix.uid, []).append(idx)
                infos[fix.uid] = info
        if not units:
            return
        for idxs in units.values():
            idxs.sort(key=lambda i: (positions[i].time, i))
        before, after = tracks.neighbours(
            session,
            {
                uid: (positions[idxs[0]].time, positions[idxs[-1]].time)
                for uid, idxs in units.items()
            },
        )
        around = [*before.values(), *after.values()]
        around_hits = _geofence(fence, around)
        wanted = {z for zs in (*hits.values(), *around_hits.values()) for z in zs}
        zones = _zone_rows(session, wanted)

        def forbidden(found: list[int], info: devices.DeviceInfo, at: dt.datetime) -> set[int]:
            kinds = Caveats(forbidden_zone_kinds=info.caveats.forbidden_zone_kinds)
            return {
                z
                for z in found
                if z in zones and _valid(zones[z], at) and not caveats_permit(kinds, zones[z].kind)
            }

        def stored_inside(n: Neighbour | None, info: devices.DeviceInfo) -> set[int]:
            if n is None:
                return set()
            return forbidden(around_hits.get(around.index(n), []), info, n.time)

        alerts: list[Alert] = []
        for uid, idxs in units.items():
            info = infos[uid]
            entries: list[tuple[int, int] | None] = []  # (position, zone) entered
            runs: dict[int, int] = {}  # zone -> its entry in `entries`, while inside
            inside_before = stored_inside(before.get(uid), info)
            for idx in idxs:
                fix = positions[idx]
                inside = forbidden(hits.get(idx, []), info, fix.time)
                for z in sorted(inside - inside_before):
                    runs[z] = len(entries)
                    entries.append((idx, z))
                for z in inside_before - inside:
                    runs.pop(z, None)
                inside_before = inside
            # A stay that goes on into a position stored before this batch was alerted already.
            for z in inside_before & stored_inside(after.get(uid), info):
                if z in runs:
                    entries[runs[z]] = None
            for entry in entries:
                if entry is not None and (track_id := track_ids[entry[0]]) is not None:
                    alerts.append(_alert(positions[entry[0]], info, zones[entry[1]], track_id))
        self._publish(session, alerts)

    # -- tasked areas and notified movements ----------------------------------------------

    def _own_positions(
        self,
        positions: list[Fix],
        known: dict[str, devices.DeviceInfo],
        track_ids: list[int | None],
    ) -> list[Position]:
        """The registered devices' own positions this batch stored, each with its track."""
        return [
            Position(_event(fix), info, track_id)
            for fix, track_id in zip(positions, track_ids, strict=True)
            if track_id is not None and fix.own and (info := self._device(known, fix)) is not None
        ]

    def _publish(self, session: Session, alerts: list[Alert]) -> None:
        """Store the alerts; publish them on the bus once the transaction has committed."""
        if not alerts:
            return
        session.add_all(alerts)
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
        spots: list[Fix],
        known: dict[str, devices.DeviceInfo],
    ) -> int:
        """A draft incident per new spot marker uid (`external_ref` cot:<uid>), owned as its
        sender's device; a repeat of a marker already reported changes nothing."""
        if not spots:
            return 0
        by_ref: dict[str, Fix] = {}
        for fix in spots:
            by_ref.setdefault(f"cot:{fix.uid}"[:120], fix)
        existing = set(
            session.scalars(select(Incident.external_ref).where(Incident.external_ref.in_(by_ref)))
        )
        assert self._home is not None
        now = utcnow()
        made: list[Incident] = []
        for ref, fix in by_ref.items():
            if ref in existing:
                continue
            info = self._device(known, fix)
            incident = Incident(
                external_ref=ref,
                type=IncidentType.OTHER.value,
                occurred_at=fix.time,
                reported_at=now,
                severity=1,
                source_reliability="F",
                info_credibility=6,
                narrative=_narrative(fix),
                attachments=[],
                source=f"TAK spot marker {fix.uid}"
                + (f" from {fix.callsign}" if fix.callsign else ""),
                status=VerificationStatus.REPORTED.value,
                owner_org_id=info.org_id if info else self._home[0],
                releasability=info.releasability if info else MarkingKind.OWNER.value,
                release_to=info.release_to if info else None,
            )
            incident.geometry = _point(fix.lon, fix.lat)
            made.append(incident)
        if made:
            session.add_all(made)
            session.flush()
            raise_zone_alerts(session, made, fence, self.platform.bus)
        return len(made)


def _geofence(fence: GeofenceEngine, points: Sequence[Fix | Neighbour]) -> Hits:
    """The zones each point lies in, by its index (validity is checked by the caller, against
    each point's own time)."""
    if not points:
        return {}
    count = len(points)
    lons: npt.NDArray[np.float64] = np.fromiter((p.lon for p in points), np.float64, count)
    lats: npt.NDArray[np.float64] = np.fromiter((p.lat for p in points), np.float64, count)
    pts, zone_ids = fence.check_many(lons, lats)
    hits: Hits = {}
    for p, z in zip(pts.tolist(), zone_ids.tolist(), strict=True):
        hits.setdefault(p, []).append(z)
    return hits


def _event(fix: Fix) -> CotEvent:
    """The fix as the event the task and movement checks read."""
    return CotEvent(
        uid=fix.uid,
        type=fix.type,
        how="",
        time=fix.time,
        start=fix.time,
        stale=fix.stale,
        lat=fix.lat,
        lon=fix.lon,
        hae=UNKNOWN if fix.hae is None else fix.hae,
        callsign=fix.callsign,
        remarks=fix.remarks,
    )


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


def _alert(ev: Fix, info: devices.DeviceInfo, zone: _ZoneRow, track_id: int) -> Alert:
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


def _narrative(ev: Fix) -> str:
    who = ev.callsign or ev.uid
    text = (ev.remarks or "").strip()
    return f"Spot report from {who} (TAK): {text}" if text else f"Spot report from {who} (TAK)"


def _point(lon: float, lat: float) -> BaseGeometry:
    return shapely.Point(lon, lat)
