"""The event bus: live feeds (server-sent events), alerts, and the changes other parts follow.

An event is a small JSON object that names records, never carries them: `{"type": "alert",
"id": 7}`, `{"type": "changed", "table": "zones", "ids": [3]}`. Whoever receives one reads the
record again through the release policy, so nothing marked travels on the bus.

`EventBus` is the in-process bus of one `cmcc serve`. With CMCC_NATS_URL set, the composition
root uses `cmcc.broker.bus.NatsBus` instead, which also carries every event to the other
instances and delivers theirs here: its subscribers and listeners cannot tell the difference,
except that a listener may ask for the other instances' events only (`remote_only`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("cmcc.events")
Event = dict[str, Any]
Listener = Callable[[Event], None]


@dataclass
class Subscription:
    queue: asyncio.Queue[Event]
    loop: asyncio.AbstractEventLoop


@dataclass
class EventBus:
    max_queue: int = 1000
    _subs: list[Subscription] = field(default_factory=list)
    _listeners: list[tuple[Listener, bool]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def start(self) -> None:
        """Connect to the other instances (nothing to do in one process)."""

    async def stop(self) -> None:
        """Disconnect (nothing to do in one process)."""

    # -- subscribers (an asyncio queue each: the live feeds) --------------------------------
    def subscribe(self) -> Subscription:
        sub = Subscription(asyncio.Queue(self.max_queue), asyncio.get_running_loop())
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    # -- listeners (a function each: the geofence, the TAK gateway) -------------------------
    def listen(self, listener: Listener, *, remote_only: bool = False) -> None:
        """Call `listener` with every event, in the thread that delivers it; with
        `remote_only`, only with the events of other instances (a listener that already
        applied its own instance's changes in the writing transaction)."""
        with self._lock:
            self._listeners.append((listener, remote_only))

    def unlisten(self, listener: Listener) -> None:
        with self._lock:
            self._listeners = [(f, r) for f, r in self._listeners if f is not listener]

    # -- publishing ----------------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        """Safe from any thread; a subscriber whose queue is full misses the event (bounded
        memory: one slow reader never slows the others)."""
        self.deliver(event, remote=False)
        self.forward(event)

    def forward(self, event: Event) -> None:
        """To the other instances: nothing here (one process)."""

    def deliver(self, event: Event, *, remote: bool) -> None:
        """To this instance's subscribers and listeners."""
        with self._lock:
            subs = list(self._subs)
            listeners = [f for f, remote_only in self._listeners if remote or not remote_only]
        for sub in subs:
            with contextlib.suppress(RuntimeError):  # its loop has closed
                sub.loop.call_soon_threadsafe(_offer, sub.queue, event)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # one listener's fault never stops the others or the writer
                log.exception("events: a listener failed on %s", event.get("type"))

    def status(self) -> dict[str, Any]:
        """What the health endpoint reports of the bus."""
        return {"kind": "in-process", "ok": True}


def _offer(queue: asyncio.Queue[Event], event: Event) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(event)
