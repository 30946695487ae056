"""The exercise driver: plays a scenario's exercise script against a running CMCC server, only
through its public interfaces (the TAK gateway, the REST API, the public tip route), at a tempo
the exercise staff set, until the duration is reached or it is stopped.

`run` is a coroutine: `cmcc exercise run` runs it on its own loop, `cmcc demo` on a thread next
to the server it drives. It never raises for what the server answers: errors are logged and
counted, and the counters are returned."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cmcc.exercise.domain import next_interval
from cmcc.exercise.schemas import ExerciseScript
from cmcc.exercise.staff import Desk, ServerRefused
from cmcc.exercise.units import UnitLink

log = logging.getLogger("cmcc.exercise")
READY_SECONDS = 120.0  # how long to wait for the server to answer before giving up


@dataclass(frozen=True)
class Tempo:
    """How busy the exercise is: injects per minute on average, and each unit's report rate."""

    incidents_per_minute: float = 2.0
    tips_per_minute: float = 1.0
    report_seconds: float = 5.0


@dataclass(frozen=True)
class Target:
    """The server the exercise drives."""

    base_url: str  # http://host:port of the API
    token: str  # a staff officer's API token
    cot_host: str
    cot_port: int  # 0: no units (the TAK gateway is off)


async def _every(
    stop: asyncio.Event, rng: random.Random, per_minute: float, act: Callable[[], Awaitable[None]]
) -> None:
    """Call `act` at Poisson-spaced moments until stopped."""
    while True:
        wait = next_interval(rng, per_minute)
        if wait is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait)
            return
        await act()


async def run(
    script: ExerciseScript,
    target: Target,
    tempo: Tempo,
    *,
    duration: float | None = None,
    stop: asyncio.Event | None = None,
    seed: int | None = None,
) -> Counter[str]:
    """Drive the exercise until `duration` seconds have passed or `stop` is set."""
    stop = stop or asyncio.Event()
    rng = random.Random(seed)  # noqa: S311 - simulation, not secrets
    counters: Counter[str] = Counter()
    desk = Desk(target.base_url, target.token, counters, run_id=secrets.token_hex(3))
    tasks: list[asyncio.Task[None]] = []
    try:
        if not await _wait_until_ready(desk, stop):
            return counters
        loop = asyncio.get_running_loop()
        started = loop.time()
        if target.cot_port and script.units:
            for unit in script.units:
                link = UnitLink(
                    unit,
                    target.cot_host,
                    target.cot_port,
                    report_seconds=tempo.report_seconds,
                    start_m=rng.uniform(0, unit.path.length_m),
                    counters=counters,
                )
                tasks.append(asyncio.create_task(link.run(started)))
        elif script.units:
            log.warning("exercise: the TAK gateway is off (CoT TCP port 0): no units move")
        verifications: set[asyncio.Task[None]] = set()

        async def incident() -> None:
            inject = rng.choice(script.incidents)
            try:
                filed = await desk.file_incident(inject, rng)
            except ServerRefused as exc:
                desk.failed("incident", exc)
                return
            delay = 60.0 / max(tempo.incidents_per_minute, 0.5)  # one inject interval
            task = asyncio.create_task(desk.verify(int(filed["id"]), delay, rng))
            verifications.add(task)
            task.add_done_callback(verifications.discard)

        async def tip() -> None:
            try:
                await desk.send_tip(rng.choice(script.tips), rng)
            except ServerRefused as exc:
                desk.failed("tip", exc)

        if script.incidents:
            tasks.append(
                asyncio.create_task(_every(stop, rng, tempo.incidents_per_minute, incident))
            )
        if script.tips:
            tasks.append(asyncio.create_task(_every(stop, rng, tempo.tips_per_minute, tip)))
        log.info(
            "exercise: %d units report every %.0f s; about %g incidents and %g tips a minute",
            len(script.units) if target.cot_port else 0,
            tempo.report_seconds,
            tempo.incidents_per_minute,
            tempo.tips_per_minute,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
        tasks.extend(verifications)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await desk.close()
    return counters


async def _wait_until_ready(desk: Desk, stop: asyncio.Event) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_SECONDS
    while True:
        try:
            if await desk.ready():
                break
        except ServerRefused as exc:
            desk.failed("start", exc)
            return False
        if stop.is_set():
            return False
        if loop.time() > deadline:
            desk.failed("start", ServerRefused("the server did not answer with the staff token"))
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    return not stop.is_set()


class InBackground:
    """The driver on a thread of its own, next to a server in the same process (`cmcc demo`):
    whatever happens to the driver, the server goes on."""

    def __init__(self, script: ExerciseScript, target: Target, tempo: Tempo) -> None:
        self.script, self.target, self.tempo = script, target, tempo
        self.counters: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = threading.Event()  # asked to stop, maybe before the loop runs
        self._thread = threading.Thread(target=self._main, name="cmcc-exercise", daemon=True)

    def start(self) -> InBackground:
        self._thread.start()
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._drive())
        except Exception:  # never let the driver take anything else down
            log.exception("exercise: the driver stopped on an error")

    async def _drive(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        if self._stopping.is_set():
            self._stop.set()
        self.counters = await run(self.script, self.target, self.tempo, stop=self._stop)

    def stop(self, timeout: float = 15.0) -> Counter[str]:
        """Stop the driver and wait for it (at most `timeout` seconds); its counters."""
        self._stopping.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        return self.counters
