"""`cmcc exercise run`: drive a running server with a scenario's exercise script."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections import Counter
from typing import Annotated
from urllib.parse import urlsplit

import typer

from cmcc.cli.common import console, err_console
from cmcc.config import Settings
from cmcc.core.errors import DomainError
from cmcc.exercise import driver
from cmcc.exercise.schemas import ExerciseScript, read_script

app = typer.Typer(
    help="Exercises: simulated units and injects played against a running server.",
    no_args_is_help=True,
)
ANY_ADDRESS = {"", "0.0.0.0", "::"}  # noqa: S104 - compared with, never bound


def local_address(host: str) -> str:
    """Where to reach a server bound to `host` from this machine."""
    return "127.0.0.1" if host in ANY_ADDRESS else host


def settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        err_console.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None


def script_of(scenario: str) -> ExerciseScript:
    try:
        return read_script(scenario)
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from None


def summary(counters: Counter[str]) -> str:
    shown = ", ".join(f"{n} {what}" for what, n in sorted(counters.items()) if n)
    return f"exercise stopped: {shown or 'nothing done'}"


@app.command("run")
def run(
    token: Annotated[
        str,
        typer.Option(
            envvar="CMCC_EXERCISE_TOKEN",
            help="API token of a staff officer (or CMCC_EXERCISE_TOKEN)",
            show_default=False,
        ),
    ],
    server: Annotated[
        str | None, typer.Option(help="The server's web address (http://CMCC_HOST:CMCC_PORT)")
    ] = None,
    cot_host: Annotated[
        str | None, typer.Option(help="TAK gateway address (the server's host)")
    ] = None,
    cot_port: Annotated[
        int | None, typer.Option(help="TAK gateway TCP port (CMCC_COT_TCP_PORT; 0: no units)")
    ] = None,
    scenario: Annotated[str, typer.Option(help="Scenario whose exercise.toml is played")] = (
        "gaza-2025"
    ),
    incidents_per_minute: Annotated[
        float | None,
        typer.Option(
            min=0, help="Incident reports per minute (CMCC_EXERCISE_INCIDENTS_PER_MINUTE)"
        ),
    ] = None,
    tips_per_minute: Annotated[
        float | None,
        typer.Option(min=0, help="Public tips per minute (CMCC_EXERCISE_TIPS_PER_MINUTE)"),
    ] = None,
    report_seconds: Annotated[
        float | None,
        typer.Option(
            min=0.2, max=30, help="Seconds between a unit's reports (CMCC_EXERCISE_REPORT_SECONDS)"
        ),
    ] = None,
    duration: Annotated[
        float, typer.Option(min=0, help="Stop after this many seconds (0: at Ctrl-C)")
    ] = 0,
    seed: Annotated[int | None, typer.Option(help="Seed for a repeatable run")] = None,
) -> None:
    """Play the exercise: units move through the TAK gateway, incidents are filed and verified
    through the API, tips arrive through the public tip route; until Ctrl-C or --duration."""
    s = settings()
    script = script_of(scenario)
    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S", level=logging.INFO)
    base = (server or f"http://{local_address(s.host)}:{s.port}").rstrip("/")
    target = driver.Target(
        base_url=base,
        token=token,
        cot_host=cot_host or urlsplit(base).hostname or "127.0.0.1",
        cot_port=s.cot_tcp_port if cot_port is None else cot_port,
    )
    tempo = driver.Tempo(
        incidents_per_minute=_or(incidents_per_minute, s.exercise_incidents_per_minute),
        tips_per_minute=_or(tips_per_minute, s.exercise_tips_per_minute),
        report_seconds=_or(report_seconds, s.exercise_report_seconds),
    )
    console.print(
        f"exercise {scenario} against {base} (TAK {target.cot_host}:{target.cot_port}): "
        f"{len(script.units)} units, Ctrl-C to stop",
        soft_wrap=True,
    )
    counters = asyncio.run(_until_stopped(script, target, tempo, duration or None, seed))
    console.print(summary(counters), soft_wrap=True)
    if counters["start errors"]:
        raise typer.Exit(1)


def _or(given: float | None, default: float) -> float:
    return default if given is None else given


async def _until_stopped(
    script: ExerciseScript,
    target: driver.Target,
    tempo: driver.Tempo,
    duration: float | None,
    seed: int | None,
) -> Counter[str]:
    """The driver, stopped cleanly by Ctrl-C (SIGINT) or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(signum, stop.set)
    return await driver.run(script, target, tempo, duration=duration, stop=stop, seed=seed)
