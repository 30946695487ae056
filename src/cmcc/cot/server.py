"""The CoT server: asyncio TCP streaming and UDP, XML and TAK Protocol v1 (after negotiation).

Each connection has a reader and a writer task and a bounded queue: an event is encoded once
per encoding and offered to every receiver; a receiver whose queue is full is dropped (its
socket aborted), so one slow subscriber never slows the others. The latest non-stale event of
every uid that may be replayed is kept, within caps, and replayed to a client that joins.
Positions and spot markers go to the platform in batches (`Sink`), attributed to the device
their connection was identified as.

Identity: a connection on a TLS port is identified by its client certificate (`Sink.
identify_certificates`), before anything it sends is read, and checked again at every sweep
(a certificate revoked or expired meanwhile, or its device removed, closes it). A plain
connection is identified by its first event (trust on first use). After that a connection
speaks only for itself: an event that names another registered device (its uid, its callsign,
or a delete of it) is refused and counted. A UDP datagram has no identity: one that names a
registered device is refused, unless `udp_trusted` (a closed network).

Relay: under the mission relay a registered device's traffic reaches the registered devices
whose organization may see the device's marking (`Peer.reaches`, the release policy's
`may_see`); under the open relay, every client.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from cmcc.core.releasability import Marking, MarkingKind, Viewer, may_see
from cmcc.cot import codec, fastpath
from cmcc.cot.event import CotError, CotEvent, Encoding, Registry, Report
from cmcc.cot.framing import FrameError, ProtoStreamSplitter, XmlStreamSplitter, frame_proto

log = logging.getLogger("cmcc.cot")
SWEEP_SECONDS = 5.0
RECHECK_SECONDS = 60.0  # open TLS connections' certificates checked again at least this often
FLUSH_SECONDS = 0.1
FLUSH_EVENTS = 5000
HANDSHAKE_SECONDS = 10.0  # a TLS client that has not finished its handshake by then is closed
MAX_PENDING = 200_000  # events waiting for the platform before the oldest are shed


MISSION = Marking(MarkingKind.MISSION)


@dataclass(frozen=True)
class Peer:
    """Who a device is, once known (`Sink.identify`, or its certificate on a TLS port): the
    registered device (its uid, callsign), its organization (id, code, member of the mission
    or not) and the marking of its traffic (its registration's). An unregistered device has
    no organization: under the mission relay it neither sends nor receives relayed traffic."""

    org_id: int | None
    org_code: str | None
    member: bool = False
    device_uid: str | None = None
    cot_type: str | None = None  # its unit's CoT type: its own positions are relayed with it
    marking: Marking = MISSION
    callsign: str | None = None
    viewer: Viewer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "viewer", Viewer(self.org_id, self.org_code, self.member))

    @property
    def relays(self) -> bool:
        """A registered device: it may send and receive relayed traffic (mission relay)."""
        return self.org_id is not None

    def reaches(self, receiver: Peer | None) -> bool:
        """The relay rule: this device's traffic reaches a registered receiver whose
        organization may see this device's marking (its organization owns it). For a member
        device marked `mission`: every member organization's devices."""
        if self.org_id is None or receiver is None or receiver.org_id is None:
            return False
        return may_see(self.marking, self.org_id, receiver.viewer)


class Mesh(Protocol):
    """The other gateways of the platform (cmcc.cot.mesh): what this one relays goes to them,
    and what they relay comes in through `CotServer.from_mesh`."""

    def send(self, ev: CotEvent, sender: Peer | None) -> None: ...

    def want(self, receivers: int) -> None:
        """How many of this gateway's clients may receive relayed traffic now."""


class Sink(Protocol):
    """The platform side of the gateway (cmcc.cot.gateway)."""

    def identify(self, uid: str, callsign: str | None) -> Peer: ...

    def identify_certificates(self, certificates: Sequence[bytes]) -> list[Peer | None]:
        """The registered device each client certificate (DER) is bound to, None for one the
        platform does not know, revoked or expired (called at connection, and again for the
        open connections when `certificates_state` changes or the registered devices do)."""
        ...

    def certificates_state(self) -> object:
        """A value that changes when a certificate is revoked (cheap: read at every sweep)."""
        ...

    def registered(self) -> Registry: ...

    def ingest(self, reports: Sequence[Report]) -> int: ...

    def picture(self, org_code: str | None) -> list[CotEvent]: ...

    def record(self, org_code: str | None, kind: str, record_id: int) -> list[CotEvent]: ...

    def task(self, task_id: int) -> list[tuple[frozenset[str], list[CotEvent]]]: ...

    def device_tasks(self, device_uid: str) -> list[CotEvent]: ...


@dataclass(frozen=True)
class Limits:
    max_clients: int = 1000
    max_event_bytes: int = 65_536
    client_buffer_bytes: int = 1 << 20
    idle_seconds: float = 60.0
    relay_open: bool = False
    udp_trusted: bool = False  # datagrams may speak for registered devices (closed network)
    max_kept: int = 20_000  # latest events kept for replay, in all
    max_kept_per_client: int = 500  # ... and from one sender
    max_kept_seconds: float = 86_400.0  # kept at most this long, whatever stale time is set


class Kept(NamedTuple):
    """A latest event kept for replay: its sender, the key of who stored it, until when."""

    event: CotEvent
    sender: Peer | None
    owner: str
    until: dt.datetime


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
    certificate: bytes | None = None  # its client certificate (DER), on a TLS port
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
        self.latest: OrderedDict[str, Kept] = OrderedDict()  # uid -> kept, oldest first
        self.kept_by: dict[str, OrderedDict[str, None]] = {}  # owner -> its uids, oldest first
        self.registry = Registry()
        self.pending: list[Report] = []
        self._flushing = asyncio.Lock()
        self.shed = 0
        self.received = 0
        self.refused = 0  # events that spoke for another registered device
        self._servers: list[asyncio.Server] = []
        self._tls_servers: list[asyncio.Server] = []
        self._tls: ssl.SSLContext | None = None
        self.tls_refused: dict[str, int] = {}  # handshakes refused, by reason
        self._checked: tuple[object, frozenset[str], float] | None = None  # what was seen
        self._transports: list[asyncio.DatagramTransport] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.dirty: list[Client] = []
        self._replays: set[asyncio.Task[None]] = set()
        self._writes_scheduled = False
        self.mesh: Mesh | None = None
        self.receivers = 0  # clients that may receive relayed traffic (under the mission relay)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(
        self,
        host: str,
        tcp_ports: Iterable[int],
        udp_port: int | None = None,
        *,
        tls_ports: Iterable[int] = (),
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """Listen on every TCP port given (0: any free port), on the UDP port, if any, and on
        every TLS port with the context given (which requires client certificates)."""
        await self.refresh_registry()
        for port in tcp_ports:
            self._servers.append(await asyncio.start_server(self._serve, host, port))
        self._tls = tls
        for port in tls_ports:
            if tls is None:
                raise ValueError("a TLS port needs a TLS context")
            self._tls_servers.append(await asyncio.start_server(self._serve_tls, host, port))
        if udp_port is not None:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=(host, udp_port)
            )
            self._transports.append(transport)
        self._tasks.append(asyncio.create_task(self._sweep()))
        if self.sink is not None:
            self._tasks.append(asyncio.create_task(self._flush_loop()))

    async def refresh_registry(self) -> None:
        """Read the registered devices again (at start, then at every sweep)."""
        if self.sink is not None:
            self.registry = await asyncio.to_thread(self.sink.registered)

    @property
    def _kernel_buffer(self) -> int:
        """The send buffer the kernel keeps per client (it doubles it): bounded by the client
        buffer cap, so that a client that does not read soon fills the server's own buffer,
        which the cap measures, instead of megabytes of kernel memory the cap never sees."""
        return self.limits.client_buffer_bytes

    @property
    def ports(self) -> list[int]:
        return [s.sockets[0].getsockname()[1] for s in self._servers]

    @property
    def tls_ports(self) -> list[int]:
        return [s.sockets[0].getsockname()[1] for s in self._tls_servers]

    async def stop(self) -> None:
        for server in self._servers + self._tls_servers:
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
    async def _serve_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The TLS handshake (a certificate of the platform's authority, not revoked, not
        expired), then the device of the certificate, before anything it sends is read."""
        address = writer.get_extra_info("peername")
        try:
            await writer.start_tls(self._tls, ssl_handshake_timeout=HANDSHAKE_SECONDS)  # type: ignore[arg-type]
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            self._handshake_refused(address, exc)
            writer.transport.abort()
            return
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        peer = None
        if der is not None and self.sink is not None:
            try:
                (peer,) = await asyncio.to_thread(self.sink.identify_certificates, [der])
            except Exception:
                log.exception("cot: the certificate of %s was not checked", address)
        if der is None or peer is None or peer.device_uid is None:
            log.warning(
                "cot: TLS connection from %s closed: its certificate is not bound to a "
                "registered device (unknown, revoked or expired, or its device removed)",
                address,
            )
            writer.close()
            return
        await self._serve(reader, writer, peer, der)

    def _handshake_refused(self, address: object, exc: BaseException) -> None:
        """Count a refused handshake by its reason; log the 1st, 2nd, 4th, 8th... of each."""
        reason = (
            getattr(exc, "verify_message", None)
            or getattr(exc, "reason", None)
            or str(exc)
            or type(exc).__name__
        )
        count = self.tls_refused[reason] = self.tls_refused.get(reason, 0) + 1
        if count & (count - 1) == 0:
            log.warning(
                "cot: TLS connection from %s refused at the handshake: %s (%d so far)",
                address,
                reason,
                count,
            )

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: Peer | None = None,
        certificate: bytes | None = None,
    ) -> None:
        address = writer.get_extra_info("peername")
        if len(self.clients) >= self.limits.max_clients:
            log.warning("cot: connection from %s refused: %d clients", address, len(self.clients))
            writer.close()
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:  # what waits for a client waits where the buffer cap sees it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._kernel_buffer)
        client = Client(writer, str(address), self)
        self.clients.add(client)
        try:
            client.offer(codec.protocol_support())
            if peer is None:
                await self._replay(client, None, latest=self.limits.relay_open)
            else:  # certified: it is its device from the start
                client.uid, client.callsign, client.certificate = (
                    peer.device_uid,
                    peer.callsign,
                    certificate,
                )
                self._set_peer(client, peer)
                await self._replay(client, peer.org_code, latest=True)
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
                    ev = fastpath.parse_proto(frame)
                else:
                    ev = fastpath.parse_position(frame) or codec.parse_xml(frame)
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
                                    self.handle(fastpath.parse_proto(more), client)
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
        """Close the connection. A client dropped for a fault (too slow, silent, garbage) is
        aborted: what waits for it is discarded at once and its socket closed, since a graceful
        close would wait for a reader that does not read."""
        if client.closed:
            return
        client.closed = True
        self.clients.discard(client)
        client.queue.clear()
        if client.peer is not None and client.peer.relays:
            self._receivers(-1)
        if why in ("closed", "server stopping"):
            client.writer.close()
        else:
            client.writer.transport.abort()
            log.info("cot: %s dropped: %s", client.name, why)

    async def _replay(self, client: Client, org_code: str | None, *, latest: bool) -> None:
        """What a client gets: on joining, the public picture (and, under the open relay, the
        latest events); once its device is identified as a registered one, the latest events
        it may now receive (never its own) and its organization's picture (what it has not
        been shown yet)."""
        if latest:
            now = self.clock()
            for kept in list(self.latest.values()):
                ev = kept.event
                if (
                    kept.until > now
                    and ev.uid != client.uid
                    and self._may_receive(client, ev, kept.sender)
                ):
                    client.offer(client.frame(ev, {}))
        if self.sink is not None:
            for ev in await asyncio.to_thread(self.sink.picture, org_code):
                if ev.uid not in client.shown:
                    client.show(ev, {})
            device = client.peer.device_uid if client.peer is not None else None
            if device is not None and org_code is not None:  # its unit's open tasks
                for ev in await asyncio.to_thread(self.sink.device_tasks, device):
                    client.show(ev, {})

    def _identify(self, client: Client, ev: CotEvent) -> None:
        client.uid, client.callsign = ev.uid, ev.callsign
        if self.sink is None:
            return
        self._set_peer(client, self.sink.identify(ev.uid, ev.callsign))
        if client.peer is not None and client.peer.org_code is not None:
            task = asyncio.create_task(
                self._replay(client, client.peer.org_code, latest=not self.limits.relay_open)
            )
            self._replays.add(task)  # kept until done (the loop holds tasks only weakly)
            task.add_done_callback(self._replays.discard)

    def _set_peer(self, client: Client, peer: Peer) -> None:
        """Who the client is (at identification, or again when its certificate is checked)."""
        before = client.peer is not None and client.peer.relays
        client.peer = peer
        if peer.relays != before:
            self._receivers(+1 if peer.relays else -1)

    # -- routing -----------------------------------------------------------------------------
    def handle(self, ev: CotEvent, origin: Client | None) -> None:
        """Route one event from a client (or a datagram when origin is None)."""
        self.received += 1
        now = self.clock()
        if origin is not None and origin.uid is None and not ev.type.startswith("t-"):
            self._identify(origin, ev)
        elif origin is not None and origin.callsign is None and ev.uid == origin.uid:
            origin.callsign = ev.callsign  # a certified device registered without a callsign
        if ev.is_ping:
            if origin is not None:
                origin.offer(self._pong(origin, now))
            return
        if ev.type.startswith("t-x-takp"):
            return
        if ev.stale_at(now):
            return  # stale on arrival: neither relayed nor kept
        ev = self._unit_typed(ev, origin)
        allowed, device = self._attributed(ev, origin)
        if not allowed:
            self.refused += 1
            if self.refused & (self.refused - 1) == 0:  # 1, 2, 4, 8 ...: the log stays short
                log.warning(
                    "cot: %s spoke for another registered device (%s); refused (%d so far)",
                    origin.name if origin else "a datagram",
                    ev.uid,
                    self.refused,
                )
            return
        if ev.is_delete:
            owner = self._owner(origin)
            for target in ev.link_uids:
                kept = self.latest.get(target)
                if kept is not None and kept.owner == owner:
                    self._forget(target)
        elif not ev.dest_callsigns and self._replayable(origin):
            self._keep(ev, origin, now)
        self.relay(ev, origin)
        if self.sink is not None and (ev.is_position or ev.is_spot_marker):
            own = origin is None or ev.uid == origin.uid
            self.pending.append(Report(ev, device, own))
            if len(self.pending) > MAX_PENDING:
                del self.pending[: len(self.pending) - MAX_PENDING]
                self.shed += 1

    @staticmethod
    def _unit_typed(ev: CotEvent, origin: Client | None) -> CotEvent:
        """A linked device's own position, with its unit's CoT type (kept, relayed and stored
        so)."""
        if origin is None or origin.peer is None or origin.peer.cot_type is None:
            return ev
        unit_type = origin.peer.cot_type
        if ev.uid != origin.uid or not ev.is_position or ev.type == unit_type:
            return ev
        return codec.retyped(ev, unit_type)

    def _attributed(self, ev: CotEvent, origin: Client | None) -> tuple[bool, str | None]:
        """Whether the event may pass, and the registered device it is attributed to (None:
        an unregistered or anonymous sender). It may not pass when it speaks for a registered
        device its sender is not: another device's uid or callsign, or a delete of it; for a
        datagram, any registered device unless datagrams are trusted."""
        if origin is None:
            named = self.registry.device_of(ev)
            return (named is None or self.limits.udp_trusted), named
        device = origin.peer.device_uid if origin.peer is not None else None
        if self.registry.claims_other(ev, device):
            return False, device
        return True, device

    def _owner(self, origin: Client | None) -> str:
        """Who stores a kept event, for the caps and for deletes: the connection's uid."""
        if origin is None:
            return "udp"
        return origin.uid or origin.name

    def _replayable(self, origin: Client | None) -> bool:
        """Whether an event of this sender could ever be replayed to anyone: under the mission
        relay, only those of registered member devices."""
        if self.limits.relay_open:
            return True
        return origin is not None and origin.peer is not None and origin.peer.relays

    def _keep(self, ev: CotEvent, origin: Client | None, now: dt.datetime) -> None:
        """Keep the uid's latest event for replay, until its stale time (at most
        `max_kept_seconds` ahead), within the caps per sender and in all (oldest out)."""
        sender = origin.peer if origin is not None else None
        self._store_kept(ev, sender, self._owner(origin), now)

    def _store_kept(self, ev: CotEvent, sender: Peer | None, owner: str, now: dt.datetime) -> None:
        limits = self.limits
        until = min(ev.stale, now + dt.timedelta(seconds=limits.max_kept_seconds))
        self._forget(ev.uid)
        self.latest[ev.uid] = Kept(ev, sender, owner, until)
        mine = self.kept_by.setdefault(owner, OrderedDict())
        mine[ev.uid] = None
        while len(mine) > limits.max_kept_per_client:
            self._forget(next(iter(mine)))
        while len(self.latest) > limits.max_kept:
            self._forget(next(iter(self.latest)))

    def _forget(self, uid: str) -> None:
        kept = self.latest.pop(uid, None)
        if kept is None:
            return
        mine = self.kept_by.get(kept.owner)
        if mine is not None:
            mine.pop(uid, None)
            if not mine:
                del self.kept_by[kept.owner]

    def relay(self, ev: CotEvent, origin: Client | None) -> None:
        sender = origin.peer if origin is not None else None
        self._relay_here(ev, origin, sender)
        if self.mesh is not None and (self.limits.relay_open or (sender and sender.relays)):
            self.mesh.send(ev, sender)

    def _relay_here(self, ev: CotEvent, origin: Client | None, sender: Peer | None) -> None:
        cache: dict[Encoding, bytes] = {}
        for client in self.clients:
            if client is not origin and self._may_receive(client, ev, sender):
                client.offer(client.frame(ev, cache))

    def from_mesh(self, ev: CotEvent, sender: Peer | None, gateway: str) -> None:
        """An event another gateway relayed: to this gateway's clients under the same policy,
        and kept for replay (never stored: its own gateway sent it to the platform)."""
        now = self.clock()
        if ev.stale_at(now):
            return
        owner = f"mesh:{gateway}:{sender.device_uid if sender else 'udp'}"
        if ev.is_delete:
            for target in ev.link_uids:
                kept = self.latest.get(target)
                if kept is not None and kept.owner == owner:
                    self._forget(target)
        elif not ev.dest_callsigns:
            self._store_kept(ev, sender, owner, now)
        self._relay_here(ev, None, sender)

    def _receivers(self, change: int) -> None:
        self.receivers += change
        if self.mesh is not None:
            self.mesh.want(self.receivers)

    def _may_receive(self, client: Client, ev: CotEvent, sender: Peer | None) -> bool:
        if ev.dest_callsigns and client.callsign not in ev.dest_callsigns:
            return False
        if self.limits.relay_open:
            return True
        return sender is not None and sender.reaches(client.peer)

    def _pong(self, client: Client, now: dt.datetime) -> bytes:
        return client.frame(codec.parse_xml(codec.pong(now)), {})

    async def platform_changed(self, kind: str, record_id: int) -> None:
        """A zone, hazard or incident changed: send it to each connected client as its
        organization may see it (the release policy runs once per organization), and a delete
        to those that were shown it and may no longer see it."""
        if self.sink is None:
            return
        if kind == "task":
            await self.task_changed(record_id)
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

    async def refresh_pictures(self) -> None:
        """Send every connected client its organization's picture again, so that what stays
        in the picture gets a new stale time (the platform's items are stale within the
        hour; a client drops them unless they come again)."""
        if self.sink is None:
            return
        by_org: dict[str | None, list[Client]] = {}
        for client in self.clients:
            by_org.setdefault(client.peer.org_code if client.peer else None, []).append(client)
        for org_code, clients in by_org.items():
            for ev in await asyncio.to_thread(self.sink.picture, org_code):
                cache: dict[Encoding, bytes] = {}
                for client in clients:
                    if not client.closed:
                        client.show(ev, cache)

    async def task_changed(self, task_id: int) -> None:
        """A task was issued or changed: to the connected devices of its unit, the task (or
        a delete once it is closed), as each device's organization may read it."""
        if self.sink is None:
            return
        for uids, events in await asyncio.to_thread(self.sink.task, task_id):
            receivers = [
                c for c in self.clients if c.peer is not None and c.peer.device_uid in uids
            ]
            for ev in events:
                cache: dict[Encoding, bytes] = {}
                for client in receivers:
                    client.show(ev, cache)

    # -- housekeeping ------------------------------------------------------------------------
    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = self.clock()
            for uid in [u for u, kept in self.latest.items() if kept.until <= now]:
                self._forget(uid)
            quiet = time.monotonic() - self.limits.idle_seconds
            for client in [c for c in self.clients if c.last_heard < quiet]:
                self._drop(client, f"silent for {self.limits.idle_seconds:.0f} s")
            try:
                await self.refresh_registry()
            except Exception:  # the gateway keeps running on the registry it has
                log.exception("cot: the registered devices were not read again")
            try:
                await self.check_certificates()
            except Exception:
                log.exception("cot: the certificates of the TLS clients were not checked")

    async def check_certificates(self, *, force: bool = False) -> None:
        """Check the certificate of every TLS client again when a certificate was revoked or
        the registered devices changed since the last check, and at least every
        RECHECK_SECONDS (an expiry, a new marking; `force`: now): a client whose certificate
        was revoked or expired, or whose device was removed, is dropped; one whose
        registration changed (organization, marking) is relayed under the new one."""
        certified = [c for c in self.clients if c.certificate is not None]
        if not certified or self.sink is None:
            return
        state = await asyncio.to_thread(self.sink.certificates_state)
        seen, now = (state, self.registry.uids), time.monotonic()
        if (
            not force
            and self._checked is not None
            and self._checked[:2] == seen
            and now - self._checked[2] < RECHECK_SECONDS
        ):
            return
        self._checked = (*seen, now)
        ders = list({c.certificate for c in certified if c.certificate is not None})
        found = await asyncio.to_thread(self.sink.identify_certificates, ders)
        peers = dict(zip(ders, found, strict=True))
        for client in certified:
            peer = peers.get(client.certificate) if client.certificate is not None else None
            if client.closed:
                continue
            if peer is None or peer.device_uid != client.uid:
                self._drop(
                    client,
                    "its certificate is no longer valid (revoked, expired, or its device removed)",
                )
            elif peer != client.peer:
                self._set_peer(client, peer)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self._flush()

    async def _flush(self) -> None:
        """Store what is pending, in order: one flush at a time (the loop's, or the last one at
        stop), and when it returns, what was pending when it was called is stored."""
        if self.sink is None:
            return
        async with self._flushing:
            while self.pending:
                batch = self.pending[:FLUSH_EVENTS]
                del self.pending[:FLUSH_EVENTS]
                stored = asyncio.ensure_future(asyncio.to_thread(self.sink.ingest, batch))
                try:
                    await asyncio.shield(stored)
                except asyncio.CancelledError:  # (stop) the batch in its thread ends first
                    await asyncio.wait([stored])
                    raise
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
