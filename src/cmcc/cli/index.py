"""`cmcc index optimize`."""

from __future__ import annotations

import time

import typer

from cmcc.cli.common import console, operator_session, platform
from cmcc.geo.maintenance import optimize

app = typer.Typer(help="Spatial index maintenance.", no_args_is_help=True)


@app.command("optimize")
def optimize_command() -> None:
    """After a bulk load: rebuild SQLite's R*Trees packed (tighter, faster lookups), or on
    PostgreSQL put the rows of incidents and tracks in the order of their spatial index
    (CLUSTER, which locks each table while it is rewritten) and refresh the planner
    statistics."""
    with platform() as p:
        started = time.perf_counter()
        result = optimize(lambda: operator_session(p, write=True, actor="system:index"))
    took = time.perf_counter() - started
    done = ", ".join(f"{n:,} {t}" for t, n in result.entries.items()) or (
        f"{' and '.join(result.clustered)} clustered on their spatial index, statistics refreshed"
    )
    console.print(f"{result.backend}: {done} in {took:.1f} s")
