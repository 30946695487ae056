"""The event bus over NATS: what `EventBus` does in one process, between every instance.

An event published here goes at once to this process's subscribers and listeners, and to
`<namespace>.events.<type>` on NATS (core NATS, at most once: the events name records that are
already committed, and a live feed that misses one loses nothing stored). Events of the other
instances arrive through one subscription and are delivered here in their order, in a worker
thread (a listener may read the database). The connection never receives its own events
(`no_echo`), so nothing is delivered twice. Events published while the connection was down
are lost to the others: when it comes back, a `{"type": "resync"}` is delivered here as if it
came from another instance, and the listeners read again what they follow."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from nats.aio.msg import Msg

from cmcc.broker.connection import Broker
from cmcc.core.events import Event, EventBus

log = logging.getLogger("cmcc.broker")
RESYNC: Event = {"type": "resync"}
MAX_WAITING = 10_000  # remote events waiting for delivery before the newest are dropped


class NatsBus(EventBus):
    def __init__(self, broker: Broker) -> None:
        super().__init__()
        self.broker = broker
        self.dropped = 0  # events not sent (no connection yet) or not delivered (backlog full)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue[Event] = asyncio.Queue(MAX_WAITING)
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._inbox = asyncio.Queue(MAX_WAITING)
        self._pump = asyncio.create_task(self._deliver_remote())
        await self.broker.subscribe(self.broker.subject("events", ">"), self._received)
        self.broker.on_reconnected.append(self._resync)
        await self.broker.start()

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        await self.broker.stop()
        self._loop = None

    def forward(self, event: Event) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            self.dropped += 1
            return
        subject = self.broker.subject("events", str(event.get("type", "event")))
        payload = orjson.dumps(event)
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(lambda: loop.create_task(self._send(subject, payload)))

    async def _send(self, subject: str, payload: bytes) -> None:
        if not await self.broker.publish(subject, payload):
            self.dropped += 1
            if self.dropped & (self.dropped - 1) == 0:  # 1, 2, 4 ...: the log stays short
                log.warning("broker: %d events not sent to the other instances", self.dropped)

    async def _received(self, msg: Msg) -> None:
        try:
            event = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            log.warning("broker: an event on %s was not JSON; ignored", msg.subject)
            return
        if not isinstance(event, dict):
            return
        try:
            self._inbox.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _resync(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._inbox.put_nowait(RESYNC)

    async def _deliver_remote(self) -> None:
        while True:
            event = await self._inbox.get()
            await asyncio.to_thread(self.deliver, event, remote=True)

    def status(self) -> dict[str, Any]:
        return {**self.broker.status(), "events_dropped": self.dropped}
