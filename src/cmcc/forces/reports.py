"""Force generation reports: gaps by capability, strength projection, contribution totals.

Every figure is computed from records the caller may see: the release filter is part of each
query, so a report never counts what its reader could not open.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from cmcc.access.policy import release_filter
from cmcc.core.clock import add_months
from cmcc.core.errors import InvalidInput
from cmcc.core.releasability import Viewer
from cmcc.forces import domain
from cmcc.forces.models import Contribution, ForceTarget, Pledge, Requirement, State
from cmcc.forces.schemas import ContributionTotal, GapReport, GapRow

MAX_POINTS = 5000  # points of one projection (a century of weeks)
MAX_START = dt.date(9997, 12, 31)  # the default end, 24 months on, must be a date
INACTIVE = [s.value for s in domain.INACTIVE_STEPS]


def _state_join(viewer: Viewer) -> ColumnElement[bool]:
    """Join a pledge to its state only where the reader may see the state's pipeline status;
    otherwise the status is unknown (the pledge counts as pledged, not committed)."""
    return and_(State.id == Pledge.state_id, release_filter(State, viewer))


_STATUS = func.coalesce(State.status, "unknown")
READY = [lvl.value for lvl in domain.GAP_CLOSING_LEVELS]


def gap_report(session: Session, viewer: Viewer) -> GapReport:
    """Per capability: what the SURs require, what pledges fill it, and the gap that remains
    until pledges at Level 3 or better are matched."""
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    required = (
        select(
            Requirement.capability,
            func.sum(Requirement.units),
            func.sum(Requirement.units * Requirement.strength_per_unit),
        )
        .where(release_filter(Requirement, viewer))
        .group_by(Requirement.capability)
    )
    for cap, units, strength in session.execute(required):
        rows[cap]["required_units"] += int(units)
        rows[cap]["required_strength"] += int(strength)

    ready = case((Pledge.readiness.in_(READY), 1), else_=0)
    active = _STATUS.not_in(INACTIVE)
    matched = (
        select(Requirement.capability, ready, func.sum(Pledge.units), func.sum(Pledge.strength))
        .select_from(Pledge)
        .join(Requirement, Requirement.id == Pledge.requirement_id)
        .outerjoin(State, _state_join(viewer))
        .where(release_filter(Pledge, viewer), release_filter(Requirement, viewer), active)
        .group_by(Requirement.capability, ready)
    )
    for cap, is_ready, units, strength in session.execute(matched):
        rows[cap]["matched_units"] += int(units)
        rows[cap]["matched_strength"] += int(strength)
        if is_ready:
            rows[cap]["ready_units"] += int(units)
            rows[cap]["ready_strength"] += int(strength)

    unmatched = (
        select(Pledge.capability, func.sum(Pledge.units), func.sum(Pledge.strength))
        .outerjoin(State, _state_join(viewer))
        .where(release_filter(Pledge, viewer), Pledge.requirement_id.is_(None), active)
        .group_by(Pledge.capability)
    )
    for cap, units, strength in session.execute(unmatched):
        rows[cap]["unmatched_pledged_units"] += int(units)
        rows[cap]["unmatched_pledged_strength"] += int(strength)

    out = []
    for cap in sorted(rows, key=lambda c: list(domain.Capability).index(domain.Capability(c))):
        r = rows[cap]
        out.append(
            GapRow(
                capability=domain.Capability(cap),
                required_units=r["required_units"],
                required_strength=r["required_strength"],
                matched_units=r["matched_units"],
                matched_strength=r["matched_strength"],
                ready_units=r["ready_units"],
                ready_strength=r["ready_strength"],
                gap_units=max(0, r["required_units"] - r["ready_units"]),
                gap_strength=max(0, r["required_strength"] - r["ready_strength"]),
                unmatched_pledged_units=r["unmatched_pledged_units"],
                unmatched_pledged_strength=r["unmatched_pledged_strength"],
            )
        )
    return GapReport(
        rows=out,
        total_gap_units=sum(r.gap_units for r in out),
        total_gap_strength=sum(r.gap_strength for r in out),
    )


def deployments(session: Session, viewer: Viewer) -> list[domain.Deployment]:
    """Every visible pledge with a start date, as the projection sees it."""
    stmt = (
        select(
            Pledge.id,
            Pledge.strength,
            func.coalesce(Pledge.deployed_on, Pledge.earliest_deployment),
            Pledge.duration_months,
            Pledge.tour_months,
            State.status,
        )
        .outerjoin(State, _state_join(viewer))
        .where(
            release_filter(Pledge, viewer),
            _STATUS.not_in(INACTIVE),
            func.coalesce(Pledge.deployed_on, Pledge.earliest_deployment).is_not(None),
        )
    )
    committed = {s.value for s in domain.COMMITTED_STEPS}
    return [
        domain.Deployment(
            pledge_id=pid,
            strength=strength,
            start=start,
            end=add_months(start, duration) if duration else None,
            tour_months=tour,
            committed=status in committed,
        )
        for pid, strength, start, duration, tour, status in session.execute(stmt)
    ]


def projection(
    session: Session,
    viewer: Viewer,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    step_days: int = 7,
) -> domain.Projection:
    targets = [
        domain.Target(t.name, t.strength, t.due)
        for t in session.scalars(
            select(ForceTarget).where(release_filter(ForceTarget, viewer)).order_by(ForceTarget.due)
        )
    ]
    deps = deployments(session, viewer)
    today = dt.datetime.now(dt.UTC).date()
    start = start or min([d.start for d in deps] + [today])
    if end is None:
        if start > MAX_START:
            raise InvalidInput.field("query.start", f"give an end with a start after {MAX_START}")
        end = max([t.due for t in targets] + [add_months(start, 24)])
    if end < start:
        raise InvalidInput.field("query.end", f"{end} is before the start ({start})")
    points = (end - start).days // step_days + 1
    if points > MAX_POINTS:
        raise InvalidInput.field(
            "query.end",
            f"{points} points from {start} every {step_days} days; at most {MAX_POINTS} "
            "(a shorter window or a longer step_days)",
        )
    return domain.project(deps, targets, start, end, step_days)


def contribution_totals(session: Session, viewer: Viewer) -> list[ContributionTotal]:
    paid = func.sum(case((Contribution.status == "paid", Contribution.usd_amount), else_=0))
    pledged = func.sum(case((Contribution.status == "pledged", Contribution.usd_amount), else_=0))
    stmt = (
        select(State.iso3, State.name, pledged, paid)
        .join(State, State.id == Contribution.state_id)
        .where(release_filter(Contribution, viewer))
        .group_by(State.iso3, State.name)
        .order_by(State.iso3)
    )
    return [
        ContributionTotal(
            state=iso3, name=name, pledged_usd=Decimal(p or 0), paid_usd=Decimal(q or 0)
        )
        for iso3, name, p, q in session.execute(stmt)
    ]
