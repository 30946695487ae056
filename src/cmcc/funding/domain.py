"""Reconstruction funding: the vocabularies, the project workflow, the start rule's refusal and
the totals rule (no double counting). Pure rules: no FastAPI, no SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from cmcc.core.errors import InvalidInput, TransitionRefused

CENT = Decimal("0.01")
RATE_PLACES = 10  # an exchange rate keeps ten decimals
RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)


class ProjectStatus(StrEnum):
    PIPELINE = "pipeline"  # planned, funded or not, not started
    IN_PROGRESS = "in_progress"  # works under way: only in a cleared area, clear of hazards
    COMPLETED = "completed"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


class FlowStatus(StrEnum):
    """The FTS stages: a pledge (non-binding) -> a commitment (legal obligation) -> paid."""

    PLEDGE = "pledge"
    COMMITMENT = "commitment"
    PAID = "paid"


# The stage a flow of each status converts (fulfils), if any.
FULFILS: dict[FlowStatus, FlowStatus | None] = {
    FlowStatus.PLEDGE: None,
    FlowStatus.COMMITMENT: FlowStatus.PLEDGE,
    FlowStatus.PAID: FlowStatus.COMMITMENT,
}

PROJECT_STEPS: dict[ProjectStatus, frozenset[ProjectStatus]] = {
    ProjectStatus.PIPELINE: frozenset(
        {ProjectStatus.IN_PROGRESS, ProjectStatus.SUSPENDED, ProjectStatus.CANCELLED}
    ),
    ProjectStatus.IN_PROGRESS: frozenset(
        {ProjectStatus.COMPLETED, ProjectStatus.SUSPENDED, ProjectStatus.CANCELLED}
    ),
    ProjectStatus.SUSPENDED: frozenset(
        {ProjectStatus.PIPELINE, ProjectStatus.IN_PROGRESS, ProjectStatus.CANCELLED}
    ),
    ProjectStatus.COMPLETED: frozenset(),
    ProjectStatus.CANCELLED: frozenset(),
}


def phase_label(plan_code: str, number: int, title: str) -> str:
    """How a phase is named in reports: `PSE-RRP-2025 phase 1: Early recovery`. A title that
    starts with its own number ("Phase 1: early recovery") does not say it twice."""
    own = re.match(rf"\s*phase\s+{number}\b\s*[:.\-\u2013\u2014]?\s*", title, flags=re.IGNORECASE)
    rest = title[own.end() :] if own else title
    rest = rest[:1].upper() + rest[1:]
    return f"{plan_code} phase {number}: {rest}" if rest else f"{plan_code} phase {number}"


def check_step(current: ProjectStatus, to: ProjectStatus) -> None:
    if to not in PROJECT_STEPS[current]:
        allowed = ", ".join(sorted(s.value for s in PROJECT_STEPS[current])) or "none (final)"
        raise TransitionRefused(
            f"a project cannot go from {current.value} to {to.value}; allowed: {allowed}"
        )


def check_start_site(
    covered: bool, partly_in: list[str], hazard_refs: list[str], unreleased: int
) -> None:
    """The mission's rule: a project starts only where its location lies inside cleared areas
    (`covered`) and touches no open hazard area. `partly_in` names the cleared areas the caller
    may see that the location overlaps; `hazard_refs` the open hazards the caller may see, and
    `unreleased` counts the others (counted, never named)."""
    reasons = []
    if not covered:
        where = f" (it lies only partly in {', '.join(partly_in)})" if partly_in else ""
        reasons.append(f"the project's location is not inside any cleared area{where}")
    if hazard_refs or unreleased:
        named = ", ".join(hazard_refs)
        if unreleased:
            more = f"{unreleased} hazard area(s) not released to you"
            named = f"{named} and {more}" if named else more
        reasons.append(f"it touches open hazard areas ({named})")
    if reasons:
        raise TransitionRefused(f"the project may not start: {'; '.join(reasons)}")


def check_period(start: dt.date | None, end: dt.date | None, end_field: str) -> None:
    if start is not None and end is not None and end < start:
        raise InvalidInput.field(end_field, f"{end.isoformat()} is before {start.isoformat()}")


def usd(amount: Decimal, rate: Decimal) -> Decimal:
    """The USD amount of `amount` at `rate`, to the cent (banker's rounding)."""
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)


def implied_rate(amount: Decimal, amount_usd: Decimal) -> Decimal:
    return (amount_usd / amount).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class StageFlow:
    """A current flow as the totals rule sees it: its lineage, stage, USD amount, and the
    lineage of the flow of the previous stage it converts."""

    lineage_id: int
    status: FlowStatus
    amount_usd: Decimal
    fulfils: int | None


def outstanding(flows: Iterable[StageFlow]) -> dict[int, Decimal]:
    """The part of each flow that no flow of the next stage converts (reference rule, the SQL
    reports compute the same): a payment counts whole; a commitment counts for its amount less
    the payments that fulfil it, a pledge for its amount less the commitments that fulfil it,
    each floored at 0. The sum of these parts is the total funding: never double counted."""
    items = list(flows)
    converted: dict[int, Decimal] = {}
    for f in items:
        if f.fulfils is not None:
            converted[f.fulfils] = converted.get(f.fulfils, Decimal(0)) + f.amount_usd
    out = {}
    for f in items:
        if f.status is FlowStatus.PAID:
            out[f.lineage_id] = f.amount_usd
        else:
            out[f.lineage_id] = max(Decimal(0), f.amount_usd - converted.get(f.lineage_id, 0))
    return out


def disbursement_rate(paid: Decimal, committed: Decimal) -> Decimal | None:
    """Paid / committed, four decimals (None without commitments)."""
    if committed <= 0:
        return None
    return (paid / committed).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def conversion_terms(amount: int, converted: dict[str, int]) -> dict[frozenset[str], int]:
    """A pledge's or commitment's outstanding part, split so that it adds up per caller: the
    converting flows' cents per marking (`converted`), and the terms {set of markings: cents}
    such that, for a caller who may see the markings S, the sum of the terms whose set lies
    within S is max(0, amount - the cents of S): the floor of the totals rule, exactly.

    The empty set carries the amount; a marking alone takes off what it converts (no more than
    the amount). Terms of two or more markings appear only when the conversions together pass
    the amount (the floor then depends on which of them the caller sees): they are the Moebius
    inversion of the floored remainders over the subsets of the markings."""
    items = sorted((m, c) for m, c in converted.items() if c)
    if sum(c for _, c in items) <= amount:
        terms: dict[frozenset[str], int] = {frozenset(): amount}
        terms.update({frozenset([m]): -c for m, c in items})
        return {k: v for k, v in terms.items() if v}
    n = len(items)
    # f[mask]: the floored remainder for a caller who sees the markings in mask
    g = [
        max(0, amount - sum(c for i, (_, c) in enumerate(items) if mask >> i & 1))
        for mask in range(1 << n)
    ]
    for i in range(n):  # Moebius inversion over the subset lattice
        for mask in range(1 << n):
            if mask >> i & 1:
                g[mask] -= g[mask ^ (1 << i)]
    return {
        frozenset(m for i, (m, _) in enumerate(items) if mask >> i & 1): v
        for mask, v in enumerate(g)
        if v
    }
