"""The gateway's platform side (`Sink` of cmcc.cot.server), and its start with `cmcc serve`.

Devices are identified by uid or callsign (`cmcc.cot.devices`); positions and spot markers go
to `cmcc.cot.bridge` in batches (with CMCC_NATS_URL, to the positions stream instead:
`cmcc.cot.publisher`, stored by `cmcc worker`); what a client receives from the platform is
built by `cmcc.cot.outbound` for the client's organization, through the release policy. Changes to
zones, hazards, incidents, humanitarian notifications and tasks come on the event bus (every
committed write is announced there, `cmcc.core.written`; with CMCC_NATS_URL, the writes of
every instance), so the gateway needs no hook in those modules. The records whose validity
began or ended by the clock (a movement's window: `outbound.window_edges`) are looked for every
few seconds. Every half hour each client gets its picture again (the items are stale within
the hour). With CMCC_NATS_URL, gateways relay to each other's clients (`cmcc.cot.mesh`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.access.models import Organization
from cmcc.bootstrap import Platform
from cmcc.command.models import UnitTask
from cmcc.command.orbat import SYSTEM_VIEWER
from cmcc.core.clock import utcnow
from cmcc.core.events import Event
from cmcc.core.releasability import Marking, MarkingKind, Viewer
from cmcc.cot import devices, items, outbound, tasks, units
from cmcc.cot.bridge import Bridge
from cmcc.cot.event import CotEvent, Registry, Report
from cmcc.cot.publisher import Publisher
from cmcc.cot.server import CotServer, Limits, Peer

log = logging.getLogger("cmcc.cot")
# The tables whose written records go to the clients: table name -> kind of record.
FOLLOWED: dict[str, str] = {k.model.__tablename__: name for name, k in outbound.KINDS.items()}
FOLLOWED[UnitTask.__tablename__] = "task"  # sent to the tasked unit's devices (cmcc.cot.tasks)
WATCH_SECONDS = 3.0
TLS_REFRESH_SECONDS = 5.0  # a revoked certificate is refused at the handshake within this
REFRESH_SECONDS = items.STALE_SECONDS / 2


class PlatformSink:
    def __init__(self, platform: Platform, publisher: Publisher | None = None) -> None:
        self.platform = platform
        self.bridge = Bridge(platform)
        self.publisher = publisher  # with CMCC_NATS_URL: to the stream, not to the database
        self._viewers: dict[str | None, Viewer] = {None: Viewer.public()}
        self._clock_seen = utcnow()  # window edges up to this moment were sent

    def _viewer(self, org_code: str | None) -> Viewer:
        if org_code not in self._viewers:
            with self.platform.unit_of_work(Principal.anonymous()) as session:
                org = session.scalars(
                    select(Organization).where(Organization.code == org_code)
                ).first()
            self._viewers[org_code] = (
                Viewer(org.id, org.code, org.is_member) if org else Viewer.public()
            )
        return self._viewers[org_code]

    def identify(self, uid: str, callsign: str | None) -> Peer:
        with self.platform.unit_of_work(Principal.anonymous()) as session:
            device = devices.resolve(session, uid, callsign)
            if device is None:
                return Peer(org_id=None, org_code=None)
            return self._peers(session, [device.uid])[device.uid]

    def identify_certificates(self, certificates: Sequence[bytes]) -> list[Peer | None]:
        """The device each client certificate is bound to (`cmcc.tak.pki.device_of`: known,
        not revoked, not expired), None for the others."""
        from cmcc.tak import pki

        with self.platform.unit_of_work(Principal.anonymous()) as session:
            owners = [pki.device_of(session, der) for der in certificates]
            peers = self._peers(session, [o.uid for o in owners if o is not None])
        return [peers.get(o.uid) if o is not None else None for o in owners]

    def certificates_state(self) -> object:
        """Changes when a certificate is revoked (`cmcc.tak.pki.revocation_state`)."""
        from cmcc.tak import pki

        with self.platform.unit_of_work(Principal.anonymous()) as session:
            return pki.revocation_state(session)

    def _peers(self, session: Session, uids: Sequence[str]) -> dict[str, Peer]:
        """Registered devices as the relay sees them: organization, marking, unit type."""
        infos = devices.resolve_many(session, uids)
        lineages = units.device_units(session, uids)
        symbols = units.unit_symbols(session, set(lineages.values()), SYSTEM_VIEWER)
        out = {}
        for uid in uids:
            info = infos[uid]
            viewer = self._viewer(info.org_code)
            marking = Marking.from_stored(info.releasability, info.release_to)
            lineage = lineages.get(uid)
            symbol = symbols.get(lineage) if lineage is not None else None
            out[uid] = Peer(
                org_id=info.org_id,
                org_code=info.org_code,
                member=viewer.is_member,
                device_uid=uid,
                cot_type=self._unit_type(symbol, viewer.is_member, marking),
                marking=marking,
                callsign=info.callsign,
            )
        return out

    def _unit_type(
        self, symbol: units.UnitSymbol | None, member: bool, marking: Marking
    ) -> str | None:
        """The CoT type its positions are relayed with: its unit's, where every receiver may
        see the unit (`cmcc.cot.units.relayed_type`). Only member organizations receive the
        traffic of a member's device marked `mission` or `owner`; under `rel:` (lists that
        may name non-members) or the open relay, only a public unit's type is used."""
        members_only = (
            self.platform.settings.cot_relay != "open"
            and member
            and marking.kind in (MarkingKind.MISSION, MarkingKind.OWNER)
        )
        return units.relayed_type(symbol, relay_open=not members_only)

    def task(self, task_id: int) -> list[tuple[frozenset[str], list[CotEvent]]]:
        with self.platform.unit_of_work(Principal.anonymous()) as session:
            return tasks.deliveries(session, task_id)

    def device_tasks(self, device_uid: str) -> list[CotEvent]:
        with self.platform.unit_of_work(Principal.anonymous()) as session:
            return tasks.device_tasks(session, device_uid)

    def registered(self) -> Registry:
        with self.platform.unit_of_work(Principal.anonymous()) as session:
            return devices.registry(session)

    def ingest(self, reports: Sequence[Report]) -> int:
        """Store the reports (one process), or queue them for the stream, from which the
        `cmcc worker` processes store them (CMCC_NATS_URL)."""
        if self.publisher is not None:
            return self.publisher.submit(reports)
        return self.bridge.ingest(reports)

    def picture(self, org_code: str | None) -> list[CotEvent]:
        with self.platform.unit_of_work(Principal.anonymous()) as session:
            return outbound.picture(session, self._viewer(org_code))

    def record(self, org_code: str | None, kind: str, record_id: int) -> list[CotEvent]:
        with self.platform.unit_of_work(Principal.anonymous()) as session:
            return outbound.for_record(session, self._viewer(org_code), kind, record_id)

    def window_edges(self) -> list[tuple[str, int]]:
        """The records whose validity began or ended by the clock since the last call."""
        clock = utcnow()
        with self.platform.unit_of_work(Principal.anonymous()) as session:
            edges = outbound.window_edges(session, self._clock_seen, clock)
        self._clock_seen = clock
        return edges


