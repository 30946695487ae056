"""The CoT server's routing on loopback, without the platform (open relay): relay to the other
clients, replay on join, stale events dropped, deletes, directed routing, ping, TAK protocol
negotiation, the connection and buffer caps, garbage and a slow subscriber."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Awaitable, Callable

from cmcc.cot import codec
from cmcc.cot.framing import ProtoStreamSplitter, XmlStreamSplitter, frame_proto
from cmcc.cot.server import CotServer, Limits
from tests.asyncrun import run as run_async


def _now() -> dt.datetime:
    """Now, when the event is made: a time taken at import would be stale by the time a long
    test run reaches these tests."""
    return dt.datetime.now(dt.UTC)


def position(uid: str, *, stale: int = 120, callsign: str | None = None, dest: str = "") -> bytes:
    detail = f'<contact callsign="{callsign or uid}"/>'
    if dest:
        detail += f'<marti><dest callsign="{dest}"/></marti>'
    ev = codec.make_event(
        uid, "a-f-G-U-C", 31.5, 34.45, now=_now(), stale_seconds=stale, detail_children=detail
    )
    return ev.raw


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.splitter = XmlStreamSplitter()
        self.events: list[codec.CotEvent] = []

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_for(self, seconds: float = 0.3) -> list[codec.CotEvent]:
        """Everything that arrives within `seconds` (control events left out)."""
        got = []
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), left)
            except TimeoutError:
                break
            if not data:
                break
            for frame in self.splitter.feed(data):
                ev = codec.parse_xml(frame)
                if not ev.type.startswith("t-x-takp"):
                    got.append(ev)
        return got


def run(
    body: Callable[[CotServer, Callable[[], Awaitable[Conn]]], Awaitable[None]], **kw: object
) -> None:
    async def main() -> None:
        server = CotServer(None, Limits(relay_open=True, **kw))  # type: ignore[arg-type]
        await server.start("127.0.0.1", [0])
        port = server.ports[0]

        async def connect() -> Conn:
            return Conn(*await asyncio.open_connection("127.0.0.1", port))

        try:
            await body(server, connect)
        finally:
            await server.stop()

    run_async(main())


def test_relay_replay_stale_and_delete() -> None:
    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]]) -> None:
        a, b = await connect(), await connect()
        await a.send(position("unit-1") + position("unit-old", stale=-5))
        got = await b.read_for()
        assert [e.uid for e in got] == ["unit-1"]  # the stale one is dropped
        assert await a.read_for(0.1) == []  # nothing echoed to the sender
        late = await connect()
        assert [e.uid for e in await late.read_for()] == ["unit-1"]  # replay on join
        delete = codec.make_event(
            "del-1",
            "t-x-d-d",
            0.0,
            0.0,
            now=_now(),
            stale_seconds=60,
            detail_children='<link uid="unit-1" relation="p-p" type="a-f-G-U-C"/>',
        )
        await a.send(delete.raw)
        assert [e.type for e in await b.read_for()] == ["t-x-d-d"]
        later = await connect()
        assert await later.read_for() == []  # deleted: not replayed

    run(body)


def test_directed_routing_and_ping() -> None:
    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]]) -> None:
        alpha, bravo, charlie = await connect(), await connect(), await connect()
        await bravo.send(position("b", callsign="BRAVO"))
        await charlie.send(position("c", callsign="CHARLIE"))
        await alpha.read_for()
        await bravo.read_for()
        await charlie.read_for()
        await alpha.send(position("a", callsign="ALPHA", dest="BRAVO"))
        assert [e.uid for e in await bravo.read_for()] == ["a"]
        assert await charlie.read_for() == []
        ping = codec.make_event("ping-1", "t-x-c-t", 0.0, 0.0, now=_now(), stale_seconds=20)
        await alpha.send(ping.raw)
        assert [e.type for e in await alpha.read_for()] == ["t-x-c-t-r"]
        assert await bravo.read_for() == []

    run(body)


def test_protocol_negotiation_switches_to_protobuf() -> None:
    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]]) -> None:
        xml_client, tak = await connect(), await connect()
        first = await tak.reader.read(65536)
        assert b"TakProtocolSupport" in first
        request = codec.make_event(
            "tak-1",
            "t-x-takp-q",
            0.0,
            0.0,
            now=_now(),
            stale_seconds=60,
            detail_children='<TakControl><TakRequest version="1"/></TakControl>',
        )
        await tak.send(request.raw)
        answer = await tak.reader.read(65536)
        assert b"t-x-takp-r" in answer and b'status="true"' in answer
        proto = codec.to_proto(codec.parse_xml(position("tak-1", callsign="PROTO")))
        await tak.send(frame_proto(proto))
        relayed = await xml_client.read_for()
        assert [(e.uid, e.callsign) for e in relayed] == [("tak-1", "PROTO")]
        await xml_client.send(position("x-1", callsign="XML"))
        data = await asyncio.wait_for(tak.reader.read(65536), 2)
        (payload,) = ProtoStreamSplitter(65536).feed(data)
        assert codec.parse_proto(payload).callsign == "XML"

    run(body)


def test_garbage_hostile_and_oversized_input_close_only_that_connection() -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<event version="2.0" uid="&x;" type="a-f-G" time="2026-01-01T00:00:00Z" '
        b'start="2026-01-01T00:00:00Z" stale="2030-01-01T00:00:00Z" how="m-g">'
        b'<point lat="1" lon="1" hae="0" ce="0" le="0"/></event>'
    )

    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]]) -> None:
        good, watcher = await connect(), await connect()
        for payload in (b"\x00\x01garbage\xff", hostile, b"<event " + b"x" * 5000):
            bad = await connect()
            await bad.send(payload)
            assert await bad.reader.read() == b"" or bad.reader.at_eof()
        await good.send(position("still-here"))
        assert [e.uid for e in await watcher.read_for()] == ["still-here"]
        assert len(server.clients) == 2

    run(body, max_event_bytes=4096)


def test_connection_cap_and_a_slow_subscriber_is_dropped_not_waited_for() -> None:
    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]]) -> None:
        publisher, reader = await connect(), await connect()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a phone on a bad link
        sock.connect(("127.0.0.1", server.ports[0]))
        slow = Conn(*await asyncio.open_connection(sock=sock))  # and it never reads
        extra = await connect()  # over the cap of 3
        assert await extra.reader.read() == b""
        one = position("u")
        burst = b"".join(one.replace(b'uid="u"', f'uid="u{i}"'.encode()) for i in range(20_000))
        # About 8 MB: more than the slow one's buffers. The fast reader reads as a TAK client
        # does, all along (counting events, not parsing them in the server's own event loop).
        sending = asyncio.create_task(publisher.send(burst))
        got = 0
        frames = XmlStreamSplitter(1 << 16)  # whole events, whatever the chunks
        loop = asyncio.get_running_loop()
        end = loop.time() + 30
        while got < 20_000 and loop.time() < end:
            data = await asyncio.wait_for(reader.reader.read(1 << 20), 5)
            if not data:
                break  # the server's protocol offer is not one of the positions counted
            got += sum(1 for frame in frames.feed(data) if b'"a-f-G-U-C"' in frame)
        await sending
        assert got == 20_000  # the fast reader got everything
        assert len(server.clients) == 2  # the slow one was dropped
        slow.writer.close()

    run(body, max_clients=3)  # the default buffer cap (1 MiB)


def _established(local_port: int, remote_port: int) -> bool:
    """Whether the kernel holds an ESTABLISHED TCP connection between these loopback ports
    (either side of it), from /proc/net/tcp."""
    for line in open("/proc/net/tcp").read().splitlines()[1:]:  # noqa: SIM115
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        ports = {int(local.split(":")[1], 16), int(remote.split(":")[1], 16)}
        if ports == {local_port, remote_port} and state == "01":
            return True
    return False


def test_a_dropped_slow_reader_is_aborted_at_once() -> None:
    """Issue 19: a client dropped for being too slow was closed gracefully, so its socket stayed
    ESTABLISHED with megabytes queued, past the idle limit and outside the client count. It is
    aborted: the connection leaves ESTABLISHED at once, on both sides."""

    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]]) -> None:
        publisher = await connect()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.ports[0]))
        slow = Conn(*await asyncio.open_connection(sock=sock))  # never reads
        await slow.send(position("slow-1"))
        mine = sock.getsockname()[1]
        await asyncio.sleep(0.2)
        assert _established(mine, server.ports[0])
        one = position("u")
        burst = b"".join(one.replace(b'uid="u"', f'uid="u{i}"'.encode()) for i in range(10_000))
        await publisher.send(burst)
        for _ in range(50):
            await asyncio.sleep(0.1)
            if not _established(mine, server.ports[0]):
                break
        assert not _established(mine, server.ports[0])
        assert len(server.clients) == 1
        slow.writer.close()

    run(body, client_buffer_bytes=65_536)
