"""`cmcc worker`: positions from the JetStream stream into the database (CMCC_NATS_URL).

Every worker pulls from the one durable consumer (`cmcc.cot.jetstream`), so several share
the work. A worker fetches up to `CMCC_WORKER_BATCH_MESSAGES` messages, decodes them
(`cmcc.cot.stream`) and stores all their fixes in ONE transaction through the bridge, as the
gateway of a single process does (`Bridge.store`: tracks, geofence, alerts, spot markers, the
audit entry), and acknowledges the messages only after the commit. Delivery is at least once:
a worker that dies before acknowledging leaves its messages to another after
`CMCC_WORKER_ACK_WAIT_SECONDS`, and what it had committed is not stored twice (each fix's
idempotent key).

When the database cannot be reached the worker keeps the messages it holds, tells NATS it is
still working on them, and tries again with a growing pause (up to 5 s); it fetches nothing
more meanwhile, so the stream buffers. A message that fails for any other reason is tried
alone; one that still fails (or cannot be decoded) is terminated, and the log names its
stream sequence, so one bad message never stops the stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from cmcc.bootstrap import Platform
from cmcc.cot import jetstream
from cmcc.cot.bridge import Bridge
from cmcc.cot.stream import Fix, Names, StreamError, decode

log = logging.getLogger("cmcc.cot.worker")
FETCH_SECONDS = 1.0
GATHER_SECONDS = 0.05
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # waits while the database is unreachable
REPORT_SECONDS = 10.0


@dataclass
class Counts:
    messages: int = 0  # acknowledged
    fixes: int = 0  # decoded from them
    stored: int = 0  # records stored (a fix already stored counts for nothing)
    terminated: int = 0  # messages given up
    retries: int = 0  # transactions tried again because the database was unreachable
    since: float = field(default_factory=time.monotonic)


def unreachable(exc: BaseException) -> bool:
    """Whether a database error means "not reachable now" (try again) rather than "this
    batch cannot be stored"."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class Worker:
    def __init__(self, platform: Platform, name: str = "cmcc-worker") -> None:
        self.platform = platform
        self.settings = platform.settings
        self.bridge = Bridge(platform)
        self.name = name
        self.counts = Counts()
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        """Pull and store until `stop()`; the batch in hand is finished first."""
        nc = await self._connect()
        try:
            js = nc.jetstream()
            names = Names.of(self.settings.nats_namespace)
            sub = await js.pull_subscribe_bind(names.consumer, names.stream)
            batch = self.settings.worker_batch_messages
            reported = time.monotonic()
            while not self.stopping.is_set():
                try:
                    msgs = await self._fetch(sub, batch)
                except (nats.errors.ConnectionClosedError, nats.errors.NoServersError) as exc:
                    log.warning("%s: fetch failed (%s); retrying", self.name, exc)
                    await asyncio.sleep(1.0)
                    continue
                if msgs:
                    await self.handle(msgs)
                if time.monotonic() - reported >= REPORT_SECONDS:
                    reported = time.monotonic()
                    self._report()
        finally:
            self._report()
            with contextlib.suppress(Exception):
                await nc.close()  # what it held is acknowledged, or comes back to another

    @staticmethod
    async def _fetch(sub: JetStreamContext.PullSubscription, batch: int) -> list[Msg]:
        """Wait up to FETCH_SECONDS for a message, then take what else is there, up to
        `batch` (waiting at most GATHER_SECONDS more: a full batch under load, little delay
        when the stream is nearly empty)."""
        try:
            msgs = await sub.fetch(1, timeout=FETCH_SECONDS)
        except (nats.errors.TimeoutError, TimeoutError):  # nothing came
            return []
        if batch > 1:
            with contextlib.suppress(nats.errors.TimeoutError, TimeoutError):
                msgs.extend(await sub.fetch(batch - 1, timeout=GATHER_SECONDS))
        return msgs

    def stop(self) -> None:
        self.stopping.set()

    async def _connect(self) -> NATS:
        attempt = 0
        while True:
            try:
                nc = await jetstream.connect(self.settings, self.name)
                js = nc.jetstream()
                await jetstream.ensure_stream(js, self.settings)
                await jetstream.ensure_consumer(js, self.settings)
                return nc
            except Exception as exc:
                if attempt & (attempt - 1) == 0:
                    log.warning("%s: NATS not reachable (%s); retrying", self.name, exc)
                attempt += 1
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS)) - 1])

    # -- one fetched batch ---------------------------------------------------------------------
    async def handle(self, msgs: Sequence[Msg]) -> None:
        """Store the messages' fixes in one transaction, then acknowledge them."""
        good: list[Msg] = []
        fixes: list[Fix] = []
        for msg in msgs:
            try:
                fixes.extend(decode(msg.data))
                good.append(msg)
            except StreamError as exc:
                await self._give_up(msg, exc)
        if not good:
            return
        try:
            stored = await self._store(good, fixes)
        except Exception:
            if len(good) == 1:
                await self._give_up(good[0], None)
                return
            for msg in good:  # find the message that fails, store the others
                await self.handle([msg])
            return
        if stored is None:  # stopping while the database was unreachable
            for msg in good:
                await msg.nak()
            return
        for msg in good:
            await msg.ack()
        self.counts.messages += len(good)
        self.counts.fixes += len(fixes)
        self.counts.stored += stored

    async def _store(self, msgs: Sequence[Msg], fixes: list[Fix]) -> int | None:
        """Bridge.store in a thread, again and again while the database is unreachable (the
        messages kept meanwhile); None when asked to stop before it succeeded."""
        attempt = 0
        keep = asyncio.create_task(self._keep(msgs))
        try:
            while True:
                try:
                    return await asyncio.to_thread(self.bridge.store, fixes)
                except Exception as exc:
                    if not unreachable(exc):
                        raise
                    if attempt & (attempt - 1) == 0:
                        log.warning(
                            "%s: database unreachable (%s); %d messages kept, retrying",
                            self.name,
                            str(exc).strip().splitlines()[0],
                            len(msgs),
                        )
                    attempt += 1
                    self.counts.retries += 1
                    wait = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS)) - 1]
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), wait)
                    if self.stopping.is_set():
                        return None
        finally:
            keep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keep

    async def _keep(self, msgs: Sequence[Msg]) -> None:
        """While the batch is being stored, tell NATS every third of the ack wait that the
        worker still holds it."""
        every = self.settings.worker_ack_wait_seconds / 3
        while True:
            await asyncio.sleep(every)
            for msg in msgs:
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    async def _give_up(self, msg: Msg, exc: Exception | None) -> None:
        seq = msg.metadata.sequence.stream
        if exc is None:
            log.exception("%s: message %d of the stream not stored; terminated", self.name, seq)
        else:
            log.error("%s: message %d of the stream refused: %s; terminated", self.name, seq, exc)
        self.counts.terminated += 1
        with contextlib.suppress(Exception):
            await msg.term()

    def _report(self) -> None:
        c = self.counts
        log.info(
            "%s: %d messages, %d positions and markers (%d new records) since start; "
            "%d retries, %d terminated",
            self.name,
            c.messages,
            c.fixes,
            c.stored,
            c.retries,
            c.terminated,
        )
