"""Web pages: the funding dashboard (pledged / committed / paid by phase and by donor, the
funding gap per phase, disbursement over time)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cmcc.api.deps import SessionDep
from cmcc.funding import reports
from cmcc.funding.reports import GroupBy, Row
from cmcc.web import charts
from cmcc.web.auth import SignedIn
from cmcc.web.templating import render

router = APIRouter(include_in_schema=False)

MILLION = Decimal(1_000_000)
TENTH = Decimal("0.1")


def musd(value: Decimal | None) -> str:
    """USD as millions with one decimal: 121700000.00 -> "121.7"; None -> "n/a"."""
    if value is None:
        return "n/a"
    return f"{(value / MILLION).quantize(TENTH, rounding=ROUND_HALF_UP):,}"


def _m(value: float) -> str:
    return f"{value:,.1f}"


def _millions(value: Decimal | None) -> float:
    return float((value or Decimal(0)) / MILLION)


def _stages(rows: list[Row]) -> list[tuple[str, list[float]]]:
    return [
        ("Pledged", [_millions(r.pledged_usd) for r in rows]),
        ("Committed", [_millions(r.committed_usd) for r in rows]),
        ("Paid", [_millions(r.paid_usd) for r in rows]),
    ]


def cumulative(rows: list[Row]) -> list[tuple[Row, dt.date, Decimal, Decimal]]:
    """(row, first day of the month, committed so far, paid so far) from the by-month rows."""
    out = []
    committed = paid = Decimal(0)
    for r in rows:
        assert r.key is not None
        year, month = (int(part) for part in r.key.split("-"))
        committed += r.committed_usd
        paid += r.paid_usd
        out.append((r, dt.date(year, month, 1), committed, paid))
    return out


@router.get("/funding")
def funding_page(request: Request, session: SessionDep, visitor: SignedIn) -> Response:
    viewer = visitor.principal.viewer
    by_phase = reports.summary(session, viewer, GroupBy.PHASE)
    by_donor = reports.summary(session, viewer, GroupBy.DONOR)
    by_month = reports.summary(session, viewer, GroupBy.MONTH)
    running = cumulative(by_month.rows)

    phase_chart = charts.grouped_bars(
        "phase-stages",
        "Pledged, committed and paid by phase (USD millions)",
        "For each phase of the plan: pledged, committed and paid amounts in USD millions.",
        [r.label for r in by_phase.rows],
        _stages(by_phase.rows),
        fmt=_m,
    )
    gap_rows = [r for r in by_phase.rows if r.gap_usd is not None]
    gap_chart = charts.hbar(
        "phase-gap",
        "Funding gap by phase (USD millions)",
        "Budget less funds committed or paid, for each phase, in USD millions.",
        [(r.label, _millions(r.gap_usd)) for r in gap_rows],
        fmt=_m,
        colour=charts.PALETTE[1],
    )
    donor_chart = charts.grouped_bars(
        "donor-stages",
        "Pledged, committed and paid by donor (USD millions)",
        "For each donor: pledged, committed and paid amounts in USD millions.",
        [f"{r.label} ({r.key})" if r.key else r.label for r in by_donor.rows],
        _stages(by_donor.rows),
        fmt=_m,
    )
    disbursement_chart = charts.line_chart(
        "disbursement",
        "Disbursement over time (USD millions, cumulative)",
        "Cumulative commitments and payments by month of the flow date, in USD millions.",
        [
            ("Committed (cumulative)", [(d, _millions(c)) for _, d, c, _ in running]),
            ("Paid (cumulative)", [(d, _millions(p)) for _, d, _, p in running]),
        ],
        fmt=_m,
    )
    return render(
        request,
        "funding.html",
        visitor,
        by_phase=by_phase,
        by_donor=by_donor,
        running=running,
        musd=musd,
        phase_chart=phase_chart,
        gap_chart=gap_chart,
        donor_chart=donor_chart,
        disbursement_chart=disbursement_chart,
    )
