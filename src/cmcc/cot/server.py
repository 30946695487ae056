"""The CoT server: asyncio TCP streaming and UDP, XML and TAK Protocol v1 (after negotiation).

Each connection has a reader and a writer task and a bounded queue: an event is encoded once
per encoding and offered to every receiver; a receiver whose queue is full is dropped, so one
slow subscriber never slows the others. The latest non-stale event of every uid is replayed
to a client that joins. Positions and spot markers go to the platform in batches (`Sink`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cmcc.cot import codec
from cmcc.cot.event import CotError, CotEvent, Encoding
from cmcc.cot.framing import FrameError, ProtoStreamSplitter, XmlStreamSplitter, frame_proto

log = logging.getLogger("cmcc.cot")
SWEEP_SECONDS = 5.0
FLUSH_SECONDS = 0.1
FLUSH_EVENTS = 5000
MAX_PENDING = 200_000  # events waiting for the platform before the oldest are shed


@dataclass(frozen=True)
class Peer:
    """Who a device is, once known (`Sink.identify`): its organization, and whether it may
    receive other devices' traffic under the relay policy."""

    org_code: str | None
    relays: bool


class Sink(Protocol):
    """The platform side of the gateway (cmcc.cot.gateway)."""

    def identify(self, uid: str, callsign: str | None) -> Peer: ...

    def ingest(self, events: Sequence[CotEvent]) -> int: ...

    def picture(self, org_code: str | None) -> list[CotEvent]: ...

    def record(self, org_code: str | None, kind: str, record_id: int) -> list[CotEvent]: ...


@dataclass(frozen=True)
class Limits:
    max_clients: int = 1000
    max_event_bytes: int = 65_536
    client_buffer_bytes: int = 1 << 20
    idle_seconds: float = 60.0
    relay_open: bool = False


