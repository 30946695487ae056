"""`cmcc aidflow import` and `cmcc aidflow export`: aid flow figures from a CSV file (HXL
hashtags understood; all or nothing), and the figures or the crossings as HXL-tagged CSV."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cmcc.access.domain import Principal
from cmcc.access.service import org_by_code
from cmcc.cli.common import (
    OutputFile,
    console,
    err_console,
    operator_session,
    platform,
    write_output,
)
from cmcc.core.errors import DomainError, InvalidInput
from cmcc.core.releasability import Viewer
from cmcc.humanitarian.aidflow_export import crossings_hxl, entries_hxl
from cmcc.humanitarian.aidflow_import import import_figures

app = typer.Typer(help="Aid flow through the crossings.", no_args_is_help=True)


class ExportFormat(StrEnum):
    ENTRIES = "hxl-entries"
    CROSSINGS = "hxl-crossings"


@app.command("import")
def import_command(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CSV file")],
    as_org: Annotated[
        str, typer.Option("--as", help="Code of the organization that will own the figures")
    ] = "CMCC",
    releasability: Annotated[
        str, typer.Option("--releasability", help="Marking of every figure")
    ] = "mission",
) -> None:
    """Write the file's figures (one row per crossing, day and category). Every row is checked
    first; one problem and nothing is written: the errors name their line and column."""
    data = source.read_bytes()
    with platform() as p:
        try:
            with p.unit_of_work(Principal.system_operator(), write=True) as session:
                session.info["actor"] = "system:import"
                org = org_by_code(session, as_org)
                principal = Principal.system_operator(org.id, org.code)
                done = import_figures(session, principal, data, releasability, "--releasability")
        except InvalidInput as exc:
            err_console.print("[red]not imported:[/red] nothing was written")
            for error in exc.errors or []:
                err_console.print(f"  {error.field}: {error.message}", markup=False)
            if not exc.errors:
                err_console.print(f"  {exc.detail}", markup=False)
            raise typer.Exit(1) from None
        except DomainError as exc:
            err_console.print(f"[red]not imported:[/red] {exc.detail}", markup=False)
            raise typer.Exit(1) from None
    console.print(
        f"imported {done.rows} figure(s): {done.created} new, {done.updated} updated, "
        f"{done.unchanged} unchanged"
    )


@app.command("export")
def export_command(
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="hxl-entries or hxl-crossings")
    ] = ExportFormat.ENTRIES,
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD")] = None,
    as_org: Annotated[
        str | None,
        typer.Option("--as", help="Export what this organization may see (default: all)"),
    ] = None,
    output: OutputFile = None,
) -> None:
    """Write the figures (`hxl-entries`) or the crossings with their status history
    (`hxl-crossings`) as HXL-tagged CSV."""
    try:
        first = dt.date.fromisoformat(start) if start else None
        last = dt.date.fromisoformat(end) if end else None
    except ValueError:
        err_console.print("[red]error:[/red] --from and --to take a day, YYYY-MM-DD")
        raise typer.Exit(2) from None
    with platform() as p, operator_session(p, write=False, actor="system:export") as session:
        viewer = Principal.system_operator().viewer
        if as_org:
            org = org_by_code(session, as_org)
            viewer = Viewer(org.id, org.code, org.is_member)
        if fmt is ExportFormat.CROSSINGS:
            text = "".join(crossings_hxl(session, viewer))
        else:
            text = "".join(entries_hxl(session, viewer, start=first, end=last))
    write_output(output, [text.encode()])
