"""One NATS connection per process, kept up.

The first connection is retried with backoff (0.5 s doubling to 15 s) for as long as the
process runs; once connected, nats-py reconnects by itself, forever, and keeps the
subscriptions. Every loss and every return is logged, and `status()` tells the health
endpoint. Subscriptions asked for before the first connection are made when it comes."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

log = logging.getLogger("cmcc.broker")
FIRST_DELAY, MAX_DELAY = 0.5, 15.0
Handler = Callable[[Msg], Awaitable[None]]


def servers_of(url: str) -> list[str]:
    return [part.strip() for part in url.split(",") if part.strip()]


def shown(url: str) -> str:
    """A server's address without its credentials (for logs and the health endpoint)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


class Broker:
    def __init__(self, url: str, namespace: str, role: str) -> None:
        self.servers = servers_of(url)
        self.namespace = namespace
        self.name = f"cmcc-{role}@{socket.gethostname()}:{os.getpid()}"
        self.nc = Client()
        self.state = "not started"
        self.since = dt.datetime.now(dt.UTC)
        self.last_error: str | None = None
        self.errors = 0
        self._wanted: list[tuple[str, Handler, str]] = []
        self.on_reconnected: list[Callable[[], Awaitable[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    def subject(self, *tokens: str) -> str:
        return ".".join((self.namespace, *tokens))

    @property
    def connected(self) -> bool:
        return self.nc.is_connected

    # -- life ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Begin connecting (returns at once; the connection comes when NATS answers)."""
        if self._task is None:
            self._connected = asyncio.Event()
            self._task = asyncio.create_task(self._connect_loop())

    async def wait_connected(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)
        return self.connected

    async def stop(self) -> None:
        self._set("closing")  # not a loss: nothing to log
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.drain(), 5)
            with contextlib.suppress(Exception):
                await self.nc.close()
        self._set("closed")

    async def _connect_loop(self) -> None:
        delay = FIRST_DELAY
        self._set("connecting")
        while True:
            try:
                await self.nc.connect(
                    servers=self.servers,
                    name=self.name,
                    no_echo=True,  # this process's own events are delivered here directly
                    connect_timeout=2,
                    reconnect_time_wait=1,
                    max_reconnect_attempts=1,  # the first connection: retried here, with backoff
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    closed_cb=self._on_closed,
                )
                break
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "broker: NATS at %s does not answer (%s); again in %.1f s",
                    ", ".join(shown(s) for s in self.servers),
                    self.last_error,
                    delay,
                )
                self.nc = Client()
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
        for subject, handler, queue in self._wanted:
            await self.nc.subscribe(subject, queue=queue, cb=handler)
        self._set("connected")
        log.info("broker: connected to NATS at %s", self._current())
        self._connected.set()

    def _current(self) -> str:
        url = self.nc.connected_url
        return shown(url.geturl()) if url is not None else "?"

    def _set(self, state: str) -> None:
        self.state = state
        self.since = dt.datetime.now(dt.UTC)

    async def _on_error(self, exc: Exception) -> None:
        """nats-py's errors, one per failed attempt while it reconnects: counted, and logged
        at the 1st, 2nd, 4th, 8th ... (the connection loop logs its own)."""
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.errors += 1
        if self.state != "connecting" and self.errors & (self.errors - 1) == 0:
            log.warning("broker: NATS error (%d so far): %s", self.errors, self.last_error)

    async def _on_disconnected(self) -> None:
        if self.state == "connected":
            self._set("disconnected")
            log.error("broker: lost the connection to NATS; reconnecting")

    async def _on_reconnected(self) -> None:
        self._set("connected")
        log.warning("broker: reconnected to NATS at %s", self._current())
        for callback in self.on_reconnected:
            await callback()

    async def _on_closed(self) -> None:
        if self.state != "closed":
            self._set("closed")

    # -- use ----------------------------------------------------------------------------------
    async def subscribe(self, subject: str, handler: Handler, queue: str = "") -> None:
        """Subscribe now, or as soon as connected; kept across reconnections."""
        if self.connected:
            await self.nc.subscribe(subject, queue=queue, cb=handler)
        else:
            self._wanted.append((subject, handler, queue))

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> bool:
        """Publish (core NATS: at most once); False when not connected yet or closed (while
        reconnecting, nats-py keeps what is published in its buffer)."""
        if self.state in ("not started", "connecting", "closed"):
            return False
        try:
            await self.nc.publish(subject, payload, headers=headers)
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        return True

    def jetstream(self) -> JetStreamContext:
        return self.nc.jetstream()

    def status(self) -> dict[str, Any]:
        return {
            "kind": "nats",
            "ok": self.connected,
            "state": self.state,
            "since": self.since.isoformat(),
            "servers": [shown(s) for s in self.servers],
            "last_error": self.last_error,
        }
