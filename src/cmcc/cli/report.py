"""`cmcc report sitrep`: the daily situation report for one organization, as HTML or PDF."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from cmcc.cli.common import err_console, operator_session, platform, write_output
from cmcc.command import sitrep_service
from cmcc.command.sitrep import gather_for, viewer_of, yesterday
from cmcc.command.sitrep_service import SitrepFormat
from cmcc.core.releasability import Viewer

app = typer.Typer(help="Reports.", no_args_is_help=True)


@app.command("sitrep")
def sitrep(
    date: Annotated[
        str | None,
        typer.Option("--date", help="The day reported on, YYYY-MM-DD (UTC); default yesterday"),
    ] = None,
    as_org: Annotated[
        str | None,
        typer.Option(
            "--as", help="The organization it is for: only what it may see (default: everything)"
        ),
    ] = None,
    fmt: Annotated[SitrepFormat, typer.Option("--format", help="html or pdf")] = SitrepFormat.HTML,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write to this file (default: HTML to stdout)")
    ] = None,
) -> None:
    """The SITREP of a day: incidents, alerts, force, tasks, unit reports, recovery, funding."""
    try:
        day = dt.date.fromisoformat(date) if date else yesterday()
    except ValueError:
        err_console.print(f"[red]error:[/red] --date: {date!r} is not a date YYYY-MM-DD")
        raise typer.Exit(2) from None
    if fmt is SitrepFormat.PDF and output is None and sys.stdout.isatty():
        err_console.print("[red]error:[/red] --format pdf needs --output FILE (or a pipe)")
        raise typer.Exit(2)
    with platform() as p, operator_session(p, write=False, actor="system:sitrep") as session:
        sitrep_service.check_date(day, dt.datetime.now(dt.UTC).date(), "--date")
        low = p.settings.logstat_min_days
        if as_org:
            viewer, org = viewer_of(session, as_org)
            data = gather_for(session, viewer, org.code, org.name, day, low_days=low)
        else:
            everything = Viewer(None, None, True, sees_all=True)
            data = gather_for(
                session, everything, "ALL", "every record (local operator)", day, low_days=low
            )
        rendered = sitrep_service.render(data, fmt)
    write_output(output, [rendered.content])
    if output is not None:
        err_console.print(f"SITREP {day} for {data.audience} ({fmt.value})")
