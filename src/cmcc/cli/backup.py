"""`cmcc backup` and `cmcc restore` (the work is done in cmcc.ops.backup)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cmcc.cli.common import console, err_console, platform
from cmcc.core.errors import DomainError
from cmcc.ops import backup as ops


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)


def _refused(exc: DomainError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(exc.detail)}")
    return typer.Exit(1)


def backup(
    path: Annotated[
        Path, typer.Argument(help="The backup file to write (replaced only once complete)")
    ],
) -> None:
    """Write a consistent copy of the database to PATH while the platform keeps running."""
    with platform() as p:
        try:
            result = ops.backup(p, path)
        except DomainError as exc:
            raise _refused(exc) from None
    snap = result.manifest.snapshot
    console.print(
        f"backup written: {escape(str(result.path))} ({result.size:,} bytes, "
        f"{result.manifest.backend}, schema {snap.schema_revision}, "
        f"audit head {snap.audit_seq} {snap.audit_hash})",
        soft_wrap=True,
    )


def restore(
    path: Annotated[Path, typer.Argument(help="The backup file written by `cmcc backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that is not empty")
    ] = False,
) -> None:
    """Replace the database with a backup, then verify the restored audit log (exit 1 if it is
    not intact). Stop the server first."""
    with platform() as p:
        try:
            result = ops.restore(p, path, force=force)
        except DomainError as exc:
            raise _refused(exc) from None
    manifest, audit, snap = result.manifest, result.audit, result.manifest.snapshot
    made = manifest.created_at.isoformat(timespec="seconds")
    console.print(
        f"restored {escape(str(path))}: {manifest.backend} backup of {made}, "
        f"schema {snap.schema_revision}",
        soft_wrap=True,
    )
    if not audit.ok:
        problem = escape(audit.problem or "")
        err_console.print(f"[red]audit log broken at entry {audit.first_bad_seq}:[/red] {problem}")
        raise typer.Exit(1)
    if not result.head_matches:
        err_console.print(
            f"[red]audit log ends at entry {audit.entries} ({audit.head_hash}), but the backup "
            f"recorded entry {snap.audit_seq} ({snap.audit_hash})[/red]"
        )
        raise typer.Exit(1)
    console.print(
        f"audit log intact: {audit.entries} entries, head {audit.head_hash}", soft_wrap=True
    )
    if result.schema_behind:
        console.print(
            f"the schema is at revision {snap.schema_revision}; `cmcc init` (which "
            f"`cmcc serve` runs first) brings it to {result.schema_head}"
        )
