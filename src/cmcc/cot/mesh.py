"""Gateways relaying to each other's clients through NATS (CMCC_NATS_URL).

What a gateway relays to its own clients it also publishes on a subject of its relay policy:
`<ns>.cot.relay.mission` under the mission relay (only registered devices' traffic, for
registered devices), `<ns>.cot.relay.open` under the open relay. A gateway subscribes to the
mission subject only while one of its clients is a registered device; each event is then
relayed here under the same policy as a local one (`CotServer.from_mesh`: the receivers whose
organization may see the sender's marking). Events travel as TAK protocol messages behind a
one-line JSON header: the sending gateway, and the sender's organization (id, code, member),
device and marking (the receiving gateway's rule needs them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import orjson
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from cmcc.broker.connection import Broker
from cmcc.core.releasability import Marking
from cmcc.cot import codec
from cmcc.cot.event import CotError, CotEvent
from cmcc.cot.server import CotServer, Peer

log = logging.getLogger("cmcc.cot")
RECONCILE_SECONDS = 1.0


class NatsMesh:
    def __init__(self, broker: Broker, server: CotServer) -> None:
        self.broker = broker
        self.server = server
        self.gateway = uuid.uuid4().hex[:12]
        scope = "open" if server.limits.relay_open else "mission"
        self.subject = broker.subject("cot", "relay", scope)
        self.sent = self.received = self.unsent = 0
        self._outbox: list[bytes] = []
        self._flush_scheduled = False
        self._wanted = server.limits.relay_open  # the open relay: any client may receive
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._reconcile())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._unsubscribe()

    # -- out ----------------------------------------------------------------------------------
    def send(self, ev: CotEvent, sender: Peer | None) -> None:
        head = orjson.dumps([self.gateway, *_peer_fields(sender)])
        self._outbox.append(head + b"\n" + codec.to_proto(ev))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._outbox = self._outbox, []
        if not self.broker.connected:  # relayed live traffic is not kept for later
            self.unsent += len(batch)
            return
        asyncio.get_running_loop().create_task(self._publish(batch))

    async def _publish(self, batch: list[bytes]) -> None:
        for payload in batch:
            if await self.broker.publish(self.subject, payload):
                self.sent += 1
            else:
                self.unsent += 1

    # -- in -----------------------------------------------------------------------------------
    def want(self, receivers: int) -> None:
        self._wanted = self.server.limits.relay_open or receivers > 0

    async def _reconcile(self) -> None:
        """Subscribed exactly while wanted (checked every second, and again after NATS comes
        back: nats-py keeps a subscription across reconnections)."""
        while True:
            try:
                if self._wanted and self._sub is None and self.broker.connected:
                    self._sub = await self.broker.nc.subscribe(self.subject, cb=self._received)
                elif not self._wanted and self._sub is not None:
                    await self._unsubscribe()
            except Exception:
                log.exception("cot: the relay subscription was not changed")
            await asyncio.sleep(RECONCILE_SECONDS)

    async def _unsubscribe(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _received(self, msg: Msg) -> None:
        head, _, body = msg.data.partition(b"\n")
        try:
            gateway, *fields = orjson.loads(head)
            sender = _peer(fields)
            ev = codec.parse_proto(body)
        except (orjson.JSONDecodeError, ValueError, TypeError, CotError) as exc:
            log.warning("cot: a relayed event on %s could not be read (%s)", msg.subject, exc)
            return
        if gateway == self.gateway:
            return
        self.received += 1
        self.server.from_mesh(ev, sender, str(gateway))


def _peer_fields(sender: Peer | None) -> list[object]:
    """What the receiving gateways need to know of the sender: [org id, org code, member,
    device uid, marking] (all None for an anonymous sender)."""
    if sender is None or sender.org_id is None:
        return [None, None, False, sender.device_uid if sender else None, None]
    return [sender.org_id, sender.org_code, sender.member, sender.device_uid, str(sender.marking)]


def _peer(fields: list[object]) -> Peer | None:
    org_id, org_code, member, device_uid, marking = fields
    if org_id is None:
        return None
    return Peer(
        org_id=int(str(org_id)),
        org_code=str(org_code),
        member=bool(member),
        device_uid=str(device_uid) if device_uid is not None else None,
        marking=Marking.parse(str(marking)),
    )
