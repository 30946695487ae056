"""TAK groups (ATAK's channels) are the release policy's scopes.

A registered device is *in* (receives on) these groups: `__ANON__` (what is public),
`mission` when its organization is a member of the mission, and its organization's code (a
nation's ISO alpha-3 code for a national contingent). It sends *out* on the scopes of its
marking (its registration's, `CotDevice.releasability`): `public` on `__ANON__`; `mission` on
`mission`; `rel:GBR,IDN` on `GBR` and `IDN`; and always on its own organization's code (the
owner always sees its own). A device's traffic reaches another exactly when one of its out
groups is one of the other's in groups, which is the release policy's `may_see` with the
sender's organization as owner: the relay rule of the gateway (`cmcc.cot.server.Peer.reaches`),
and what a data package marked so is shared with. Groups cannot be chosen or switched off
from a device: they follow the registration.

`router`: `GET /Marti/api/groups/all`, TAK Server's answer for the calling device (its client
certificate, which `cmcc.tak.https` puts in the request's scope), for the 8443 app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.access.models import Organization
from cmcc.core.errors import Forbidden
from cmcc.core.releasability import Marking, MarkingKind
from cmcc.cot.devices import CotDevice

PUBLIC = "__ANON__"  # TAK Server's group of everyone
MISSION = "mission"
IN, OUT = "IN", "OUT"
NODE_ID = "cmcc"  # the nodeId of TAK Server's answers (one node)


@dataclass(frozen=True)
class Membership:
    """A device's groups: the scopes it receives in, and those it sends out on."""

    in_groups: tuple[str, ...]
    out_groups: tuple[str, ...]

    def reaches(self, receiver: Membership) -> bool:
        return not set(self.out_groups).isdisjoint(receiver.in_groups)


def membership(org_code: str, member: bool, marking: Marking) -> Membership:
    """The groups of a device of organization `org_code` (a member of the mission or not)
    whose traffic is marked `marking`."""
    ins = (PUBLIC, MISSION, org_code) if member else (PUBLIC, org_code)
    if marking.kind is MarkingKind.PUBLIC:
        outs: tuple[str, ...] = (PUBLIC, org_code)
    elif marking.kind is MarkingKind.MISSION:
        outs = (MISSION, org_code)
    elif marking.kind is MarkingKind.REL:
        outs = (*sorted(marking.release_to - {org_code}), org_code)
    else:
        outs = (org_code,)
    return Membership(ins, outs)


def device_membership(session: Session, device_uid: str) -> Membership | None:
    """The groups of a registered device (None when it is not registered)."""
    row = session.execute(
        select(
            CotDevice.releasability, CotDevice.release_to, Organization.code, Organization.is_member
        )
        .join(Organization, Organization.id == CotDevice.org_id)
        .where(CotDevice.uid == device_uid)
    ).one_or_none()
    if row is None:
        return None
    marking = Marking.from_stored(row.releasability, row.release_to)
    return membership(row.code, bool(row.is_member), marking)


DESCRIPTIONS = {
    PUBLIC: "Public: every device",
    MISSION: "The mission: every member organization",
}


def document(groups: Membership, node_id: str, created: str) -> dict[str, Any]:
    """TAK Server's JSON for /Marti/api/groups/all: each group once per direction, with a
    bit position (stable for a name within one answer, in the order listed)."""
    names = list(dict.fromkeys(groups.in_groups + groups.out_groups))
    data = []
    for direction, listed in ((IN, groups.in_groups), (OUT, groups.out_groups)):
        for name in listed:
            data.append(
                {
                    "name": name,
                    "direction": direction,
                    "created": created,
                    "type": "SYSTEM",
                    "bitpos": names.index(name),
                    "active": True,
                    "description": DESCRIPTIONS.get(name, f"Organization {name}"),
                }
            )
    return {
        "version": "3",
        "type": "com.bbn.marti.remote.groups.Group",
        "data": data,
        "nodeId": node_id,
    }


router = APIRouter()


@router.get("/Marti/api/groups/all")
def groups_all(request: Request) -> dict[str, Any]:
    """The groups of the calling device (by its client certificate: `cmcc.tak.peer`)."""
    from cmcc.tak.peer import caller_of  # the Marti app's modules; not the gateway's relay

    platform = request.app.state.platform
    caller = caller_of(platform, request.scope)
    with platform.unit_of_work(Principal.anonymous()) as session:
        groups = device_membership(session, caller.device.uid)
        created = session.scalar(select(Organization.created_at).order_by(Organization.id))
    if groups is None:
        raise Forbidden("the client certificate is not bound to a registered device")
    day = created.date().isoformat() if created is not None else "1970-01-01"
    return document(groups, NODE_ID, day)
