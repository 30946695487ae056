"""TAK devices: a device uid (and optionally its callsign) mapped to the organization that
fields it and, optionally, to the pledge (contingent) it belongs to.

The gateway stores a registered device's positions under its organization with the device's
marking (default `mission`), and checks them against the pledge's caveats. Positions of an
unregistered device belong to the coordination centre, marked `owner`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from sqlalchemy import ForeignKey, Integer, String, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, synonym

from cmcc.access.models import Organization
from cmcc.access.service import org_by_code, resolve_marking
from cmcc.command.models import Unit, unit_lineage_col
from cmcc.command.orbat import valid_at
from cmcc.core.clock import utcnow
from cmcc.core.db import Base
from cmcc.core.errors import InvalidInput, NotFound
from cmcc.core.records import Timestamped, marking_checks
from cmcc.core.releasability import Marking
from cmcc.cot.event import Registry
from cmcc.forces.domain import Caveats
from cmcc.forces.models import Pledge


class CotDevice(Timestamped, Base):
    __tablename__ = "cot_devices"
    __audit_org__ = "org_id"
    __table_args__ = marking_checks()

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    callsign: Mapped[str | None] = mapped_column(String(120), index=True, default=None)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # The release policy's name for the owning organization (cmcc.access.policy.release_filter).
    owner_org_id: Mapped[int] = synonym("org_id")
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledges.id"), default=None)
    # The ORBAT unit (lineage) the device belongs to: its positions show with the unit's SIDC,
    # the unit's tasks reach it, and the unit's tasked area is checked against them.
    unit_lineage: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    # The marking of the device's tracks (and of the alerts and incidents it causes).
    releasability: Mapped[str] = mapped_column(String(8), default="mission")
    release_to: Mapped[str | None] = mapped_column(String(1000), default=None)

    @property
    def marking(self) -> Marking:
        return Marking.from_stored(self.releasability, self.release_to)


class DeviceOwner(NamedTuple):
    uid: str
    org_id: int
    org_code: str
    pledge_id: int | None


@dataclass(frozen=True)
class DeviceInfo:
    """What the bridge needs to know about a registered device."""

    uid: str
    callsign: str | None
    org_id: int
    org_code: str
    pledge_id: int | None
    pledge_ref: str | None
    releasability: str
    release_to: str | None
    caveats: Caveats
    unit_lineage: int | None = None  # the ORBAT unit it belongs to


def register(
    session: Session,
    uid: str,
    org_code: str,
    *,
    callsign: str | None = None,
    pledge_ref: str | None = None,
    releasability: str = "mission",
    unit_lineage: int | None = None,
) -> CotDevice:
    """Map a device to an organization (and a pledge, and a unit of the ORBAT by its
    lineage); registering a known uid again updates its mapping."""
    uid = uid.strip()
    if not uid or len(uid) > 200:
        raise InvalidInput.field("uid", "give the device uid (1-200 characters)")
    org = org_by_code(session, org_code)
    pledge_id = None
    if pledge_ref is not None:
        pledge_id = session.scalar(select(Pledge.id).where(Pledge.ref == pledge_ref))
        if pledge_id is None:
            raise NotFound(f"pledge {pledge_ref!r} not found")
    if unit_lineage is not None and not session.scalar(
        select(func.count()).where(unit_lineage_col(Unit) == unit_lineage)
    ):
        raise NotFound(f"unit {unit_lineage} not found")
    marking = resolve_marking(session, releasability)
    device = session.scalars(select(CotDevice).where(CotDevice.uid == uid)).one_or_none()
    if device is None:
        device = CotDevice(uid=uid, org_id=org.id)
        session.add(device)
    device.org_id = org.id
    device.callsign = callsign or None
    device.pledge_id = pledge_id
    device.unit_lineage = unit_lineage
    device.releasability = marking.kind.value
    device.release_to = marking.stored_list
    session.flush()
    return device


def unregister(session: Session, uid: str) -> bool:
    device = session.scalars(select(CotDevice).where(CotDevice.uid == uid)).one_or_none()
    if device is None:
        return False
    session.delete(device)
    session.flush()
    return True


def list_devices(session: Session) -> list[tuple[CotDevice, str, str | None]]:
    """Every device with its organization code and pledge ref, by uid."""
    stmt = (
        select(CotDevice, Organization.code, Pledge.ref)
        .join(Organization, Organization.id == CotDevice.org_id)
        .outerjoin(Pledge, Pledge.id == CotDevice.pledge_id)
        .order_by(CotDevice.uid)
    )
    return [(d, code, ref) for d, code, ref in session.execute(stmt)]


def resolve(
    session: Session, uid: str | None = None, callsign: str | None = None
) -> DeviceOwner | None:
    """The owner of a device by uid, else by callsign; None for an unregistered device."""
    found = resolve_many(session, [uid] if uid else [], [callsign] if callsign else [])
    info = found.get(uid) if uid else None
    if info is None and callsign:
        info = next((d for d in found.values() if d.callsign == callsign), None)
    if info is None:
        return None
    return DeviceOwner(info.uid, info.org_id, info.org_code, info.pledge_id)


def registry(session: Session) -> Registry:
    """Every registered device's uid, and the callsigns they are registered with."""
    rows = session.execute(select(CotDevice.uid, CotDevice.callsign)).all()
    return Registry(
        frozenset(uid for uid, _ in rows), {callsign: uid for uid, callsign in rows if callsign}
    )


