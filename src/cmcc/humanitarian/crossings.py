"""Crossings into the Strip and their status over time: open, closed, or open on restricted
hours, each change in force from its `since` until the next change of the same crossing. The
history is kept (a change is a new record, never an edit), each change with its source.

Every read goes through the release policy, the history too: a caller sees the changes
released to it, so for that caller a change lasts until the next change it may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, release_filter, visible
from cmcc.access.service import resolve_marking
from cmcc.core.changes import picture_changed
from cmcc.core.errors import Conflict, Forbidden, InvalidInput
from cmcc.core.releasability import Viewer
from cmcc.humanitarian.aidflow_schemas import CrossingCreate, CrossingStatusCreate
from cmcc.humanitarian.domain import CrossingStatus
from cmcc.humanitarian.models import Crossing, CrossingStatusChange


def coordinator(principal: Principal) -> int:
    """Crossings, their status, aid flow figures and targets are the centre's to record
    (`coordinate_humanitarian`); the id of the organization that will own the record."""
    require(principal, Permission.COORDINATE_HUMANITARIAN)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can record crossings and aid flow")
    return principal.org_id


def referenced_crossing(session: Session, viewer: Viewer, crossing_id: int, field: str) -> Crossing:
    """A crossing named in a request: missing or not released to the caller is a 422 on that
    field (one answer for both)."""
    found = session.scalars(visible(Crossing, viewer, Crossing.id == crossing_id)).one_or_none()
    if found is None:
        raise InvalidInput.field(field, f"no crossing {crossing_id} that you may see")
    return found


# ---- crossings ------------------------------------------------------------------------------


def create_crossing(session: Session, principal: Principal, data: CrossingCreate) -> Crossing:
    owner = coordinator(principal)
    code = data.code.upper()
    if session.scalar(select(Crossing.id).where(Crossing.code == code)) is not None:
        raise Conflict(f"code {code!r} is taken", [])
    crossing = Crossing(
        **data.model_dump(exclude={"releasability", "code"}), code=code, owner_org_id=owner
    )
    crossing.marking = resolve_marking(session, data.releasability)
    session.add(crossing)
    session.flush()
    return crossing


def get_crossing(session: Session, principal: Principal, crossing_id: int) -> Crossing:
    return get_visible(session, Crossing, crossing_id, principal.viewer)


def crossing_statement(viewer: Viewer) -> Select[Crossing]:
    return visible(Crossing, viewer)


def crossings_by_code(
    session: Session, viewer: Viewer, codes: Sequence[str]
) -> dict[str, Crossing]:
    """The crossings of these codes (any case) that the viewer may see, by upper-case code."""
    wanted = {c.strip().upper() for c in codes}
    stmt = visible(Crossing, viewer, Crossing.code.in_(wanted))
    return {c.code: c for c in session.scalars(stmt)}


# ---- status changes -------------------------------------------------------------------------


def record_status(
    session: Session, principal: Principal, data: CrossingStatusCreate
) -> CrossingStatusChange:
    """A new status of the crossing from `since` on; the earlier changes stay as they were."""
    owner = coordinator(principal)
    crossing = referenced_crossing(session, principal.viewer, data.crossing_id, "body.crossing_id")
    if data.status is CrossingStatus.RESTRICTED_HOURS and not data.hours:
        raise InvalidInput.field("body.hours", "give the opening hours of restricted_hours")
    if data.status is not CrossingStatus.RESTRICTED_HOURS and data.hours:
        raise InvalidInput.field("body.hours", f"a status {data.status.value} has no hours")
    same_moment = select(CrossingStatusChange.id).where(
        CrossingStatusChange.crossing_id == crossing.id, CrossingStatusChange.since == data.since
    )
    if session.scalar(same_moment) is not None:
        raise Conflict(
            f"crossing {crossing.code} has a status change at {data.since.isoformat()} already; "
            "a later change replaces it from its own moment",
            [],
        )
    change = CrossingStatusChange(
        **data.model_dump(exclude={"releasability", "status"}),
        status=data.status.value,
        owner_org_id=owner,
    )
    change.marking = resolve_marking(session, data.releasability)
    session.add(change)
    session.flush()
    picture_changed(session, "crossing_status", change.id)  # re-check the advisories
    return change


def get_status(session: Session, principal: Principal, status_id: int) -> CrossingStatusChange:
    return get_visible(session, CrossingStatusChange, status_id, principal.viewer)


def status_statement(
    viewer: Viewer,
    *,
    crossing_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> Select[CrossingStatusChange]:
    """The status changes the viewer may see. With `start`: the changes in force at some
    moment of [start, end): for each crossing the last one it may see from before `start`
    (in force at `start`), then those that begin inside the period."""
    stmt = visible(CrossingStatusChange, viewer)
    if crossing_id is not None:
        stmt = stmt.where(CrossingStatusChange.crossing_id == crossing_id)
    if end is not None:
        stmt = stmt.where(CrossingStatusChange.since < end)
    if start is not None:
        prior = aliased(CrossingStatusChange)
        in_force = (
            select(func.max(prior.since))
            .where(
                prior.crossing_id == CrossingStatusChange.crossing_id,
                prior.since <= start,
                release_filter(prior, viewer),
            )
            .scalar_subquery()
        )
        stmt = stmt.where(
            or_(CrossingStatusChange.since > start, CrossingStatusChange.since == in_force)
        )
    return stmt


def status_during(
    session: Session, viewer: Viewer, crossing_id: int, start: dt.datetime, end: dt.datetime
) -> list[CrossingStatusChange]:
    """The crossing's status changes in force at any moment of [start, end), oldest first, as
    the viewer may see them (the deconfliction advisories warn a movement through a crossing
    that is closed or on restricted hours during its window)."""
    stmt = status_statement(viewer, crossing_id=crossing_id, start=start, end=end)
    return list(session.scalars(stmt.order_by(CrossingStatusChange.since)))


def current_statuses(
    session: Session, viewer: Viewer, at: dt.datetime, crossing_ids: Sequence[int] | None = None
) -> dict[int, CrossingStatusChange]:
    """Each crossing's status in force at `at`, of the changes the viewer may see."""
    later = aliased(CrossingStatusChange)
    superseded = (
        select(later.id)
        .where(
            later.crossing_id == CrossingStatusChange.crossing_id,
            later.since > CrossingStatusChange.since,
            later.since <= at,
            release_filter(later, viewer),
        )
        .exists()
    )
    stmt = visible(CrossingStatusChange, viewer, CrossingStatusChange.since <= at, ~superseded)
    if crossing_ids is not None:
        stmt = stmt.where(CrossingStatusChange.crossing_id.in_(list(crossing_ids)))
    return {c.crossing_id: c for c in session.scalars(stmt)}


def history_until(changes: Sequence[CrossingStatusChange]) -> list[dt.datetime | None]:
    """For changes ordered by crossing and moment: when each ends (the next change of its
    crossing), None for the one in force."""
    out: list[dt.datetime | None] = []
    for i, change in enumerate(changes):
        nxt = changes[i + 1] if i + 1 < len(changes) else None
        out.append(nxt.since if nxt is not None and nxt.crossing_id == change.crossing_id else None)
    return out
