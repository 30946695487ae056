"""What every command shares: the platform, the console, and turning domain errors into exits."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from collections.abc import Coroutine, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any, TypeVar

import psycopg
import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform, bootstrap
from cmcc.core.dbfaults import database_fault
from cmcc.core.errors import DomainError
from cmcc.core.files import whole_file

T = TypeVar("T")
# No emoji codes: a fingerprint, serial or device uid with `:ab:` in it is printed as it is.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


@contextmanager
def platform(role: str = "cli") -> Iterator[Platform]:
    """The platform of a command. A long-running one (role api, gateway, worker) starts its
    bus on its own event loop; any other command, with CMCC_NATS_URL set, announces what it
    writes to the running instances (`announcing`)."""
    try:
        p = bootstrap(role=role)
    except ValueError as exc:  # settings refused
        err_console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        with announcing(p) if role == "cli" and p.settings.nats_url else nullcontext():
            yield p
    except (DBAPIError, PoolTimeout, sqlite3.Error, psycopg.Error) as exc:
        # the server down, the database busy or full; or e.g. the role may not create postgis
        fault = database_fault(exc)
        if fault is not None:
            err_console.print(f"[red]error:[/red] {fault.detail}")
            raise typer.Exit(1) from None
        orig = getattr(exc, "orig", None) or exc
        first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
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


OutputFile = Annotated[
    Path | None,
    typer.Option("--output", dir_okay=False, help="File, written whole (default: stdout)"),
]


def write_output(output: Path | None, pieces: Iterable[bytes]) -> None:
    """An export to standard output, or to the file `output` whole or not at all: written
    under a temporary name beside it and renamed at the end (`cmcc.core.files`), so an export
    that fails or is killed leaves no file that looks complete."""
    if output is None:
        for piece in pieces:
            sys.stdout.buffer.write(piece)
        sys.stdout.buffer.flush()
        return
    with whole_file(output) as out:
        for piece in pieces:
            out.write(piece)
    err_console.print(f"wrote {output}", highlight=False, soft_wrap=True)  # a path, whole


@contextmanager
def announcing(p: Platform) -> Iterator[None]:
    """The command's bus connected to NATS on a loop of its own, so that its writes reach the
    running instances' geofences and gateways (cmcc.core.written); what is still being sent
    when the command ends is flushed before it exits."""
    from cmcc.broker.bus import NatsBus

    bus = p.bus
    assert isinstance(bus, NatsBus)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="cmcc-bus", daemon=True)
    thread.start()

    def run(coro: Coroutine[Any, Any, T], seconds: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(seconds)

    try:
        run(bus.start(), 10)
        if not run(bus.broker.wait_connected(3), 10):
            err_console.print(
                "[yellow]warning:[/yellow] NATS does not answer: the running instances will "
                "not hear of this command's writes before they restart"
            )
        yield
    finally:
        try:
            run(bus.stop(), 35)  # drains what is waiting to be sent
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()
