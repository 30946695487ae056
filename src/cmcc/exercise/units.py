"""Simulated contingent units on the TAK gateway: one TCP connection per unit, as a real device
has, each reporting only its own uid (its first event identifies it), positions encoded by
`cmcc.cot.codec` like any event the gateway reads.

What the gateway sends back (its picture, other units' positions) is read and counted, so the
connection never backs up; a lost connection is logged, counted and opened again after a pause
that grows up to half a minute."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable

from cmcc.cot import codec
from cmcc.cot.event import CotEvent, Encoding
from cmcc.exercise.domain import Fix
from cmcc.exercise.schemas import UnitSpec

log = logging.getLogger("cmcc.exercise")
MAX_BACKOFF = 30.0
GROUP = '<__group name="Cyan" role="Team Member"/>'


def position_event(unit: UnitSpec, fix: Fix, now: dt.datetime, report_seconds: float) -> CotEvent:
    """A simulated (`how="m-s"`) position with the unit's callsign, team and movement. It goes
    stale after three missed reports, so a unit whose driver stops fades from TAK screens."""
    return codec.make_event(
        unit.uid,
        unit.cot_type,
        fix.lat,
        fix.lon,
        now=now,
        stale_seconds=max(30.0, 3 * report_seconds),
        how="m-s",
        callsign=unit.callsign,
        detail_children=f'{GROUP}<track speed="{fix.speed:.1f}" course="{fix.course:.1f}"/>',
    )


class UnitLink:
    """One unit's connection to the gateway, for the whole exercise."""

    def __init__(
        self,
        unit: UnitSpec,
        host: str,
        port: int,
        *,
        report_seconds: float,
        start_m: float,
        counters: Counter[str],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.unit = unit
        self.host, self.port = host, port
        self.report_seconds = report_seconds
        self.start_m = start_m  # where on its route the unit starts (units do not bunch up)
        self.counters = counters
        self.clock = clock
        self.speed = unit.speed_kmh / 3.6
        self.route = unit.path
        self.up = True  # as far as the log has said: an outage is logged once, not per retry

    def fix(self, elapsed_s: float) -> Fix:
        return self.route.fix(self.start_m + self.speed * elapsed_s, self.speed)

    async def run(self, started: float) -> None:
        """Report until cancelled; `started` is the exercise's start on the loop's clock."""
        loop = asyncio.get_running_loop()
        backoff = 1.0
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError as exc:
                self._lost(f"cannot connect to {self.host}:{self.port}: {exc}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            drain = asyncio.create_task(self._read(reader))
            try:
                while not drain.done():
                    fix = self.fix(loop.time() - started)
                    event = position_event(self.unit, fix, self.clock(), self.report_seconds)
                    writer.write(codec.encode(event, Encoding.XML))
                    await writer.drain()
                    self.counters["positions sent"] += 1
                    if not self.up:
                        log.info("exercise: unit %s is reporting again", self.unit.callsign)
                    self.up, backoff = True, 1.0
                    await asyncio.sleep(self.report_seconds)
                self._lost("the gateway closed the connection")
            except (ConnectionError, OSError) as exc:
                self._lost(f"connection lost: {exc}")
            finally:
                drain.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                    await drain
                writer.close()
                with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                    await writer.wait_closed()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        """Take what the gateway sends (its picture, the other units), so nothing backs up."""
        while data := await reader.read(65536):
            self.counters["bytes received from the gateway"] += len(data)

    def _lost(self, why: str) -> None:
        self.counters["errors"] += 1
        self.counters["unit connection errors"] += 1
        if self.up:
            log.warning("exercise: unit %s: %s; trying again", self.unit.callsign, why)
        self.up = False
