"""The reference computation of the funding summary's figures: one GROUP BY over the current
flows through the release policy, with their maintained `converted_usd` less the per-lineage
sums of the converting flows hidden from the caller (a join). The service reads the totals kept
per marking instead (`cmcc.funding.totals`, `reports.grouped`); this is what the property test
and the benchmark compare them with. Not used by the endpoint or the CLI."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, case, func, not_, select, type_coerce
from sqlalchemy.orm import Session, aliased

from cmcc.access.models import Organization
from cmcc.access.policy import release_filter
from cmcc.core.releasability import Viewer
from cmcc.funding.domain import FlowStatus
from cmcc.funding.models import Flow, Programme
from cmcc.funding.reports import GroupBy, Summary, fold, summarize, usd


def hidden_conversions(session: Session, viewer: Viewer, donor_org_id: int | None) -> bool:
    """Whether a current converting flow (of the donor, if one) is not released to the caller:
    one EXISTS, through the release policy negated. A converting flow has its parent's donor."""
    if viewer.sees_all:
        return False
    stmt = select(Flow.id).where(
        Flow.is_current.is_(True),
        Flow.fulfils_id.is_not(None),
        not_(release_filter(Flow, viewer)),
    )
    if donor_org_id is not None:
        stmt = stmt.where(Flow.donor_org_id == donor_org_id)
    return bool(session.scalar(select(stmt.exists())))


def _figures(
    session: Session, viewer: Viewer, donor_org_id: int | None
) -> tuple[list[ColumnElement[Any]], Any]:
    """The five sums, and the subquery they join (None: none to join). A converting flow
    reduces its parent only for a caller who may see it. When the caller may see every current
    converting flow (the operator always), each flow's maintained `converted_usd` is the
    converted part; otherwise that less the per-lineage sums of the converting flows hidden
    from the caller."""
    done: Any = type_coerce(Flow.converted_usd, BigInteger)
    hidden = None
    if hidden_conversions(session, viewer, donor_org_id):
        other = aliased(Flow)
        hidden = (
            select(
                other.fulfils_id.label("lineage"),
                func.sum(type_coerce(other.amount_usd, BigInteger)).label("cents"),
            )
            .where(
                other.is_current.is_(True),
                other.fulfils_id.is_not(None),
                not_(release_filter(cast(Any, other), viewer)),
            )
            .group_by(other.fulfils_id)
            .subquery()
        )
        done = done - func.coalesce(hidden.c.cents, 0)
    cents = type_coerce(Flow.amount_usd, BigInteger)
    rest = case((cents > done, cents - done), else_=0)

    def stage(status: FlowStatus, value: Any) -> ColumnElement[Any]:
        return func.sum(case((Flow.status == status.value, value), else_=0))

    sums = [
        stage(FlowStatus.PLEDGE, cents),
        stage(FlowStatus.COMMITMENT, cents),
        stage(FlowStatus.PAID, cents),
        stage(FlowStatus.PLEDGE, rest),
        stage(FlowStatus.COMMITMENT, rest),
    ]
    return sums, hidden


def _key(by: GroupBy) -> Any:
    """The raw column each grouping groups by: each leads a covering index
    (`ix_funding_flows_report_*`), which the GROUP BY reads in order, without the table or a
    sort. The donor's code and name, the DAC code and the month are derived afterwards."""
    if by is GroupBy.DONOR:
        return Flow.donor_org_id
    if by is GroupBy.PHASE:
        return Flow.phase_id
    if by is GroupBy.SECTOR:
        return Flow.programme_id
    return Flow.flow_date


def grouped(
    session: Session,
    viewer: Viewer,
    by: GroupBy,
    *,
    donor_org_id: int | None = None,
    plan_id: int | None = None,
) -> list[tuple[tuple[Any, ...], list[Any]]]:
    """[(group key values, [pledged, committed, paid, outstanding pledges, unpaid
    commitments])] for the current flows the viewer may see. Keys: (donor code, donor name),
    (phase id,), (DAC code,) or (year, month)."""
    sums, hidden = _figures(session, viewer, donor_org_id)
    key = _key(by)
    stmt = select(key, *sums).select_from(Flow)
    if hidden is not None:
        stmt = stmt.outerjoin(hidden, hidden.c.lineage == Flow.lineage_id)
    stmt = stmt.where(Flow.is_current.is_(True), release_filter(Flow, viewer))
    if donor_org_id is not None:
        stmt = stmt.where(Flow.donor_org_id == donor_org_id)
    if plan_id is not None:
        stmt = stmt.where(Flow.plan_id == plan_id)
    groups = [(row[0], [usd(v) for v in row[1:]]) for row in session.execute(stmt.group_by(key))]
    if by is GroupBy.PHASE:
        return [((raw,), f) for raw, f in groups]
    if by is GroupBy.MONTH:
        return fold(groups, {raw: (raw.year, raw.month) for raw, _ in groups})
    ids = [raw for raw, _ in groups if raw is not None]
    label: dict[Any, Any] = {None: (None, None) if by is GroupBy.DONOR else None}
    if by is GroupBy.DONOR:
        donors = select(Organization.id, Organization.code, Organization.name)
        for id_, code, name in session.execute(donors.where(Organization.id.in_(ids))):
            label[id_] = (code, name)
    else:
        sectors = select(Programme.id, Programme.dac_code).where(Programme.id.in_(ids))
        for id_, dac_code in session.execute(sectors):
            label[id_] = dac_code
    return fold(groups, label)


def summary(
    session: Session,
    viewer: Viewer,
    by: GroupBy = GroupBy.DONOR,
    *,
    donor_org_id: int | None = None,
    donor_code: str | None = None,
    plan_id: int | None = None,
) -> Summary:
    """`reports.summary` computed over the flows (the previous path)."""
    groups = grouped(session, viewer, by, donor_org_id=donor_org_id, plan_id=plan_id)
    return summarize(session, viewer, by, groups, donor_code=donor_code, plan_id=plan_id)
