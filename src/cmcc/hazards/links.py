"""Readable cross-reference ids (hazard_12, eo_spot_3, land_release_7, eo_accident_4) and the
first-class links between records. A link is shown only when the caller may see both ends."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import release_filter, visible
from cmcc.core.errors import Conflict, InvalidInput
from cmcc.core.records import Releasable
from cmcc.hazards.domain import LinkRelation, Ref, RefType, parse_id, parse_ref
from cmcc.hazards.models import (
    EOAccident,
    EOSpotReport,
    HazardArea,
    HazardLink,
    LandReleaseActivity,
)
from cmcc.hazards.schemas import LinkCreate

MODELS: dict[RefType, type[Releasable]] = {
    RefType.HAZARD: HazardArea,
    RefType.EO_SPOT: EOSpotReport,
    RefType.LAND_RELEASE: LandReleaseActivity,
    RefType.EO_ACCIDENT: EOAccident,
}


def resolve(session: Session, principal: Principal, ref: Ref, field: str) -> Releasable:
    """The record a ref names, if the caller may see it; else a 422 naming the field (a record
    the caller may not see is reported exactly like one that does not exist)."""
    model = MODELS[ref.type]
    obj = session.scalars(visible(model, principal.viewer, model.id == ref.id)).one_or_none()
    if obj is None:
        raise InvalidInput.field(field, f"{ref} not found")
    return obj


def linked_hazard(
    session: Session, principal: Principal, value: int | str, field: str
) -> HazardArea:
    """The hazard area a link field names, by id or by ref."""
    ref = Ref(RefType.HAZARD, parse_id(value, RefType.HAZARD, field))
    hazard = resolve(session, principal, ref, field)
    assert isinstance(hazard, HazardArea)
    return hazard


def add_link(
    session: Session, from_ref: str, to_ref: str, relation: LinkRelation, by: str
) -> HazardLink:
    """Store a link whose ends were checked by the caller."""
    exists = session.scalar(
        select(HazardLink.id).where(
            HazardLink.from_ref == from_ref,
            HazardLink.to_ref == to_ref,
            HazardLink.relation == relation.value,
        )
    )
    if exists is not None:
        raise Conflict(f"{from_ref} {relation.value} {to_ref} is already linked (link {exists})")
    link = HazardLink(from_ref=from_ref, to_ref=to_ref, relation=relation.value, created_by=by)
    session.add(link)
    session.flush()
    return link


def create_link(session: Session, principal: Principal, data: LinkCreate) -> HazardLink:
    require(principal, Permission.WRITE_HAZARDS)
    start = parse_ref(data.from_ref, "body.from_ref")
    end = parse_ref(data.to_ref, "body.to_ref")
    if start == end:
        raise InvalidInput.field("body.to_ref", "a record cannot be linked to itself")
    resolve(session, principal, start, "body.from_ref")
    resolve(session, principal, end, "body.to_ref")
    return add_link(session, str(start), str(end), data.relation, principal.actor)


def _visible_refs(session: Session, principal: Principal, refs: set[Ref]) -> set[Ref]:
    by_type: dict[RefType, set[int]] = defaultdict(set)
    for ref in refs:
        by_type[ref.type].add(ref.id)
    seen: set[Ref] = set()
    for kind, ids in by_type.items():
        model = MODELS[kind]
        rows = session.scalars(
            select(model.id).where(model.id.in_(ids), release_filter(model, principal.viewer))
        )
        seen.update(Ref(kind, i) for i in rows)
    return seen


def links_of(
    session: Session, principal: Principal, ref_text: str, field: str = "query.ref"
) -> list[HazardLink]:
    """The links from or to a record the caller may see, whose other end it may also see."""
    ref = parse_ref(ref_text, field)
    resolve(session, principal, ref, field)
    text = str(ref)
    links = list(
        session.scalars(
            select(HazardLink)
            .where(or_(HazardLink.from_ref == text, HazardLink.to_ref == text))
            .order_by(HazardLink.id)
        )
    )
    others = {
        parse_ref(link.to_ref if link.from_ref == text else link.from_ref, field) for link in links
    }
    seen = {str(r) for r in _visible_refs(session, principal, others)}
    return [link for link in links if {link.from_ref, link.to_ref} - {text} <= seen]
