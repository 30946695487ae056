"""The gateway's side of the positions stream (when CMCC_NATS_URL is set): instead of writing
to the database, the gateway publishes the positions and spot markers it parsed to JetStream,
where the `cmcc worker` processes take them (`cmcc.cot.jetstream`, `cmcc.cot.worker`).

Each flush of the server (every 0.1 s) becomes one message, or several when it passes
`stream.MESSAGE_BYTES`; each message carries a `Nats-Msg-Id` (this gateway's instance id and
the message's number) for JetStream's duplicate window. A message counts as delivered once
JetStream's acknowledgement (PubAck) arrives; until then it stays in the backlog and is sent
again, in order, with the same id. The backlog is bounded (`CMCC_POSITIONS_BACKLOG_EVENTS`):
while NATS is unreachable or the stream is full, the gateway keeps relaying between its
clients, and beyond the bound the oldest messages are dropped, counted and logged. Nothing
here waits on the event loop's other work: `submit` returns at once, and one task sends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js.errors import NoStreamResponseError

from cmcc.config import Settings
from cmcc.cot import jetstream
from cmcc.cot.event import Report
from cmcc.cot.stream import Names, encode, fixes_of

log = logging.getLogger("cmcc.cot")
PUBLISH_TIMEOUT = 2.0
RETRY_SECONDS = (0.1, 0.2, 0.5, 1.0, 2.0)  # waits between failed attempts, the last repeated


@dataclass(frozen=True, slots=True)
class Message:
    msg_id: str
    data: bytes
    count: int  # fixes in it


class Publisher:
    def __init__(self, settings: Settings, instance: str | None = None) -> None:
        self.settings = settings
        self.instance = instance or uuid.uuid4().hex[:12]
        self.subject = Names.of(settings.nats_namespace).subject(self.instance)
        self.limit = settings.positions_backlog_events
        self.backlog: deque[Message] = deque()
        self.queued = 0  # fixes in the backlog
        self.published = 0  # fixes acknowledged by JetStream
        self.dropped = 0  # fixes dropped from a full backlog
        self._inflight: Message | None = None  # sent, not acknowledged yet (counted in queued)
        self._number = 0
        self._drops = 0  # times the backlog overflowed (the log says so at 1, 2, 4, 8 ...)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._nc: NATS | None = None

    # -- the server's side ---------------------------------------------------------------------
    def submit(self, reports: Sequence[Report]) -> int:
        """Queue the reports the platform stores (from any thread); the number queued."""
        fixes = fixes_of(reports)
        if not fixes:
            return 0
        messages = encode(fixes)
        assert self._loop is not None, "the publisher is not started"
        self._loop.call_soon_threadsafe(self._enqueue, messages)
        return len(fixes)

    def _enqueue(self, messages: list[tuple[bytes, int]]) -> None:
        for data, count in messages:
            self._number += 1
            self.backlog.append(Message(f"{self.instance}-{self._number}", data, count))
            self.queued += count
        shed = 0
        while self.queued > self.limit and self.backlog:
            oldest = self.backlog.popleft()
            self.queued -= oldest.count
            shed += oldest.count
        if shed:
            self.dropped += shed
            self._drops += 1
            if self._drops & (self._drops - 1) == 0:
                log.error(
                    "cot: positions backlog full (%d); %d positions dropped so far (NATS %s)",
                    self.limit,
                    self.dropped,
                    "connected" if self.connected else "unreachable",
                )
        self._wake.set()

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run())

    async def close(self, drain_seconds: float = 5.0) -> None:
        """Send what is queued (for at most `drain_seconds`), then disconnect; what is left is
        logged as dropped."""
        deadline = time.monotonic() + drain_seconds
        while self.queued and self.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.queued:
            log.error("cot: %d positions not sent to NATS at shutdown", self.queued)
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def status(self) -> dict[str, int | bool]:
        return {
            "connected": self.connected,
            "backlog": self.queued,
            "published": self.published,
            "dropped": self.dropped,
        }

    # -- sending -------------------------------------------------------------------------------
    async def _connect(self) -> NATS:
        attempt = 0
        while True:
            try:
                nc = await jetstream.connect(self.settings, f"cmcc-gateway-{self.instance}")
                await jetstream.ensure_stream(nc.jetstream(), self.settings)
                return nc
            except Exception as exc:  # the gateway relays on; positions wait in the backlog
                if attempt & (attempt - 1) == 0:
                    log.warning("cot: NATS not reachable (%s); retrying", exc)
                attempt += 1
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])

    async def _run(self) -> None:
        self._nc = nc = await self._connect()
        js = nc.jetstream()
        failures = 0
        while True:
            if self._inflight is None:
                if not self.backlog:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                self._inflight = self.backlog.popleft()
            message = self._inflight
            try:
                await js.publish(
                    self.subject,
                    message.data,
                    timeout=PUBLISH_TIMEOUT,
                    headers={"Nats-Msg-Id": message.msg_id},
                )
            except Exception as exc:  # no PubAck: unreachable, the stream full or gone
                if failures & (failures - 1) == 0:
                    log.warning(
                        "cot: positions not acknowledged by NATS (%s: %s); %d waiting",
                        type(exc).__name__,
                        exc,
                        self.queued,
                    )
                failures += 1
                if isinstance(exc, NoStreamResponseError):  # the stream was removed
                    with contextlib.suppress(Exception):
                        await jetstream.ensure_stream(js, self.settings)
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1])
                continue
            if failures:
                log.warning("cot: NATS acknowledges positions again")
                failures = 0
            self._inflight = None
            self.queued -= message.count
            self.published += message.count
