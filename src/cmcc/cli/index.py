"""`cmcc index optimize`."""

from __future__ import annotations

import time

import typer

from cmcc.cli.common import console, operator_session, platform
from cmcc.geo.maintenance import optimize

app = typer.Typer(help="Spatial index maintenance.", no_args_is_help=True)


@app.command("optimize")
def optimize_command() -> None:
    """After a bulk load: rebuild SQLite's R*Trees in Z-order (tighter, faster lookups), or
    refresh PostgreSQL's planner statistics."""
    with platform() as p, operator_session(p, write=True, actor="system:index") as session:
        started = time.perf_counter()
        result = optimize(session)
    took = time.perf_counter() - started
    done = ", ".join(f"{n:,} {t}" for t, n in result.entries.items()) or "statistics refreshed"
    console.print(f"{result.backend}: {done} in {took:.1f} s")
