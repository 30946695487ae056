"""CoT load generator on raw asyncio sockets (no pytak), the same for every server.

Publishers send XML position events (type a-f-G-U-C, one uid per publisher) carrying
`<remarks>seq=<n> sent=<time.monotonic_ns()> src=<k></remarks>`; `seq` is unique over the
whole run, `src` is the sending connection. Subscribers only read: the stream is split after
`</event>`, seq/sent are extracted and latency = now - sent (same machine, monotonic clock).
Every connection sends one presence event when it connects and a ping (t-x-c-t) every 10 s,
as TAK clients do, so that servers that drop silent clients keep them. Connections that
publish also read and discard whatever the server sends them (a server sends them the other
publishers' events; not reading would stall the server's writes to them).

The send rate is a token bucket spread over the publishers: publisher k of N at total rate R
has sent floor((t - t0) * R / N + k / N) events at time t, so sends are evenly phased. One
task ticks every TICK seconds and writes what is due, as one write per publisher per tick.
A publisher whose socket buffer holds more than WRITE_CAP bytes is not written to (the server
is not reading): those events are never sent, which shows as an achieved rate below target.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

TICK = 0.005
WRITE_CAP = 256 * 1024
READ_CAP = 8 * 1024 * 1024  # a subscriber's unsplit buffer never grows past this
PING_EVERY = 10.0
MARK = re.compile(rb"seq=(\d+) sent=(\d+) src=(\d+)")
END = b"</event>"


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_us(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cot_times(stale_s: float = 120.0) -> tuple[str, str]:
    now = dt.datetime.now(dt.UTC)
    return iso(now), iso(now + dt.timedelta(seconds=stale_s))


def position_event(
    uid: str, callsign: str, lat: float, lon: float, now: str, stale: str, remarks: str
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<event version="2.0" uid="{uid}" '
        f'type="a-f-G-U-C" how="m-g" time="{now}" start="{now}" stale="{stale}">'
        f'<point lat="{lat:.6f}" lon="{lon:.6f}" '
        f'hae="9999999.0" ce="9999999.0" le="9999999.0"/><detail><contact callsign="{callsign}"/>'
        f'<__group name="Cyan" role="Team Member"/><remarks>{remarks}</remarks></detail></event>\n'
    ).encode()


def ping_event(uid: str) -> bytes:
    now, stale = cot_times(20.0)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<event version="2.0" uid="{uid}-ping" '
        f'type="t-x-c-t" '
        f'how="h-g-i-g-o" time="{now}" start="{now}" stale="{stale}"><point lat="0.0" lon="0.0" '
        f'hae="9999999.0" ce="9999999.0" le="9999999.0"/><detail/></event>\n'
    ).encode()


@dataclass
class Conn(asyncio.Protocol):
    """One client connection. Parses what it receives only when `parse` is set."""

    index: int
    parse: bool
    received: int = 0  # marked events of the current window, not from itself
    dup_or_old: int = 0
    bytes_in: int = 0
    latencies: list[int] = field(default_factory=list)
    window: tuple[int, int] = (0, 0)
    transport: asyncio.Transport | None = None
    closed: asyncio.Future[None] | None = None
    buf: bytes = b""

    @property
    def uid(self) -> str:
        return f"bench-{self.index}"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.closed = asyncio.get_running_loop().create_future()
        now, stale = cot_times()
        lat, lon = self.position()
        transport.write(
            position_event(self.uid, f"BENCH-{self.index}", lat, lon, now, stale, "hello")
        )

    def position(self) -> tuple[float, float]:
        return 31.3 + (self.index % 100) * 0.003, 34.3 + (self.index // 100) * 0.003

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if not self.parse:
            return
        now = time.monotonic_ns()
        buf = self.buf + data if self.buf else data
        end = buf.rfind(END)
        if end < 0:
            self.buf = buf[-READ_CAP:]
            return
        end += len(END)
        lo, hi = self.window
        me = self.index
        lat = self.latencies
        got = 0
        for m in MARK.finditer(buf, 0, end):
            seq = int(m[1])
            if lo <= seq < hi and int(m[3]) != me:
                got += 1
                lat.append(now - int(m[2]))
            else:
                self.dup_or_old += 1
        self.received += got
        self.buf = buf[end:]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)

    def write(self, data: bytes) -> bool:
        t = self.transport
        if t is None or t.is_closing() or t.get_write_buffer_size() > WRITE_CAP:
            return False
        t.write(data)
        return True

    @property
    def alive(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()


@dataclass
class StepResult:
    target_rate: float
    seconds: float
    sent: int
    due: int  # events the token bucket released (sent + not written because of backpressure)
    expected: int  # deliveries expected over all subscribers
    received: int
    min_sub_ratio: float  # the worst subscriber's received / expected
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    gen_cpu: float  # load generator CPU use during the step, 1.0 = one full core
    dead: int  # connections the server closed
    server_cpu: float | None = None  # server CPU use over the step and its drain, 1.0 = one core
    load1: float | None = None  # the machine's 1-minute load average at the end of the step
    stored: int | None = None  # tracks stored for the step's events (servers that store them)
    store_lag_s: float | None = None  # from the end of sending until all of them were stored

    @property
    def achieved_rate(self) -> float:
        return self.sent / self.seconds

    @property
    def loss(self) -> float:
        return 1 - self.received / self.expected if self.expected else 0.0

    def sustainable(self, max_p99_ms: float = 250.0) -> bool:
        return (
            self.expected > 0
            and self.received == self.expected
            and self.dead == 0
            and self.sent >= 0.97 * self.due
            and self.p99_ms is not None
            and self.p99_ms < max_p99_ms
            and (self.stored is None or self.stored >= self.sent)
        )


def _factory(conn: Conn) -> Callable[[], Conn]:
    return lambda: conn


def percentile(values: list[int], q: float) -> float | None:
    if not values:
        return None
    values.sort()
    return values[min(len(values) - 1, int(q * len(values)))] / 1e6


class LoadGen:
    """Publishers (indices 0..P-1) and subscribers; with `all_to_all` every connection is both."""

    def __init__(
        self,
        host: str,
        port: int,
        publishers: int,
        subscribers: int,
        all_to_all: bool = False,
        tls: ssl.SSLContext | None = None,
    ):
        self.host, self.port = host, port
        self.tls = tls  # every connection over TLS with this (client certificate) context
        self.all_to_all = all_to_all
        n = publishers if all_to_all else publishers + subscribers
        self.conns = [Conn(i, parse=all_to_all or i >= publishers) for i in range(n)]
        self.pubs = self.conns[:publishers]
        self.subs = self.conns if all_to_all else self.conns[publishers:]
        self.seq = 0
        self._pinger: asyncio.Task[None] | None = None

    async def connect(self, batch: int = 50) -> None:
        loop = asyncio.get_running_loop()
        for i in range(0, len(self.conns), batch):
            group = self.conns[i : i + batch]
            await asyncio.gather(
                *(
                    loop.create_connection(_factory(c), self.host, self.port, ssl=self.tls)
                    for c in group
                )
            )
        self._pinger = asyncio.create_task(self._ping())

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(PING_EVERY)
            for c in self.conns:
                c.write(ping_event(c.uid))

    async def close(self) -> None:
        if self._pinger:
            self._pinger.cancel()
        for c in self.conns:
            if c.transport:
                c.transport.close()
        await asyncio.sleep(0.2)

    async def settle(self, quiet: float = 0.5, limit: float = 10.0) -> None:
        """Wait until nothing arrives for `quiet` s and nothing waits to be sent (backlogs)."""
        deadline = time.monotonic() + limit
        last = -1
        while time.monotonic() < deadline:
            total = sum(c.bytes_in for c in self.conns)
            pending = sum(
                c.transport.get_write_buffer_size() for c in self.conns if c.alive and c.transport
            )
            if total == last and pending == 0:
                return
            last = total
            await asyncio.sleep(quiet)

    async def step(self, rate: float, seconds: float, drain: float = 3.0) -> StepResult:
        """Publish `rate` events/s in total for `seconds`; wait up to `drain` s for delivery."""
        lo = self.seq
        for c in self.subs:
            c.received, c.latencies, c.window = 0, [], (lo, 1 << 62)
        n = len(self.pubs)
        per_pub = rate / n
        sent_by = [0] * n  # events due so far, per publisher
        actual = [0] * n  # events written, per publisher
        cpu0, t0 = time.process_time(), time.monotonic()
        end = t0 + seconds
        while True:
            now_s = time.monotonic()
            if now_s >= end:
                break
            moment = dt.datetime.now(dt.UTC)
            iso_stale = iso(moment + dt.timedelta(seconds=120.0))
            elapsed = now_s - t0
            for k, c in enumerate(self.pubs):
                due = int(elapsed * per_pub + k / n) - sent_by[k]
                if due <= 0:
                    continue
                sent_ns = time.monotonic_ns()
                lat, lon = c.position()
                chunk = b"".join(
                    position_event(
                        c.uid,
                        f"BENCH-{k}",
                        lat,
                        lon,
                        iso_us(moment + dt.timedelta(microseconds=j)),  # each its own report
                        iso_stale,
                        f"seq={self.seq + j} sent={sent_ns} src={k}",
                    )
                    for j in range(due)
                )
                if c.write(chunk):
                    self.seq += due
                    actual[k] += due
                sent_by[k] += due  # skipped events are not retried: the rate stays the target
            await asyncio.sleep(TICK)
        send_s = time.monotonic() - t0
        hi = self.seq
        for c in self.subs:
            c.window = (lo, hi)
        sent = hi - lo
        expected_each = {c.index: sent - self._own(c.index, actual) for c in self.subs}
        expected = sum(expected_each.values())
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline and sum(c.received for c in self.subs) < expected:
            await asyncio.sleep(0.05)
        cpu = (time.process_time() - cpu0) / (time.monotonic() - t0)
        lats = [x for c in self.subs for x in c.latencies]
        ratios = [c.received / expected_each[c.index] for c in self.subs if expected_each[c.index]]
        return StepResult(
            target_rate=rate,
            seconds=send_s,
            sent=sent,
            due=sum(sent_by),
            expected=expected,
            received=sum(c.received for c in self.subs),
            min_sub_ratio=min(ratios) if ratios else 0.0,
            p50_ms=percentile(lats, 0.50),
            p99_ms=percentile(lats, 0.99),
            max_ms=max(lats) / 1e6 if lats else None,
            gen_cpu=cpu,
            dead=sum(not c.alive for c in self.conns),
        )

    def _own(self, index: int, actual: list[int]) -> int:
        """Events a connection sent itself (not expected back) in all-to-all mode."""
        if not self.all_to_all or index >= len(self.pubs):
            return 0
        return actual[index]


@dataclass
class HandshakeResult:
    seconds: float
    connections: int  # completed: connected, (TLS handshake,) first bytes from the server
    failed: int
    p50_ms: float | None
    p99_ms: float | None
    gen_cpu: float
    server_cpu: float | None = None
    load1: float | None = None

    @property
    def rate(self) -> float:
        return self.connections / self.seconds


async def handshakes(
    host: str, port: int, seconds: float, tls: ssl.SSLContext | None, concurrency: int = 8
) -> HandshakeResult:
    """New connections per second: `concurrency` clients each connect (with the TLS handshake
    and client certificate when `tls` is given), wait for the server's first bytes (sent once
    the connection is identified) and close, again and again for `seconds`."""
    times: list[int] = []
    failed = 0
    end = time.monotonic() + seconds

    async def client() -> None:
        nonlocal failed
        while time.monotonic() < end:
            t0 = time.monotonic_ns()
            try:
                reader, writer = await asyncio.open_connection(host, port, ssl=tls)
                first = await asyncio.wait_for(reader.read(1), 10.0)
                writer.close()
            except (OSError, TimeoutError):
                failed += 1
                continue
            if first:
                times.append(time.monotonic_ns() - t0)
            else:
                failed += 1

    cpu0, t0 = time.process_time(), time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    took = time.monotonic() - t0
    return HandshakeResult(
        seconds=took,
        connections=len(times),
        failed=failed,
        p50_ms=percentile(times, 0.50),
        p99_ms=percentile(times, 0.99),
        gen_cpu=(time.process_time() - cpu0) / took,
    )