async def _watch(server: CotServer, sink: PlatformSink, changes: asyncio.Queue[Change]) -> None:
    """Send what changed (from the bus), what the clock brought in or out, and every half
    hour the whole picture again."""
    loop = asyncio.get_running_loop()
    refreshed = edges_seen = loop.time()
    while True:
        pending: list[Change] = []
        with contextlib.suppress(TimeoutError):
            pending.append(await asyncio.wait_for(changes.get(), WATCH_SECONDS))
        while not changes.empty():  # what came meanwhile: a record written twice goes once
            pending.append(changes.get_nowait())
        try:
            for change in dict.fromkeys(pending):
                if change == RESYNC:
                    await server.refresh_pictures()
                else:
                    await server.platform_changed(*change)
            if loop.time() - edges_seen >= WATCH_SECONDS:
                edges_seen = loop.time()
                for kind, record_id in await asyncio.to_thread(sink.window_edges):
                    await server.platform_changed(kind, record_id)
            if loop.time() - refreshed >= REFRESH_SECONDS:
                refreshed = loop.time()
                await server.refresh_pictures()
        except Exception:
            log.exception("cot: the platform's changes were not sent")


Change = tuple[str, int]
RESYNC: Change = ("resync", 0)


def _follower(changes: asyncio.Queue[Change]) -> Any:
    """A bus listener (any thread): the written records the clients may be shown, queued for
    the watcher on the gateway's loop."""
    loop = asyncio.get_running_loop()

    def put(kind: str, ids: list[int]) -> None:
        for record_id in ids:
            changes.put_nowait((kind, record_id))

    def follow(event: Event) -> None:
        if event.get("type") == "resync":  # the broker was away: the whole picture again
            loop.call_soon_threadsafe(changes.put_nowait, RESYNC)
            return
        kind = FOLLOWED.get(str(event.get("table"))) if event.get("type") == "changed" else None
        if kind is not None:
            ids = [int(i) for i in event.get("ids", [])]
            loop.call_soon_threadsafe(put, kind, ids)

    return follow


