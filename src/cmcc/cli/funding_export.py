"""`cmcc export funding`: the funding picture as IATI 2.03 XML, HXL-tagged CSV (projects 3W or
flows) or an FTS-style CSV, written to standard output (streamed, any size)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from cmcc.access.domain import Principal
from cmcc.access.service import org_by_code
from cmcc.cli.common import OutputFile, operator_session, platform, write_output
from cmcc.funding.exports import export_bytes
from cmcc.funding.exports.selection import select_tree


class FundingFormat(StrEnum):
    IATI = "iati"
    HXL_PROJECTS = "hxl-projects"
    HXL_FLOWS = "hxl-flows"
    FTS = "fts"


def export_funding_command(
    fmt: Annotated[
        FundingFormat,
        typer.Option("--format", help="iati, hxl-projects, hxl-flows or fts"),
    ] = FundingFormat.IATI,
    as_org: Annotated[
        str | None,
        typer.Option("--as", help="Export what this organization may see (default: all)"),
    ] = None,
    plan: Annotated[
        str | None, typer.Option("--plan", help="Code of one plan (default: every plan)")
    ] = None,
    output: OutputFile = None,
) -> None:
    """Write the funding export to standard output, or whole to a file:
    `cmcc export funding --format iati --output activities.xml`."""
    with platform() as p, operator_session(p, write=False, actor="system:export") as session:
        principal = Principal.system_operator()
        if as_org:
            org = org_by_code(session, as_org)
            principal = Principal(None, "export", org.id, org.code, org.is_member, None)
        selection = select_tree(session, principal, plan)
        write_output(output, export_bytes(session, selection, fmt.value))


def register(export_app: typer.Typer) -> None:
    export_app.command("funding")(export_funding_command)