@dataclass(eq=False)
class Client:
    """One connection. Events for it are queued during a turn of the event loop and written in
    one call at the end of the turn; what the socket cannot take yet waits in the transport's
    buffer, and a client whose buffer passes the limit is dropped (it is too slow)."""

    writer: asyncio.StreamWriter
    name: str
    server: CotServer
    encoding: Encoding = Encoding.XML
    uid: str | None = None
    callsign: str | None = None
    peer: Peer | None = None
    last_heard: float = field(default_factory=time.monotonic)
    queue: list[bytes] = field(default_factory=list)
    closed: bool = False
    sent: int = 0
    shown: set[str] = field(default_factory=set)  # uids of the platform's records it was sent

    def offer(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.queue:
            self.server.dirty.append(self)
            self.server.schedule_writes()
        self.queue.append(data)

    def show(self, ev: CotEvent, cache: dict[Encoding, bytes]) -> None:
        """Offer an event of the platform's picture; a delete only when it names a uid this
        client was shown (deletes of records it may no longer read must not tell a client
        that never had them that they exist)."""
        if ev.is_delete:
            had = self.shown.intersection(ev.link_uids)
            if not had:
                return
            self.shown.difference_update(had)
        else:
            self.shown.add(ev.uid)
        self.offer(self.frame(ev, cache))

    def frame(self, ev: CotEvent, cache: dict[Encoding, bytes]) -> bytes:
        data = cache.get(self.encoding)
        if data is None:
            body = codec.encode(ev, self.encoding)
            data = frame_proto(body) if self.encoding is Encoding.PROTO else body
            cache[self.encoding] = data
        return data


class CotServer:
    def __init__(
        self,
        sink: Sink | None,
        limits: Limits,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.sink = sink
        self.limits = limits
        self.clock = clock
        self.clients: set[Client] = set()
        self.latest: dict[str, tuple[CotEvent, Peer | None]] = {}  # uid -> event, its sender
        self.pending: list[CotEvent] = []
        self.shed = 0
        self.received = 0
        self._servers: list[asyncio.Server] = []
        self._transports: list[asyncio.DatagramTransport] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.dirty: list[Client] = []
        self._replays: set[asyncio.Task[None]] = set()
        self._writes_scheduled = False

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self, host: str, tcp_ports: Iterable[int], udp_port: int | None = None) -> None:
        """Listen on every TCP port given (0: any free port) and on the UDP port, if any."""
        for port in tcp_ports:
            self._servers.append(await asyncio.start_server(self._serve, host, port))
        if udp_port is not None:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=(host, udp_port)
            )
            self._transports.append(transport)
        self._tasks.append(asyncio.create_task(self._sweep()))
        if self.sink is not None:
            self._tasks.append(asyncio.create_task(self._flush_loop()))

    @property
    def ports(self) -> list[int]:
        return [s.sockets[0].getsockname()[1] for s in self._servers]

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for transport in self._transports:
            transport.close()
        for client in list(self.clients):
            self._drop(client, "server stopping")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._flush()

    # -- connections -------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if len(self.clients) >= self.limits.max_clients:
            log.warning("cot: connection from %s refused: %d clients", peer, len(self.clients))
            writer.close()
            return
        client = Client(writer, str(peer), self)
        self.clients.add(client)
        try:
            client.offer(codec.protocol_support())
            await self._replay(client, None)
            await self._read(client, reader)
        except (FrameError, CotError) as exc:
            log.info("cot: %s dropped: %s", client.name, exc)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._drop(client, "closed")

    async def _read(self, client: Client, reader: asyncio.StreamReader) -> None:
        splitter: XmlStreamSplitter | ProtoStreamSplitter = XmlStreamSplitter(
            self.limits.max_event_bytes
        )
        while not client.closed:
            data = await reader.read(65536)
            if not data:
                return
            client.last_heard = time.monotonic()
            for frame in splitter.feed(data):
                if client.encoding is Encoding.PROTO:
                    ev = codec.parse_proto(frame)
                else:
                    ev = codec.parse_xml(frame)
                    version = codec.requested_protocol(ev)
                    if version is not None:
                        ok = version == 1
                        client.offer(codec.protocol_response(ok))
                        if ok:  # both sides switch after the response
                            client.encoding = Encoding.PROTO
                            rest = splitter.pending()
                            splitter = ProtoStreamSplitter(self.limits.max_event_bytes)
                            if rest:
                                for more in splitter.feed(rest):
                                    self.handle(codec.parse_proto(more), client)
                            break
                        continue
                self.handle(ev, client)

    def schedule_writes(self) -> None:
        if not self._writes_scheduled:
            self._writes_scheduled = True
            asyncio.get_running_loop().call_soon(self._write_all)

    def _write_all(self) -> None:
        """Once per turn of the loop: every client's queued events in one write each."""
        self._writes_scheduled = False
        dirty, self.dirty = self.dirty, []
        limit = self.limits.client_buffer_bytes
        for client in dirty:
            if client.closed:
                continue
            client.sent += len(client.queue)
            data = b"".join(client.queue)
            client.queue.clear()
            transport = client.writer.transport
            try:
                transport.write(data)
            except (ConnectionError, RuntimeError):
                self._drop(client, "connection lost")
                continue
            if transport.get_write_buffer_size() > limit:
                self._drop(client, f"too slow: more than {limit} bytes waiting")

    def _drop(self, client: Client, why: str) -> None:
        if client.closed:
            return
        client.closed = True
        self.clients.discard(client)
        client.queue.clear()
        client.writer.close()
        if why not in ("closed", "server stopping"):
            log.info("cot: %s dropped: %s", client.name, why)

    async def _replay(self, client: Client, org_code: str | None) -> None:
        """What a client gets on joining (and again once its device is identified): the latest
        non-stale event of every uid it may receive, and the platform's picture for it."""
        now = self.clock()
        for ev, sender in list(self.latest.values()):
            if not ev.stale_at(now) and self._may_receive(client, ev, sender):
                client.offer(client.frame(ev, {}))
        if self.sink is not None:
            for ev in await asyncio.to_thread(self.sink.picture, org_code):
                client.show(ev, {})

    def _identify(self, client: Client, ev: CotEvent) -> None:
        client.uid, client.callsign = ev.uid, ev.callsign
        if self.sink is None:
            return
        client.peer = self.sink.identify(ev.uid, ev.callsign)
        if client.peer.org_code is not None or not self.limits.relay_open:
            task = asyncio.create_task(self._replay(client, client.peer.org_code))
            self._replays.add(task)  # kept until done (the loop holds tasks only weakly)
            task.add_done_callback(self._replays.discard)

    # -- routing -----------------------------------------------------------------------------
    def handle(self, ev: CotEvent, origin: Client | None) -> None:
        """Route one event from a client (or a datagram when origin is None)."""
        self.received += 1
        now = self.clock()
        if origin is not None and origin.uid is None and not ev.type.startswith("t-"):
            self._identify(origin, ev)
        if ev.is_ping:
            if origin is not None:
                origin.offer(self._pong(origin, now))
            return
        if ev.type.startswith("t-x-takp"):
            return
        if ev.stale_at(now):
            return  # stale on arrival: neither relayed nor kept
        if ev.is_delete:
            for target in ev.link_uids:
                self.latest.pop(target, None)
        elif not ev.dest_callsigns:
            self.latest[ev.uid] = (ev, origin.peer if origin is not None else None)
        self.relay(ev, origin)
        if self.sink is not None and (ev.is_position or ev.is_spot_marker):
            self.pending.append(ev)
            if len(self.pending) > MAX_PENDING:
                del self.pending[: len(self.pending) - MAX_PENDING]
                self.shed += 1

    def relay(self, ev: CotEvent, origin: Client | None) -> None:
        cache: dict[Encoding, bytes] = {}
        sender = origin.peer if origin is not None else None
        for client in self.clients:
            if client is not origin and self._may_receive(client, ev, sender):
                client.offer(client.frame(ev, cache))

    def _may_receive(self, client: Client, ev: CotEvent, sender: Peer | None) -> bool:
        if ev.dest_callsigns and client.callsign not in ev.dest_callsigns:
            return False
        if self.limits.relay_open:
            return True
        receiver = client.peer
        return bool(sender and sender.relays and receiver and receiver.relays)

    def _pong(self, client: Client, now: dt.datetime) -> bytes:
        return client.frame(codec.parse_xml(codec.pong(now)), {})

    async def platform_changed(self, kind: str, record_id: int) -> None:
        """A zone, hazard or incident changed: send it to each connected client as its
        organization may see it (the release policy runs once per organization), and a delete
        to those that were shown it and may no longer see it."""
        if self.sink is None:
            return
        by_org: dict[str | None, list[Client]] = {}
        for client in self.clients:
            by_org.setdefault(client.peer.org_code if client.peer else None, []).append(client)
        for org_code, clients in by_org.items():
            events = await asyncio.to_thread(self.sink.record, org_code, kind, record_id)
            for ev in events:
                cache: dict[Encoding, bytes] = {}
                for client in clients:
                    client.show(ev, cache)

    # -- housekeeping ------------------------------------------------------------------------
    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = self.clock()
            for uid in [u for u, (ev, _) in self.latest.items() if ev.stale_at(now)]:
                del self.latest[uid]
            quiet = time.monotonic() - self.limits.idle_seconds
            for client in [c for c in self.clients if c.last_heard < quiet]:
                self._drop(client, f"silent for {self.limits.idle_seconds:.0f} s")

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self._flush()

    async def _flush(self) -> None:
        if self.sink is None:
            return
        while self.pending:
            batch = self.pending[:FLUSH_EVENTS]
            del self.pending[:FLUSH_EVENTS]
            try:
                await asyncio.to_thread(self.sink.ingest, batch)
            except Exception:  # the gateway keeps relaying when the platform refuses a batch
                log.exception("cot: a batch of %d events was not stored", len(batch))


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, server: CotServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) > self.server.limits.max_event_bytes:
            return
        try:
            ev = codec.decode_datagram(data)
        except (CotError, FrameError):
            return
        self.server.handle(ev, None)