class Gateway:
    marti: Any = None  # the TAK data package port (cmcc.tak.marti.MartiServer), when started

    def __init__(
        self,
        platform: Platform,
        server: CotServer,
        watcher: asyncio.Task[None],
        listener: Any,
        mesh: Any = None,
        publisher: Publisher | None = None,
        tls_refresh: asyncio.Task[None] | None = None,
    ) -> None:
        self.platform = platform
        self.server = server
        self.watcher = watcher
        self.listener = listener
        self.mesh = mesh
        self.publisher = publisher
        self.enrollment: Any = None  # certificate enrollment on 8446 (cmcc.tak.enrollment)
        self.tls_refresh = tls_refresh

    async def stop(self) -> None:
        if self.marti is not None:
            await self.marti.stop()
        if self.enrollment is not None:
            await self.enrollment.stop()
        self.platform.bus.unlisten(self.listener)
        for task in (self.watcher, self.tls_refresh):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.mesh is not None:
            await self.mesh.stop()
        await self.server.stop()
        if self.publisher is not None:  # after the server's last flush
            await self.publisher.close()


async def start(platform: Platform, host: str) -> Gateway | None:
    """Start the TAK gateway on the configured ports; None when every port is 0 or taken
    (the API keeps running; the log says why)."""
    s = platform.settings
    configured, tls = await _tls(platform)
    plain = _plain(platform, configured)
    tcp = [port for port in (s.cot_tcp_port, s.cot_tak_port) if port and plain]
    udp = s.cot_udp_port if plain else 0
    if not (tcp or udp or tls):
        return None
    publisher = Publisher(s) if s.nats_url else None
    sink = PlatformSink(platform, publisher)
    limits = Limits(
        max_clients=s.cot_max_clients,
        max_event_bytes=s.cot_max_event_bytes,
        client_buffer_bytes=s.cot_client_buffer_bytes,
        idle_seconds=s.cot_idle_seconds,
        relay_open=s.cot_relay == "open",
        udp_trusted=s.cot_udp_trusted,
        max_kept=s.cot_max_kept,
        max_kept_per_client=s.cot_max_kept_per_client,
        max_kept_seconds=s.cot_max_kept_seconds,
    )
    server = CotServer(sink, limits)
    if publisher is not None:
        await publisher.start()
    try:
        tls_ports = [s.cot_tls_port] if tls is not None else []
        context = tls.context if tls is not None else None
        await server.start(host, tcp, udp or None, tls_ports=tls_ports, tls=context)
    except OSError as exc:
        log.error("TAK gateway not started: %s", exc)
        await server.stop()
        if publisher is not None:
            await publisher.close(0)
        return None
    log.info(
        "TAK gateway on %s: TLS %s, TCP %s, UDP %s, relay %s",
        host,
        ", ".join(str(p) for p in server.tls_ports) or "off",
        ", ".join(str(p) for p in server.ports) or "off",
        udp or "off",
        s.cot_relay,
    )
    changes: asyncio.Queue[Change] = asyncio.Queue()
    listener = _follower(changes)
    platform.bus.listen(listener)
    watcher = asyncio.create_task(_watch(server, sink, changes))
    mesh = _mesh(platform, server)
    refresh = asyncio.create_task(_refresh_tls(tls)) if tls is not None else None
    gateway = Gateway(platform, server, watcher, listener, mesh, publisher, refresh)
    from cmcc.tak import enrollment, groups, marti  # 8443 packages, groups; 8446 enrollment

    gateway.marti = await marti.start(platform, host, routers=[groups.router])
    gateway.enrollment = await enrollment.start(platform, host)
    return gateway


