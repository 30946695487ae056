"""`cmcc init`, `cmcc serve`, `cmcc config check` (`cmcc demo` is in cmcc.cli.demo)."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from cmcc.cli.common import console, err_console, platform
from cmcc.config import Settings
from cmcc.initialize import initialize
from cmcc.ops.presence import ServerPresence

config_app = typer.Typer(help="Check the settings.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("gateway")(gateway_only)


def init() -> None:
    """Create or upgrade the database and seed the reference data (UN member states)."""
    with platform() as p:
        result = initialize(p)
    console.print(f"database ready: {result.database} ({result.states_added} states added)")


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (CMCC_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (CMCC_PORT)")] = None,
    no_gateway: Annotated[
        bool, typer.Option("--no-gateway", help="Without the TAK gateway (run `cmcc gateway`)")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(min=1, help="API processes on the port (above 1 needs CMCC_NATS_URL)"),
    ] = 1,
) -> None:
    """Run the API server, the web interface, the TAK gateway (CMCC_COT_* ports) and the
    scheduled SITREP (CMCC_SITREP_*). Several instances may run on one PostgreSQL database
    when CMCC_NATS_URL is set (docs/operations/scale-out.md); `--workers N` runs N API processes
    on the port, the gateway and the SITREP schedule in the first only
    (docs/operations/load.md)."""
    import asyncio
    import socket

    import uvicorn
    from fastapi import FastAPI

    from cmcc.api.app import create_app
    from cmcc.bootstrap import bootstrap
    from cmcc.cli.workers import fork_workers, listening_sockets, stop_workers, watch_workers
    from cmcc.command import sitrep_schedule
    from cmcc.cot import gateway
    from cmcc.tips.anonymity import uvicorn_log_config

    with platform("api") as p:
        if workers > 1 and not p.settings.nats_url:
            err_console.print(
                "[red]--workers above 1 needs CMCC_NATS_URL[/red]: the workers learn of each "
                "other's zone changes and alerts through NATS (docs/operations/scale-out.md)"
            )
            raise typer.Exit(2)
        initialize(p)
        bind = host or p.settings.host
        sockets = listening_sockets(bind, port or p.settings.port, workers)

        def config(app: FastAPI) -> uvicorn.Config:
            return uvicorn.Config(
                app,
                log_level="info",
                log_config=uvicorn_log_config(),  # no client address, no line for /public/
                proxy_headers=False,  # cmcc.api.clients reads them, from trusted proxies only
            )

        def api_only(sock: socket.socket) -> None:  # a forked worker: a platform of its own
            p.engine.dispose(close=False)  # the first process's connections stay its own
            mine = bootstrap(role="api")
            try:
                uvicorn.Server(config(create_app(mine))).run(sockets=[sock])
            finally:
                mine.dispose()

        pids = fork_workers(sockets, api_only)
        presence = ServerPresence(p.engine)  # refuses bulk loads while serving (cmcc.ops.presence)

        async def run() -> bool:
            """Serve until stopped; True when a worker was lost."""
            server = uvicorn.Server(config(create_app(p)))
            tak = None if no_gateway else await gateway.start(p, bind)
            schedule = sitrep_schedule.start(p)  # CMCC_SITREP_TIME / _ORGS; None when off
            watching = asyncio.create_task(watch_workers(pids, server)) if pids else None
            try:
                await server.serve(sockets=sockets[:1])
                return watching is not None and watching.done()
            finally:
                if watching is not None:
                    watching.cancel()
                if schedule is not None:
                    schedule.cancel()
                if tak is not None:
                    await tak.stop()

        try:
            lost = asyncio.run(run())
        finally:
            presence.release()
            stop_workers(pids)
        if lost:
            raise typer.Exit(1)


def gateway_only(
    host: Annotated[str | None, typer.Option(help="Address to bind (CMCC_HOST)")] = None,
) -> None:
    """Run the TAK gateway alone (CMCC_COT_* ports), beside `cmcc serve --no-gateway`
    instances; with CMCC_NATS_URL, gateways relay to each other's clients and positions go to
    the `cmcc worker` processes. Stops on SIGTERM or Ctrl-C."""
    import asyncio

    from cmcc.cli.running import service_logging, until_signalled
    from cmcc.cot import gateway

    service_logging()
    with platform("gateway") as p:
        bind = host or p.settings.host
        presence = ServerPresence(p.engine)  # refuses bulk loads while running

        async def run() -> None:
            await p.bus.start()
            tak = await gateway.start(p, bind)
            if tak is None:
                await p.bus.stop()
                err_console.print("[red]the TAK gateway did not start[/red] (see the log)")
                raise typer.Exit(1)
            try:
                await until_signalled()
            finally:
                await tak.stop()
                await p.bus.stop()

        try:
            asyncio.run(run())
        finally:
            presence.release()


@config_app.command("check")
def config_check() -> None:
    """Validate the CMCC_* settings and print them (secrets hidden)."""
    try:
        settings = Settings()
    except ValueError as exc:
        err_console.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None
    table = Table("setting", "value", "from")
    for name in Settings.model_fields:
        env = f"CMCC_{name.upper()}"
        value = getattr(settings, name)
        shown = "********" if "secret" in name else str(value)
        table.add_row(env, shown, "environment" if env in os.environ else "default")
    table.add_row("(database)", settings.effective_database_url, "derived")
    console.print(table)
