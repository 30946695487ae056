"""Funding reports, summed in SQL from the converted totals kept per marking, through the
release policy, exact to the cent.

Totals count current versions only, and never count the same money twice: a payment counts
whole; a commitment counts for its amount less the payments that convert it, a pledge for its
amount less the commitments that convert it, each floored at 0 (`domain.outstanding` is the
same rule in Python). A converting flow counts only when the caller may see it. The figures come
from `funding_totals` (kept by `cmcc.funding.totals` on every write): the rows whose flows'
marking and converting flows' markings the caller may see, whoever the caller, without a pass
over the flows (`cmcc.funding.reference` is the computation over the flows, for the tests and
the benchmark). Sums run on whole cents (BIGINT) and become Decimal at the end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    case,
    func,
    not_,
    select,
)
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.access.policy import release_filter
from cmcc.core.releasability import Viewer
from cmcc.funding import domain
from cmcc.funding.dac import dac_name
from cmcc.funding.domain import FlowStatus, phase_label
from cmcc.funding.models import Phase, Programme, Total, TotalMarking

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


def usd(cents: Any) -> Decimal:
    return (Decimal(int(cents or 0)) * domain.CENT).quantize(domain.CENT)


# the rows a grouping reads (by donor: the phase rows, summed per donor)
_GROUPING = {
    GroupBy.DONOR: "phase",
    GroupBy.PHASE: "phase",
    GroupBy.SECTOR: "sector",
    GroupBy.MONTH: "month",
}
_STAGES = (FlowStatus.PLEDGE.value, FlowStatus.COMMITMENT.value, FlowStatus.PAID.value)


def fold(
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


def _sums(
    session: Session,
    viewer: Viewer,
    by: GroupBy,
    donor_org_id: int | None,
    plan_id: int | None,
) -> list[tuple[Any, list[Decimal]]]:
    """[(raw key, [pledged, committed, paid, outstanding pledges, unpaid commitments])] from the
    totals kept per marking: the rows whose flows' marking and converting flows' markings the
    caller may see (the release policy on the sets' markings), summed per raw key and status.
    The amounts are the rows without conversions; the outstanding parts every visible row."""
    column = Total.donor_org_id if by is GroupBy.DONOR else Total.group_key
    stmt = select(
        column,
        Total.status,
        func.sum(case((Total.conversions == "", Total.cents), else_=0)),
        func.sum(Total.cents),
    ).where(Total.grouping == _GROUPING[by])
    if not viewer.sees_all:
        hidden = select(TotalMarking.set_key).where(not_(release_filter(TotalMarking, viewer)))
        stmt = stmt.where(Total.marking.not_in(hidden), Total.conversions.not_in(hidden))
    if donor_org_id is not None:
        stmt = stmt.where(Total.donor_org_id == donor_org_id)
    if plan_id is not None:
        stmt = stmt.where(Total.plan_id == plan_id)
    figures: dict[Any, list[int]] = {}
    for raw, status, amount, rest in session.execute(stmt.group_by(column, Total.status)):
        sums = figures.setdefault(raw, [0, 0, 0, 0, 0])
        stage = _STAGES.index(status)
        sums[stage] += int(amount or 0)
        if stage < 2:
            sums[3 + stage] += int(rest or 0)
    return [(raw, [usd(v) for v in sums]) for raw, sums in figures.items()]


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
    groups = _sums(session, viewer, by, donor_org_id, plan_id)
    if by is GroupBy.PHASE:
        return [((raw or None,), f) for raw, f in groups]
    if by is GroupBy.MONTH:
        return fold(groups, {raw: divmod(raw, 100) for raw, _ in groups})
    ids = [raw for raw, _ in groups if raw]
    label: dict[Any, Any] = {0: None}
    if by is GroupBy.DONOR:
        donors = select(Organization.id, Organization.code, Organization.name)
        for id_, code, name in session.execute(donors.where(Organization.id.in_(ids))):
            label[id_] = (code, name)
    else:
        sectors = select(Programme.id, Programme.dac_code).where(Programme.id.in_(ids))
        for id_, dac_code in session.execute(sectors):
            label[id_] = dac_code
    return fold(groups, label)


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
    return summarize(session, viewer, by, groups, donor_code=donor_code, plan_id=plan_id)


def summarize(
    session: Session,
    viewer: Viewer,
    by: GroupBy,
    groups: list[tuple[tuple[Any, ...], list[Decimal]]],
    *,
    donor_code: str | None = None,
    plan_id: int | None = None,
) -> Summary:
    """The summary's rows and total from the figures per group (`grouped`)."""
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
