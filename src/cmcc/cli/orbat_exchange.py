"""`cmcc orbat export` and `cmcc orbat import`: the ORBAT as a spreadsheet (CSV), GeoJSON of
unit locations, or an ORBAT Mapper scenario, and back (all or nothing)."""

from __future__ import annotations

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
from cmcc.command.exchange import as_of_moment, export_bytes, import_units, unit_rows
from cmcc.core.errors import DomainError, InvalidInput
from cmcc.core.releasability import Viewer


class ExportFormat(StrEnum):
    CSV = "csv"
    GEOJSON = "geojson"
    ORBATMAPPER = "orbatmapper"


class ImportFormat(StrEnum):
    CSV = "csv"
    ORBATMAPPER = "orbatmapper"


def export_command(
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="csv, geojson or orbatmapper")
    ] = ExportFormat.CSV,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="A date (the ORBAT at the end of that day) or an instant"),
    ] = None,
    as_org: Annotated[
        str | None,
        typer.Option("--as", help="Export what this organization may see (default: all)"),
    ] = None,
    output: OutputFile = None,
) -> None:
    """Write the ORBAT as of a date: `cmcc orbat export --format csv --as IDN > orbat.csv`."""
    with platform() as p, operator_session(p, write=False, actor="system:export") as session:
        viewer = Principal.system_operator().viewer
        if as_org:
            org = org_by_code(session, as_org)
            viewer = Viewer(org.id, org.code, org.is_member)
        try:
            moment = as_of_moment(as_of, field="--as-of")
        except InvalidInput as exc:
            err_console.print(f"[red]error:[/red] {exc.detail}")
            raise typer.Exit(2) from None
        data = export_bytes(unit_rows(session, viewer, moment), fmt.value, moment)
    write_output(output, [data])


def import_command(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The file")],
    fmt: Annotated[
        ImportFormat | None,
        typer.Option("--format", help="csv or orbatmapper (default: by the extension)"),
    ] = None,
    as_org: Annotated[
        str, typer.Option("--as", help="Code of the organization that will own the units")
    ] = "CMCC",
) -> None:
    """Create the file's units. Every row (or unit) is checked first; one problem and nothing
    is written: the errors name their row and column, or JSON path."""
    kind = fmt.value if fmt else ("orbatmapper" if source.suffix.lower() == ".json" else "csv")
    data = source.read_bytes()
    with platform() as p:
        try:
            with p.unit_of_work(Principal.system_operator(), write=True) as session:
                session.info["actor"] = "system:import"
                org = org_by_code(session, as_org)
                principal = Principal.system_operator(org.id, org.code)
                done = import_units(session, principal, data, kind)
        except InvalidInput as exc:
            err_console.print("[red]not imported:[/red] nothing was written")
            for error in exc.errors or []:
                err_console.print(f"  {error.field}: {error.message}", markup=False)
            if not exc.errors:
                err_console.print(f"  {exc.detail}", markup=False)
            raise typer.Exit(1) from None
        except DomainError as exc:  # refused by the ORBAT service (the row is named)
            err_console.print(f"[red]not imported:[/red] {exc.detail}", markup=False)
            raise typer.Exit(1) from None
    console.print(f"imported {len(done.units)} unit(s) for {as_org}")


def register(orbat_app: typer.Typer) -> None:
    orbat_app.command("export")(export_command)
    orbat_app.command("import")(import_command)


orbat_app = typer.Typer(help="The force's order of battle (ORBAT).", no_args_is_help=True)
register(orbat_app)
