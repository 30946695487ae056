"""TAK data packages: what devices upload, find and download through the Marti sync endpoints
(`cmcc.tak.marti`), and the centre's picture as a mission package for offline use.

A device acts for its organization (the device of its client certificate: `DeviceOwner`).
What it uploads is checked first (`cmcc.tak.package_checks`: size, type, digest, zip bombs,
names) and stored owned by its organization with the device's marking; every read goes through
the release policy of the organization's `Viewer` in the query (`visible`), so a device never
learns of a package its organization may not see, not even that its hash is known. One row per
(hash, owner): a second organization uploading the same file gets a row of its own.

The picture's package (`picture_package`) holds the zones valid now and the open hazard areas
the organization may see, as `cmcc.cot.outbound` draws them for the gateway's clients, stale
`tak_picture_package_hours` after it was made. It is made on request, for a moment rounded
down to PICTURE_PERIOD, so every gateway makes the same bytes (one SHA-256) within a period;
a download by the hash of the previous period is still answered."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.orm import Session, undefer

from cmcc.access.models import Organization
from cmcc.access.policy import visible
from cmcc.config import Settings
from cmcc.core.clock import utcnow
from cmcc.core.errors import Forbidden, InvalidInput, NotFound
from cmcc.core.releasability import Marking, Viewer
from cmcc.cot import codec, outbound
from cmcc.cot.devices import CotDevice, DeviceOwner
from cmcc.cot.event import CotEvent
from cmcc.tak import mission_package
from cmcc.tak.package_checks import ZipLimits, check_upload, sha256
from cmcc.tak.package_models import TOOLS, TakDataPackage

MISSION_KEYWORD = "missionpackage"  # what ATAK searches for in Import > Data Packages
PICTURE_KEYWORD = "cmcc-picture"
PICTURE_PERIOD = dt.timedelta(minutes=10)
PICTURE_KINDS = ("zone", "hazard")
_KEYWORD = re.compile(r"^[^|\x00-\x1f]{1,100}$")


def limits(settings: Settings) -> ZipLimits:
    return ZipLimits(
        max_bytes=settings.tak_package_max_bytes,
        max_unpacked=settings.tak_package_max_unpacked_bytes,
        max_entries=settings.tak_package_max_entries,
        max_ratio=settings.tak_package_max_ratio,
    )


def viewer_of(session: Session, device: DeviceOwner) -> Viewer:
    """The release policy's view of the device's organization."""
    org = session.get_one(Organization, device.org_id)
    return Viewer(org.id, org.code, org.is_member)


def keyword_list(values: list[str]) -> list[str]:
    """Keywords as clients send them: repeated parameters, or one list split by commas."""
    out: list[str] = []
    for value in values:
        for word in value.split(","):
            word = word.strip()
            if not word:
                continue
            if not _KEYWORD.match(word):
                raise InvalidInput.field(
                    "keywords", f"{word[:40]!r}: 1-100 printable characters, no |"
                )
            if word not in out:
                out.append(word)
    return out


def _stored(words: list[str]) -> str:
    return "|" + "|".join(words) + "|" if words else ""


def check_tool(tool: str) -> str:
    tool = tool.strip().lower()
    if tool not in TOOLS:
        raise InvalidInput.field("tool", f"{tool[:40]!r}: use public or private")
    return tool


# ---- writes ---------------------------------------------------------------------------------


def upload(
    session: Session,
    device: DeviceOwner,
    data: bytes,
    *,
    name: str,
    keywords: list[str],
    declared_type: str | None,
    declared_hash: str | None,
    tool: str,
    settings: Settings,
    mission_package: bool,
) -> TakDataPackage:
    """Check and store a package for the device's organization (nothing is written when a
    check fails). The same file uploaded again by the organization is the package it has."""
    name = name.strip().replace("\\", "/").rsplit("/", 1)[-1]
    if not name or len(name) > 255 or any(ord(c) < 32 for c in name):
        raise InvalidInput.field("name", "give the file's name (1-255 printable characters)")
    tool = check_tool(tool)
    checked = check_upload(
        data,
        name=name,
        declared_type=declared_type,
        declared_hash=declared_hash,
        limits=limits(settings),
        mission_package=mission_package,
    )
    if mission_package and MISSION_KEYWORD not in keywords:
        keywords = [MISSION_KEYWORD, *keywords]
    stored = _stored(keywords)
    if len(stored) > 1000:
        raise InvalidInput.field("keywords", "at most 1000 characters in all")
    found = session.scalars(
        select(TakDataPackage).where(
            TakDataPackage.hash == checked.hash, TakDataPackage.owner_org_id == device.org_id
        )
    ).one_or_none()
    if found is not None:
        return found
    row = session.scalars(select(CotDevice).where(CotDevice.uid == device.uid)).one()
    package = TakDataPackage(
        hash=checked.hash,
        name=name,
        keywords=stored,
        mime_type=checked.mime_type,
        size=checked.size,
        creator_uid=device.uid,
        tool=tool,
        content=data,
        owner_org_id=device.org_id,
    )
    package.marking = row.marking  # the uploading device's marking
    session.add(package)
    session.flush()
    return package


def set_tool(
    session: Session, device: DeviceOwner, viewer: Viewer, hash_: str, tool: str
) -> TakDataPackage:
    """Make the organization's package of this hash public (listed to every organization that
    may see it) or private (listed to its own only). Not found when the viewer may see no
    package of this hash; forbidden when it may see one that another organization owns."""
    tool = check_tool(tool)
    packages = _visible_by_hash(session, viewer, hash_)
    own = next((p for p in packages if p.owner_org_id == device.org_id), None)
    if own is None:
        if packages:
            raise Forbidden("only the organization that uploaded a package may change its tool")
        raise NotFound(f"no data package with hash {hash_[:64]!r}")
    own.tool = tool
    session.flush()
    return own


def set_marking(session: Session, package_id: int, marking: Marking) -> TakDataPackage:
    """Re-mark a package (the operator's; the Marti endpoints never change a marking)."""
    package = session.get_one(TakDataPackage, package_id)
    package.marking = marking
    session.flush()
    return package


# ---- reads ----------------------------------------------------------------------------------


def _visible_by_hash(session: Session, viewer: Viewer, hash_: str) -> list[TakDataPackage]:
    """The packages of this hash the viewer may see, its own organization's first."""
    own_first = case((TakDataPackage.owner_org_id == viewer.org_id, 0), else_=1)
    stmt = visible(TakDataPackage, viewer, TakDataPackage.hash == hash_.strip().lower())
    return list(session.scalars(stmt.order_by(own_first, TakDataPackage.id)))


def find(session: Session, viewer: Viewer, hash_: str) -> TakDataPackage | None:
    """A package of this hash the viewer may see (its own organization's if it has one)."""
    found = _visible_by_hash(session, viewer, hash_)
    return found[0] if found else None


@dataclass(frozen=True)
class Download:
    name: str
    mime_type: str
    content: bytes


def content(
    session: Session,
    viewer: Viewer,
    hash_: str,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> Download:
    """The bytes of the package of this hash, if the viewer may see one; else the picture's
    package when the hash is its (this period's or the previous one's); else NotFound, the
    same whether the hash is unknown or only hidden."""
    wanted = hash_.strip().lower()
    found = session.scalars(
        visible(TakDataPackage, viewer, TakDataPackage.hash == wanted)
        .options(undefer(TakDataPackage.content))
        .order_by(TakDataPackage.id)
        .limit(1)
    ).one_or_none()
    if found is not None:
        return Download(found.name, found.mime_type, found.content)
    now = now or utcnow()
    for moment in (now, now - PICTURE_PERIOD):
        picture = picture_package(session, viewer, settings, now=moment)
        if picture.hash == wanted:
            return Download(picture.name, "application/zip", picture.content)
    raise NotFound(f"no data package with hash {wanted[:64]!r}")


def search(
    session: Session, viewer: Viewer, *, keywords: list[str], tool: str | None
) -> list[TakDataPackage]:
    """The packages listed to the viewer: those it may see, with every keyword asked for;
    a private package only to its own organization."""
    conditions = [TakDataPackage.keywords.contains(f"|{k}|", autoescape=True) for k in keywords]
    if tool is not None:
        conditions.append(TakDataPackage.tool == check_tool(tool))
    listed = (TakDataPackage.tool == "public") | (TakDataPackage.owner_org_id == viewer.org_id)
    stmt = visible(TakDataPackage, viewer, listed, *conditions).order_by(TakDataPackage.id)
    return list(session.scalars(stmt))


# ---- the picture as a mission package -------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    uid: str
    name: str
    hash: str
    made: dt.datetime
    content: bytes
    keywords: tuple[str, ...] = (MISSION_KEYWORD, PICTURE_KEYWORD)


def period_start(now: dt.datetime) -> dt.datetime:
    seconds = PICTURE_PERIOD.total_seconds()
    stamp = now.astimezone(dt.UTC).timestamp()
    return dt.datetime.fromtimestamp(stamp - stamp % seconds, dt.UTC)


def picture_events(
    session: Session, viewer: Viewer, made: dt.datetime, hours: float
) -> list[CotEvent]:
    """The zones valid at `made` and the open hazard areas the viewer may see, as the gateway
    draws them, stale `hours` later."""
    stale = made + dt.timedelta(hours=hours)
    out: list[CotEvent] = []
    for name in PICTURE_KINDS:
        kind = outbound.KINDS[name]
        stmt = visible(kind.model, viewer, *kind.in_picture(made)).order_by(kind.model.id)
        for record in session.scalars(stmt):
            out.extend(dataclasses.replace(e, stale=stale) for e in kind.events(record, made))
    return out


def picture_package(
    session: Session, viewer: Viewer, settings: Settings, *, now: dt.datetime | None = None
) -> Picture:
    """The picture's mission package for this viewer, as of the start of the current period."""
    made = period_start(now or utcnow())
    owner = viewer.org_code or "public"
    uid = f"cmcc-picture-{owner.lower()}"
    name = f"CMCC picture {owner} {made:%Y-%m-%d %H%M}Z"
    events = picture_events(session, viewer, made, settings.tak_picture_package_hours)
    files = [(f"{e.uid}/{e.uid}.cot", codec.to_xml(e)) for e in events]
    data = mission_package.build(uid, name, files, when=made)
    return Picture(uid, f"{name}.zip", sha256(data), made, data)
