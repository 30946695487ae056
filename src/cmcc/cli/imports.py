"""`cmcc import incidents FILE` and `cmcc export incidents`: exchange files (GeoJSON, CSV, HXL).

Exit codes of the import: 0 every row is stored (or was stored already); 1 some rows were bad,
the import stopped before the end (run it again to resume), or the file cannot be read;
130 interrupted (the batches already stored stay stored; run it again to resume).
With `--bulk` (cmcc.incidents.bulk_import): 2 refused because a server runs on the database or
the incidents table is in use (nothing written); a bad row or a failure stores nothing (exit 1).
"""

from __future__ import annotations

import csv
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cmcc.access.domain import Principal
from cmcc.access.service import org_by_code, resolve_marking
from cmcc.cli.common import (
    OutputFile,
    console,
    err_console,
    operator_session,
    platform,
    write_output,
)
from cmcc.core.errors import DomainError
from cmcc.incidents import service
from cmcc.incidents.bulk_import import bulk_import_incidents
from cmcc.incidents.exporter import export_bytes
from cmcc.incidents.importer import ImportOptions, ImportReport, RowError, import_incidents
from cmcc.incidents.importer import Progress as ImportProgress
from cmcc.ops.presence import ServerRunning

import_app = typer.Typer(help="Load records from exchange files.", no_args_is_help=True)
export_app = typer.Typer(help="Write records to exchange files.", no_args_is_help=True)
SHOWN_ERRORS = 50


class FileFormat(StrEnum):
    GEOJSON = "geojson"
    CSV = "csv"
    HXL = "hxl"


@import_app.callback()
def _imports() -> None:
    """Load records from exchange files (GeoJSON, CSV, HXL-tagged CSV)."""


@export_app.callback()
def _exports() -> None:
    """Write records to exchange files (GeoJSON, CSV, HXL-tagged CSV)."""


def _summary(report: ImportReport, seconds: float) -> None:
    table = Table(title=f"Import of {report.fmt or 'the file'} (sha256 {report.file_sha256[:12]})")
    table.add_column("rows read", justify="right")
    table.add_column("stored", justify="right")
    table.add_column("skipped (stored already)", justify="right")
    table.add_column("bad", justify="right")
    table.add_column("alerts", justify="right")
    table.add_column("batches", justify="right")
    table.add_column("rows/s", justify="right")
    rate = report.rows_read / seconds if seconds > 0 else 0.0
    table.add_row(
        f"{report.rows_read:,}",
        f"{report.stored:,}",
        f"{report.skipped:,}",
        f"{report.bad_rows:,}",
        f"{report.alerts:,}",
        f"{report.batches:,}",
        f"{rate:,.0f}",
    )
    console.print(table)
    if report.ignored_columns:
        console.print("columns not recognized (ignored): " + ", ".join(report.ignored_columns))
    if report.errors:
        bad = Table(title="Bad rows (not stored)")
        bad.add_column("line", justify="right")
        bad.add_column("field")
        bad.add_column("reason")
        for error in report.errors[:SHOWN_ERRORS]:
            bad.add_row(str(error.line), error.field, error.reason)
        console.print(bad)
        if report.error_count > SHOWN_ERRORS:
            console.print(f"... and {report.error_count - SHOWN_ERRORS:,} more problems")


@import_app.command("incidents")
def import_incidents_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The file to load")
    ],
    fmt: Annotated[
        FileFormat | None,
        typer.Option(
            "--format",
            help="geojson, csv or hxl (default: by the file's extension; a HXL hashtag row is "
            "found by itself)",
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=100_000, help="Rows per transaction")
    ] = 5000,
    as_org: Annotated[
        str, typer.Option("--as", help="Code of the organization that will own the incidents")
    ] = "CMCC",
    releasability: Annotated[
        str,
        typer.Option(
            "--releasability",
            help="Marking of every incident: public, mission, owner or rel:<codes>",
        ),
    ] = "mission",
    outside_aoi: Annotated[
        bool,
        typer.Option("--outside-aoi", help="Accept rows outside the mission's area of interest"),
    ] = False,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            dir_okay=False,
            help="Write every bad row to this CSV file (line, field, reason)",
        ),
    ] = None,
    bulk: Annotated[
        bool,
        typer.Option(
            "--bulk",
            help="Bulk load mode: only while no server runs on the database; the spatial index "
            "is built once after the load; all rows in one transaction (all or nothing)",
        ),
    ] = False,
) -> None:
    """Check every row, store the good ones in batches (one transaction each), report the bad
    ones by line and reason. Running the same file again resumes: rows already stored (same
    external_ref) are skipped. `--bulk`: see docs/modules/incident-exchange.md."""
    with platform() as p:
        with operator_session(p, write=False, actor="system:import") as session:
            org = org_by_code(session, as_org)
            marking = resolve_marking(session, releasability)
        options = ImportOptions(
            owner_org_id=org.id,
            marking=marking,
            actor="system:import",
            aoi=p.settings.aoi_bbox,
            fmt=fmt.value if fmt else None,
            batch_size=batch_size,
            outside_aoi=outside_aoi,
        )
        error_file = errors.open("w", newline="", encoding="utf-8") if errors else None
        writer = csv.writer(error_file) if error_file else None
        if writer:
            writer.writerow(["line", "field", "reason"])

        def on_error(error: RowError) -> None:
            if writer:
                writer.writerow([error.line, error.field, error.reason])

        started = time.perf_counter()
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
        )
        try:
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("importing", total=file.stat().st_size or 1)

                def on_progress(done: ImportProgress) -> None:
                    r = done.report
                    text = f"{r.stored:,} stored, {r.skipped:,} skipped, {r.bad_rows:,} bad"
                    bar.update(task, completed=done.bytes_read, description=text)

                load = bulk_import_incidents if bulk else import_incidents
                report = load(p, file, options, on_error=on_error, on_progress=on_progress)
        except ServerRunning as exc:
            err_console.print(f"[red]refused:[/red] {exc.detail}")
            raise typer.Exit(2) from None
        except DomainError as exc:
            err_console.print(f"[red]error:[/red] {exc.detail}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print(
                "[yellow]interrupted:[/yellow] the batches stored so far stay stored; run the "
                "same command again to resume"
            )
            raise typer.Exit(130) from None
        finally:
            if error_file:
                error_file.close()
    _summary(report, time.perf_counter() - started)
    if report.stopped:
        err_console.print(f"[red]stopped:[/red] {report.stopped}")
        if not bulk:
            err_console.print("the batches before it are stored; fix the cause and run it again")
        raise typer.Exit(1)
    if report.bad_rows:
        raise typer.Exit(1)


@export_app.command("incidents")
def export_incidents_command(
    fmt: Annotated[
        FileFormat, typer.Option("--format", help="geojson, csv or hxl")
    ] = FileFormat.GEOJSON,
    as_org: Annotated[
        str | None,
        typer.Option("--as", help="Export what this organization may see (default: all)"),
    ] = None,
    output: OutputFile = None,
) -> None:
    """Write the incidents to standard output, or whole to a file:
    `cmcc export incidents --format hxl --output FILE`."""
    with platform() as p, operator_session(p, write=False, actor="system:export") as session:
        principal = Principal.system_operator()
        if as_org:
            org = org_by_code(session, as_org)
            principal = Principal(None, "export", org.id, org.code, org.is_member, None)
        stmt = service.incident_statement(session, principal, p.spatial)
        write_output(output, export_bytes(session, stmt, fmt.value))