def resolve_many(
    session: Session, uids: Collection[str], callsigns: Collection[str] = ()
) -> dict[str, DeviceInfo]:
    """Registered devices among these uids or callsigns, in one query, keyed by device uid and
    also by `callsign:<callsign>` for those found by callsign."""
    if not uids and not callsigns:
        return {}
    clauses: list[Any] = []
    if uids:
        clauses.append(CotDevice.uid.in_(set(uids)))
    if callsigns:
        clauses.append(CotDevice.callsign.in_(set(callsigns)))
    stmt = (
        select(CotDevice, Organization.code, Pledge.ref, Pledge.caveats)
        .join(Organization, Organization.id == CotDevice.org_id)
        .outerjoin(Pledge, Pledge.id == CotDevice.pledge_id)
        .where(or_(*clauses))
    )
    out: dict[str, DeviceInfo] = {}
    for device, code, ref, caveats in session.execute(stmt):
        info = DeviceInfo(
            device.uid,
            device.callsign,
            device.org_id,
            code,
            device.pledge_id,
            ref,
            device.releasability,
            device.release_to,
            Caveats.from_dict(caveats),
            device.unit_lineage,
        )
        out[device.uid] = info
    _unit_pledges(session, out)
    for info in list(out.values()):
        if info.callsign:
            out[f"callsign:{info.callsign}"] = info
    return out


def _unit_pledges(session: Session, infos: dict[str, DeviceInfo]) -> None:
    """A device linked to a unit and to no pledge of its own takes its unit's pledge (the
    unit's version valid now): its caveats are the contingent's."""
    lineages = {i.unit_lineage for i in infos.values() if i.pledge_id is None and i.unit_lineage}
    if not lineages:
        return
    now = utcnow()
    stmt = (
        select(unit_lineage_col(Unit), Pledge.id, Pledge.ref, Pledge.caveats)
        .join(Pledge, Pledge.id == Unit.pledge_id)
        .where(unit_lineage_col(Unit).in_(lineages), valid_at(Unit, now))
    )
    pledges = {row[0]: row[1:] for row in session.execute(stmt)}
    for uid, info in infos.items():
        found = pledges.get(info.unit_lineage) if info.pledge_id is None else None
        if found is not None:
            pledge_id, ref, caveats = found
            infos[uid] = replace(
                info, pledge_id=pledge_id, pledge_ref=ref, caveats=Caveats.from_dict(caveats)
            )
