"""Funding reports, computed in SQL (GROUP BY) through the release policy, exact to the cent.

Totals count current versions only, and never count the same money twice: a payment counts
whole; a commitment counts for its amount less the payments that convert it, a pledge for its
amount less the commitments that convert it, each floored at 0 (`domain.outstanding` is the
same rule in Python). A converting flow counts only when the caller may see it: each flow keeps
the converted USD of its lineage (`converted_usd`, maintained by `cmcc.funding.flows`), used as
is when the caller may see every current converting flow, less the hidden ones' per-lineage
sums otherwise. Sums run on the stored whole cents (BIGINT) and become Decimal at the end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    case,
    func,
    not_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased

from cmcc.access.models import Organization
from cmcc.access.policy import release_filter
from cmcc.core.releasability import Viewer
from cmcc.funding import domain
from cmcc.funding.dac import dac_name
from cmcc.funding.domain import FlowStatus, phase_label
from cmcc.funding.models import Flow, Phase, Programme

ZERO = Decimal("0.00")


class GroupBy(StrEnum):
    DONOR = "donor"
    PHASE = "phase"
    SECTOR = "sector"
    MONTH = "month"


@dataclass(frozen=True)
class Row:
    key: str | None
    label: str
    pledged_usd: Decimal
    committed_usd: Decimal
    paid_usd: Decimal
    outstanding_pledges_usd: Decimal
    unpaid_commitments_usd: Decimal
    budget_usd: Decimal | None = None

    @property
    def funded_usd(self) -> Decimal:
        return self.paid_usd + self.unpaid_commitments_usd

    @property
    def total_usd(self) -> Decimal:
        return self.funded_usd + self.outstanding_pledges_usd

    @property
    def disbursement_rate(self) -> Decimal | None:
        return domain.disbursement_rate(self.paid_usd, self.committed_usd)

    @property
    def gap_usd(self) -> Decimal | None:
        if self.budget_usd is None:
            return None
        return max(ZERO, self.budget_usd - self.funded_usd)


@dataclass(frozen=True)
class Summary:
    by: GroupBy
    donor: str | None
    rows: list[Row]
    total: Row


def _usd(cents: Any) -> Decimal:
    return (Decimal(int(cents or 0)) * domain.CENT).quantize(domain.CENT)


def _hidden_conversions(session: Session, viewer: Viewer, donor_org_id: int | None) -> bool:
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
    if _hidden_conversions(session, viewer, donor_org_id):
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


def _fold(
    groups: Sequence[tuple[Any, list[Decimal]]], label: dict[Any, Any]
) -> list[tuple[tuple[Any, ...], list[Decimal]]]:
    """The groups of raw keys summed per derived key (`label[raw]`), exactly (Decimal)."""
    folded: dict[Any, list[Decimal]] = {}
    for raw, figures in groups:
        key = label[raw]
        sums = folded.get(key)
        if sums is not None:
            figures = [a + b for a, b in zip(sums, figures, strict=True)]
        folded[key] = figures
    return [(key if isinstance(key, tuple) else (key,), f) for key, f in folded.items()]


def grouped(
    session: Session,
    viewer: Viewer,
    by: GroupBy,
    *,
    donor_org_id: int | None = None,
    plan_id: int | None = None,
) -> list[tuple[tuple[Any, ...], list[Decimal]]]:
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
    groups = [(row[0], [_usd(v) for v in row[1:]]) for row in session.execute(stmt.group_by(key))]
    if by is GroupBy.PHASE:
        return [((raw,), f) for raw, f in groups]
    if by is GroupBy.MONTH:
        return _fold(groups, {raw: (raw.year, raw.month) for raw, _ in groups})
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
    return _fold(groups, label)


def _row(key: str | None, label: str, figures: Sequence[Decimal]) -> Row:
    return Row(key, label, *figures)


def _empty(key: str | None, label: str, budget: Decimal | None = None) -> Row:
    return Row(key, label, ZERO, ZERO, ZERO, ZERO, ZERO, budget)


def summary(
    session: Session,
    viewer: Viewer,
    by: GroupBy = GroupBy.DONOR,
    *,
    donor_org_id: int | None = None,
    donor_code: str | None = None,
    plan_id: int | None = None,
) -> Summary:
    """Pledged / committed / paid and the outstanding parts per donor, phase (with the budget
    and the funding gap), sector (DAC code) or month, and the overall total."""
    groups = grouped(session, viewer, by, donor_org_id=donor_org_id, plan_id=plan_id)
    rows: list[Row] = []
    if by is GroupBy.DONOR:
        rows = [_row(k[0], k[1], f) for k, f in sorted(groups, key=lambda g: g[0][0])]
    elif by is GroupBy.SECTOR:
        ordered = sorted(groups, key=lambda g: g[0][0] or "")
        rows = [_row(k[0], dac_name(k[0]) or "no sector", f) for k, f in ordered]
    elif by is GroupBy.MONTH:
        rows = [_row(f"{y:04d}-{m:02d}", "", f) for (y, m), f in sorted(groups)]
    else:
        rows = _phase_rows(session, viewer, dict(groups), plan_id)
    total = _empty(None, "total")
    for row in rows:
        total = _add(total, row)
    return Summary(by, donor_code, rows, total)


def _add(total: Row, row: Row) -> Row:
    budget = total.budget_usd
    if row.budget_usd is not None:
        budget = (budget or ZERO) + row.budget_usd
    return replace(
        total,
        pledged_usd=total.pledged_usd + row.pledged_usd,
        committed_usd=total.committed_usd + row.committed_usd,
        paid_usd=total.paid_usd + row.paid_usd,
        outstanding_pledges_usd=total.outstanding_pledges_usd + row.outstanding_pledges_usd,
        unpaid_commitments_usd=total.unpaid_commitments_usd + row.unpaid_commitments_usd,
        budget_usd=budget,
    )


def _phase_rows(
    session: Session,
    viewer: Viewer,
    groups: dict[tuple[Any, ...], list[Decimal]],
    plan_id: int | None,
) -> list[Row]:
    """Every phase the viewer may see (with its budget and gap, funded or not), then the
    flows to a plan without a phase."""
    stmt = select(Phase).where(release_filter(Phase, viewer))
    if plan_id is not None:
        stmt = stmt.where(Phase.plan_id == plan_id)
    rows = []
    for phase in session.scalars(stmt.order_by(Phase.plan_id, Phase.number)):
        figures = groups.pop((phase.id,), None)
        label = phase_label(phase.plan.code, phase.number, phase.title)
        key = f"{phase.plan.code}:P{phase.number}"
        row = _empty(key, label, phase.budget_usd)
        if figures is not None:
            row = replace(_row(key, label, figures), budget_usd=phase.budget_usd)
        rows.append(row)
    for (phase_id,), figures in sorted(groups.items(), key=lambda g: g[0][0] or 0):
        # flows to no phase, or to a phase the viewer may not see: counted, never named
        label = "no phase" if phase_id is None else "a phase not released to you"
        rows.append(_row(None, label, figures))
    return _merge_unnamed(rows)


def _merge_unnamed(rows: list[Row]) -> list[Row]:
    named = [r for r in rows if r.key is not None]
    unnamed: dict[str, Row] = {}
    for r in rows:
        if r.key is None:
            unnamed[r.label] = _add(unnamed[r.label], r) if r.label in unnamed else r
    return named + list(unnamed.values())
