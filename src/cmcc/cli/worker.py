"""`cmcc worker`: store the positions the TAK gateways publish to NATS JetStream."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import typer

from cmcc.cli.common import err_console, platform


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker() -> None:
    """Take positions and spot markers from the JetStream stream (CMCC_NATS_URL) and store
    them: tracks, geofence, alerts, draft incidents. Run one or several, on any machine that
    reaches the database and NATS; they share the work. Stops on SIGTERM or Ctrl-C after
    storing the batch in hand."""
    from cmcc.cot.worker import Worker

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with platform("worker") as p:
        if not p.settings.nats_url:
            err_console.print(
                "[red]CMCC_NATS_URL is not set:[/red] a worker takes its positions from NATS"
            )
            raise typer.Exit(2)
        w = Worker(p, f"cmcc-worker-{os.getpid()}")

        async def run() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, w.stop)
            await p.bus.start()  # its alerts to every instance; zones into its geofence
            try:
                await w.run()
            finally:
                await p.bus.stop()

        asyncio.run(run())