async def _tls(platform: Platform) -> tuple[bool, Any]:
    """Whether the TLS port is configured (its port set and a TAK certificate authority
    exists), and its TLS side (`cmcc.tak.tls.ServerTls`, mutual TLS): None when it is off or
    its server certificate could not be made (the log says why)."""
    port = platform.settings.cot_tls_port
    if not port:
        log.info("TAK gateway: TLS port off (CMCC_COT_TLS_PORT=0)")
        return False, None
    from cmcc.core.errors import NotFound
    from cmcc.tak import pki, tls

    try:
        with platform.unit_of_work(Principal.system_operator()) as session:
            pki.authority(session)
    except NotFound:
        log.info(
            "TAK gateway: TLS port %d off: no TAK certificate authority (`cmcc tak ca init`)", port
        )
        return False, None
    try:
        return True, await asyncio.to_thread(tls.server_tls, platform, client_certificates=True)
    except Exception:
        log.exception("TAK gateway: TLS port %d not started", port)
        return True, None


def _plain(platform: Platform, tls_configured: bool) -> bool:
    """Whether the plain ports (TCP, TAK, UDP) open: CMCC_COT_PLAIN, whose `auto` means off
    once the TLS port is configured (its port set, a certificate authority), on otherwise."""
    setting = platform.settings.cot_plain
    on = setting == "on" or (setting == "auto" and not tls_configured)
    why = {
        ("auto", True): "a TAK certificate authority exists: devices connect on the TLS port",
        ("auto", False): "no TLS port: no TAK certificate authority, or CMCC_COT_TLS_PORT=0",
    }.get((setting, tls_configured), f"CMCC_COT_PLAIN={setting}")
    if on:
        log.info("TAK gateway: plain ports on (%s): anyone who reaches them may send", why)
    else:
        log.info("TAK gateway: plain ports off (%s)", why)
    return on


async def _refresh_tls(tls: Any) -> None:
    """The TLS port's revocation list read again every few seconds (`ServerTls.refresh`)."""
    while True:
        await asyncio.sleep(TLS_REFRESH_SECONDS)
        try:
            await tls.refresh()
        except Exception:
            log.exception("cot: the TLS port's revocation list was not read again")


def _mesh(platform: Platform, server: CotServer) -> Any:
    """With CMCC_NATS_URL, the relay to and from the other gateways."""
    from cmcc.broker.bus import NatsBus

    if not isinstance(platform.bus, NatsBus):
        return None
    from cmcc.cot.mesh import NatsMesh

    mesh = NatsMesh(platform.bus.broker, server)
    server.mesh = mesh
    mesh.start()
    return mesh
