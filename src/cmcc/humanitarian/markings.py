"""The marking a humanitarian record gets when its author chooses none: the submitting
organization and the centre, nobody else."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import OrgKind
from cmcc.access.models import Organization
from cmcc.core.releasability import Marking, MarkingKind


def owner_and_centre(session: Session, owner_org_id: int) -> Marking:
    """`rel:` the centre's organizations (kind `cmcc`; the owner sees its own records in any
    case), or `owner` when the platform has no centre. The centre's own records need no list."""
    centre = set(
        session.scalars(
            select(Organization.code).where(
                Organization.kind == OrgKind.CMCC.value, Organization.id != owner_org_id
            )
        )
    )
    if not centre:
        return Marking(MarkingKind.OWNER)
    return Marking(MarkingKind.REL, frozenset(centre))
