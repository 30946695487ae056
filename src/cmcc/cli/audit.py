"""`cmcc audit verify`."""

from __future__ import annotations

import typer

from cmcc.audit.service import verify as verify_chain
from cmcc.cli.common import console, err_console, operator_session, platform

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Check the whole chain; exit 1 and name the first bad entry if anything was changed,
    removed or reordered."""
    with platform() as p, operator_session(p, write=False, actor="system:audit") as session:
        result = verify_chain(session)
    if not result.ok:
        err_console.print(
            f"[red]audit log broken at entry {result.first_bad_seq}:[/red] {result.problem}"
        )
        raise typer.Exit(1)
    console.print(f"audit log intact: {result.entries} entries, head {result.head_hash}")
