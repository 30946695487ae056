"""`cmcc forces report`: the pipeline, the gaps and the projection as tables and a text chart."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cmcc.access.domain import Principal
from cmcc.access.service import org_by_code
from cmcc.cli.common import console, operator_session, platform
from cmcc.core.releasability import Viewer
from cmcc.forces import reports, service
from cmcc.forces.domain import PIPELINE, StateStatus
from cmcc.scenarios.service import facts as reported

app = typer.Typer(help="Force generation.", no_args_is_help=True)
BAR_WIDTH = 40


def bar(value: int, top: int) -> str:
    return "█" * round(BAR_WIDTH * value / top) if top else ""


@app.command("report")
def report(
    as_org: Annotated[
        str | None, typer.Option("--as", help="Show what this organization may see")
    ] = None,
) -> None:
    """Pipeline counts, gaps by capability, and the strength projection against the targets."""
    with platform() as p, operator_session(p, write=False, actor="system:report") as session:
        viewer = Principal.system_operator().viewer
        if as_org:
            org = org_by_code(session, as_org)
            viewer = Viewer(org.id, org.code, org.is_member)
        counts = service.status_counts(session, viewer)
        facts = [(f.statement, f.source) for f in reported(session, viewer, "force_generation")]
        gaps = reports.gap_report(session, viewer)
        proj = reports.projection(session, viewer, step_days=30)

    pipeline = Table(title="Outreach pipeline (states now at this step or beyond)")
    pipeline.add_column("step")
    pipeline.add_column("states", justify="right")
    reached = 0
    order = [*PIPELINE[1:]][::-1]
    cumulative = {}
    for status in order:
        reached += counts.get(status.value, 0)
        cumulative[status] = reached
    for status in PIPELINE[1:]:
        pipeline.add_row(status.value, str(cumulative[status]))
    for status in (StateStatus.DECLINED, StateStatus.WITHDRAWN):
        pipeline.add_row(status.value, str(counts.get(status.value, 0)))
    console.print(pipeline)
    for statement, source in facts:
        console.print(f"  reported: {statement} [dim]({source})[/dim]")

    table = Table(title="Gaps by capability (closed by matched pledges at Level 3 or better)")
    table.add_column("capability", no_wrap=True)
    for col in ("required", "matched", "ready", "gap", "unmatched pledged"):
        table.add_column(col, justify="right")
    for r in gaps.rows:
        table.add_row(
            r.capability.value,
            f"{r.required_units} u / {r.required_strength:,}",
            f"{r.matched_units} u / {r.matched_strength:,}",
            f"{r.ready_units} u / {r.ready_strength:,}",
            f"{r.gap_units} u / {r.gap_strength:,}",
            f"{r.unmatched_pledged_units} u / {r.unmatched_pledged_strength:,}",
        )
    console.print(table)

    targets = Table(title="Targets")
    for col in (
        "target",
        "strength",
        "due",
        "committed: met on",
        "shortfall",
        "pledged: met on",
        "shortfall",
    ):
        targets.add_column(col)
    for c, q in zip(proj.committed_targets, proj.pledged_targets, strict=True):
        targets.add_row(
            c.name,
            f"{c.strength:,}",
            c.due.isoformat(),
            c.met_on.isoformat() if c.met_on else "not met",
            f"{c.shortfall_on_due:,}",
            q.met_on.isoformat() if q.met_on else "not met",
            f"{q.shortfall_on_due:,}",
        )
    console.print(targets)

    top = max([pt.pledged for pt in proj.series] + [t.strength for t in proj.pledged_targets] + [1])
    console.print("Projected deployed strength (█ committed, ░ pledged)")
    for pt in proj.series:
        committed = bar(pt.committed, top)
        pledged = "░" * max(0, len(bar(pt.pledged, top)) - len(committed))
        console.print(
            f"  {pt.on.isoformat()} {committed}{pledged} {pt.committed:,} / {pt.pledged:,}"
        )
