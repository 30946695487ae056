"""Who sees a notification: its marking follows its workflow, never the partner's choice.

- Submitted (and acknowledged): the submitting organization and the centre (the organizations
  of kind `cmcc`).
- Shared: besides, each audience the centre shared it with: `force` (the force headquarters
  and every organization that contributes a unit to the ORBAT now) and organizations named by
  code (a party's liaison cell).

The marking is a `rel:` list, so every read applies it through the one release policy
(`cmcc.access.policy.release_filter`). A contact is marked for the submitting organization and
the centre only, whoever the notification is shared with.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cmcc.access.domain import OrgKind
from cmcc.access.models import Organization
from cmcc.command.models import Unit
from cmcc.core.clock import utcnow
from cmcc.core.errors import InvalidInput
from cmcc.core.releasability import Marking, MarkingKind
from cmcc.humanitarian.domain import FORCE


def centre_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Organization.code).where(Organization.kind == OrgKind.CMCC)))


def force_codes(session: Session) -> set[str]:
    """The force headquarters and the organizations owning a unit valid now."""
    now = utcnow()
    owners = select(Unit.owner_org_id).where(
        Unit.valid_from <= now, or_(Unit.valid_to.is_(None), Unit.valid_to > now)
    )
    stmt = select(Organization.code).where(
        or_(Organization.kind == OrgKind.ISF_HQ, Organization.id.in_(owners))
    )
    return set(session.scalars(stmt))


def check_audiences(session: Session, audiences: list[str]) -> list[str]:
    """The audiences, each `force` or a known organization's code (field errors otherwise)."""
    clean = []
    for i, raw in enumerate(audiences):
        value = raw.strip()
        if value.lower() == FORCE:
            value = FORCE
        else:
            value = value.upper()
            found = session.scalar(
                select(func.count()).select_from(Organization).where(Organization.code == value)
            )
            if not found:
                raise InvalidInput.field(
                    f"body.audiences[{i}]",
                    f"{raw!r} is neither 'force' nor the code of a known organization",
                )
        if value not in clean:
            clean.append(value)
    return clean


def shared_marking(session: Session, owner_code: str, audiences: list[str]) -> Marking:
    """The marking of a notification shared with these audiences."""
    codes = centre_codes(session)
    for audience in audiences:
        codes |= force_codes(session) if audience == FORCE else {audience}
    codes.discard(owner_code)
    return Marking(MarkingKind.REL, frozenset(codes)) if codes else Marking(MarkingKind.OWNER)
