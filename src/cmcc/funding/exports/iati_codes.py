"""The IATI 2.03 codes the export uses, and how the platform's vocabularies map to them. Pure
rules: no database, no XML (the tables are repeated in docs/modules/funding.md, "Exports").

Transactions are written from the point of view of the reporting organisation, the owner of
the plan (accountable for it): a donor's flow to the plan, a phase or a sector programme comes
IN (13 incoming pledge, 11 incoming commitment, 1 incoming funds); a flow to a project comes in
the same way and goes OUT again to the project's implementing organization (12 outgoing pledge,
2 outgoing commitment, 3 disbursement). Code 4 (expenditure) is not written: the platform
records what is paid to a project, not what the project spends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal

from cmcc.access.domain import OrgKind
from cmcc.funding.domain import CENT, FlowStatus, ProjectStatus

VERSION = "2.03"
RECIPIENT_COUNTRY = "PS"  # ISO 3166-1 alpha-2, the IATI Country codelist
SECTOR_VOCABULARY_DAC = "1"  # OECD DAC CRS purpose codes, 5 digits
WGS84 = "http://www.opengis.net/def/crs/EPSG/0/4326"

# OrganisationRole
ROLE_FUNDING = "1"
ROLE_ACCOUNTABLE = "2"
ROLE_IMPLEMENTING = "4"

# ActivityDateType
PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END = "1", "2", "3", "4"

# RelatedActivityType
RELATED_PARENT, RELATED_CHILD = "1", "2"

# BudgetType 1 original, BudgetStatus 1 indicative
BUDGET_ORIGINAL, BUDGET_INDICATIVE = "1", "1"

# LocationReach 1 (the activity happens here); GeographicExactness 1 exact, 2 approximate
REACH_ACTIVITY, EXACT, APPROXIMATE = "1", "1", "2"

# ActivityStatus: 1 pipeline, 2 implementation, 3 finalisation, 4 closed, 5 cancelled,
# 6 suspended. A completed project is 3: the works are done, flows may still be reported.
PROJECT_STATUS: dict[ProjectStatus, str] = {
    ProjectStatus.PIPELINE: "1",
    ProjectStatus.IN_PROGRESS: "2",
    ProjectStatus.COMPLETED: "3",
    ProjectStatus.CANCELLED: "5",
    ProjectStatus.SUSPENDED: "6",
}

# TransactionType, by flow status, seen from the reporting organisation.
INCOMING: dict[FlowStatus, str] = {
    FlowStatus.PLEDGE: "13",
    FlowStatus.COMMITMENT: "11",
    FlowStatus.PAID: "1",
}
OUTGOING: dict[FlowStatus, str] = {
    FlowStatus.PLEDGE: "12",
    FlowStatus.COMMITMENT: "2",
    FlowStatus.PAID: "3",
}

# OrganisationType: 10 government, 21 international NGO, 40 multilateral, 90 other.
ORG_TYPE: dict[OrgKind, str] = {
    OrgKind.NATION: "10",
    OrgKind.ISF_HQ: "40",
    OrgKind.CMCC: "40",
    OrgKind.UN_AGENCY: "40",
    OrgKind.NGO: "21",
    OrgKind.DONOR: "90",
    OrgKind.OTHER: "90",
}
HUNDRED = Decimal(100)
PERCENT = Decimal("0.01")


def org_type(kind: str) -> str:
    try:
        return ORG_TYPE[OrgKind(kind)]
    except ValueError:
        return ORG_TYPE[OrgKind.OTHER]


def period_status(start: dt.date, end: dt.date, today: dt.date) -> str:
    """The ActivityStatus of a plan or a phase, from its period: 1 before it starts,
    2 while it runs, 3 once it has ended."""
    if today < start:
        return "1"
    return "2" if today <= end else "3"


def sector_shares(programmes: Iterable[tuple[str, Decimal | None]]) -> list[tuple[str, Decimal]]:
    """Percentages per DAC code of a set of programmes (code, budget): by budget when every
    programme has one and they add up to more than 0, otherwise one equal share per programme.
    Two decimals; the largest share takes the rounding so that the shares add up to 100."""
    items = list(programmes)
    if not items:
        return []
    budgets = [b for _, b in items]
    by_budget = all(b is not None for b in budgets) and sum(b or 0 for b in budgets) > 0
    weights: dict[str, Decimal] = {}
    for code, budget in items:
        weight = (budget or Decimal(0)) if by_budget else Decimal(1)
        weights[code] = weights.get(code, Decimal(0)) + weight
    total = sum(weights.values(), Decimal(0))
    shares = {
        code: (w * HUNDRED / total).quantize(PERCENT, rounding=ROUND_HALF_EVEN)
        for code, w in weights.items()
        if w > 0
    }
    largest = max(shares, key=lambda c: (shares[c], c))
    shares[largest] += HUNDRED - sum(shares.values(), Decimal(0))
    return sorted(shares.items())


def amount_text(amount: Decimal) -> str:
    """An amount as IATI and the CSV files write it: plain decimal, two places, no exponent."""
    return format(amount.quantize(CENT), "f")
