"""`cmcc funding report`: pledged, committed and paid per donor, phase, sector or month, with
the outstanding parts, the no-double-count total, the disbursement rate and the phase gaps."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from cmcc.access.domain import Principal
from cmcc.access.service import org_by_code
from cmcc.cli.common import console, operator_session, platform
from cmcc.funding import reports
from cmcc.funding.reports import GroupBy

app = typer.Typer(help="Reconstruction funding.", no_args_is_help=True)


def usd(value: Decimal | None) -> str:
    """USD millions with two decimals (the API and the exports keep every cent)."""
    return "" if value is None else f"{value / MILLION:,.2f}"


MILLION = Decimal(1_000_000)


@app.command("report")
def report(
    by: Annotated[
        GroupBy, typer.Option("--by", help="Group by donor, phase, sector or month")
    ] = GroupBy.DONOR,
    donor: Annotated[
        str | None, typer.Option("--donor", help="Only this donor's flows (organization code)")
    ] = None,
) -> None:
    """Funding per donor, phase (with budget and gap), DAC sector or month, in USD."""
    with platform() as p, operator_session(p, write=False, actor="system:report") as session:
        donor_id = org_by_code(session, donor).id if donor else None
        result = reports.summary(
            session,
            Principal.system_operator().viewer,
            by,
            donor_org_id=donor_id,
            donor_code=donor.upper() if donor else None,
        )
    title = f"Funding by {by.value} (USD million, current versions)"
    table = Table(title=title + (f", donor {result.donor}" if result.donor else ""))
    table.add_column(by.value, no_wrap=True)
    columns = ["pledged", "committed", "paid", "open pledges", "unpaid commit.", "total"]
    columns += ["disbursed"]
    if by is GroupBy.PHASE:
        columns += ["budget", "gap"]
    for col in columns:
        table.add_column(col, justify="right")
    for row in [*result.rows, result.total]:
        rate = row.disbursement_rate
        cells = [
            usd(row.pledged_usd),
            usd(row.committed_usd),
            usd(row.paid_usd),
            usd(row.outstanding_pledges_usd),
            usd(row.unpaid_commitments_usd),
            usd(row.total_usd),
            "" if rate is None else f"{rate:.1%}",
        ]
        if by is GroupBy.PHASE:
            cells += [usd(row.budget_usd), usd(row.gap_usd)]
        table.add_row(
            row.key or "", *cells, end_section=bool(result.rows) and row is result.rows[-1]
        )
    console.print(table)
    names = Table(show_header=True, box=None)  # the names apart: the figures stay readable
    names.add_column(by.value, no_wrap=True, style="dim")
    names.add_column("name", style="dim")
    for row in result.rows:
        names.add_row(row.key or "", row.label)
    console.print(names)
    console.print(
        "[dim]total = paid + unpaid commitments + unconverted pledges: money is never counted "
        "twice as it moves from pledge to commitment to payment[/dim]"
    )
