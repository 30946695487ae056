"""What every command shares: the platform, the console, and turning domain errors into exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform, bootstrap
from cmcc.core.errors import DomainError

console = Console()
err_console = Console(stderr=True)


@contextmanager
def platform(role: str = "cli") -> Iterator[Platform]:
    try:
        p = bootstrap(role=role)
    except ValueError as exc:  # settings refused
        err_console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        yield p
    except DBAPIError as exc:  # e.g. the server is down, or the role may not create postgis
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        err_console.print(f"[red]database error:[/red] {first}")
        raise typer.Exit(1) from None
    finally:
        p.dispose()


@contextmanager
def operator_session(p: Platform, *, write: bool, actor: str) -> Iterator[Session]:
    """A unit of work for the local operator (who sees every record), with domain errors
    printed as one clear line and a non-zero exit."""
    try:
        with p.unit_of_work(Principal.system_operator(), write=write) as session:
            session.info["actor"] = actor
            yield session
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from None
