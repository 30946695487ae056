"""Positions through JetStream with real processes, on PostgreSQL: `python -m cmcc worker`
subprocesses store what a publisher (the gateway's, in this process) or a real gateway
(`cmcc serve` with CMCC_NATS_URL) puts on the stream. Faults: a worker killed with SIGKILL in
the middle of 50,000 positions, NATS killed and started again during traffic (a server of the
test's own), PostgreSQL stopped and started again during traffic (a cluster of the test's own).
Each ends with every position stored exactly once: count, distinct (uid, time), and a checksum
of the places. Every test has a deadline and kills what it started."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.cot import codec
from cmcc.cot.event import Report
from cmcc.cot.publisher import Publisher
from cmcc.initialize import initialize
from tests.asyncrun import run as run_async
from tests.conftest import SECRET, _reset_postgres
from tests.jetstream import remove_stream, with_stream
from tests.processes import kill, own_nats, own_postgres, start_worker, workers
from tests.serving import free_port, served

pytestmark = pytest.mark.e2e
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def pg_platform(pg_database: str) -> Iterator[Platform]:
    """The run's PostgreSQL test database, emptied (the worker tests need PostgreSQL only)."""
    p = _reset_postgres(pg_database)
    yield p
    p.dispose()


def worker_env(settings: Settings, home: Path) -> dict[str, str]:
    return {
        "CMCC_HOME": str(home),
        "CMCC_ENVIRONMENT": "test",
        "CMCC_SECRET_KEY": SECRET,
        "CMCC_DATABASE_URL": str(settings.database_url),
        "CMCC_NATS_URL": str(settings.nats_url),
        "CMCC_NATS_NAMESPACE": settings.nats_namespace,
        "CMCC_WORKER_ACK_WAIT_SECONDS": str(settings.worker_ack_wait_seconds),
    }


def report(i: int) -> Report:
    """Position number i: its own time and place, so that a checksum of the places proves
    which were stored."""
    ev = codec.make_event(
        f"unit-{i % 500}",
        "a-f-G-U-C",
        31.3 + (i // 1000) / 10_000,
        34.2 + (i % 1000) / 10_000,
        now=T0 + dt.timedelta(milliseconds=i),
        stale_seconds=3600,
    )
    return Report(ev, None)


def stored(url: str) -> tuple[int, int, int]:
    """Tracks, distinct (uid, time), and the sum of the position numbers their places encode."""
    with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=2) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (uid, time)), coalesce(sum("
            "round((min_x - 34.2) * 10000) + 1000 * round((min_y - 31.3) * 10000)), 0) "
            "FROM tracks"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def exactly_once(total: int) -> tuple[int, int, int]:
    return total, total, total * (total - 1) // 2


async def until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.1)


def count_now(url: str) -> int:
    try:
        return stored(url)[0]
    except psycopg.OperationalError:
        return -1


async def publish(
    publisher: Publisher, total: int, per_second: int, batch: int = 500, start_at: int = 0
) -> None:
    """Submit positions start_at..total-1 in batches, at about `per_second`."""
    start = time.monotonic()
    for first in range(start_at, total, batch):
        publisher.submit([report(i) for i in range(first, min(first + batch, total))])
        ahead = start + (first - start_at + batch) / per_second - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)


def test_a_worker_killed_midway_through_50000_positions(
    pg_platform: Platform, tmp_path: Path
) -> None:
    total = 50_000
    settings = with_stream(pg_platform.settings, worker_ack_wait_seconds=3.0)
    url = str(settings.database_url)
    env = worker_env(settings, tmp_path)

    async def main() -> None:
        publisher = Publisher(settings)
        await publisher.start()
        with workers(1, env, tmp_path) as procs:
            sending = asyncio.create_task(publish(publisher, total, per_second=10_000))
            await until(lambda: count_now(url) >= 10_000, 60, "10,000 positions stored")
            kill(procs[0])  # SIGKILL, whatever it was doing
            procs.append(start_worker(env, tmp_path))
            await sending
            await until(lambda: count_now(url) >= total, 60, f"{total} positions stored")
        await publisher.close()
        assert publisher.status()["published"] == total

    try:
        run_async(main())
        assert stored(url) == exactly_once(total)
    finally:
        run_async(remove_stream(settings))


def test_nats_killed_and_restarted_during_traffic(pg_platform: Platform, tmp_path: Path) -> None:
    total = 20_000
    with own_nats(tmp_path) as nats_server:
        settings = with_stream(pg_platform.settings, url=nats_server.url)
        url = str(settings.database_url)

        async def main() -> None:
            publisher = Publisher(settings)
            await publisher.start()
            with workers(1, worker_env(settings, tmp_path), tmp_path):
                sending = asyncio.create_task(publish(publisher, total, per_second=5_000))
                await until(lambda: publisher.published >= 5_000, 30, "5,000 acknowledged")
                nats_server.kill()
                await asyncio.sleep(1.0)
                acknowledged = publisher.published
                nats_server.start()
                await sending
                await until(lambda: count_now(url) >= total, 60, f"{total} positions stored")
                assert count_now(url) >= acknowledged
            await publisher.close()
            assert publisher.status() == {
                "connected": False,
                "backlog": 0,
                "published": total,
                "dropped": 0,
            }

        run_async(main())
        assert stored(url) == exactly_once(total)


def test_postgresql_stopped_and_started_during_traffic(tmp_path: Path) -> None:
    total = 20_000
    with own_postgres() as pg:
        plain = Settings(database_url=pg.url, secret_key=SECRET, environment="test")
        platform = bootstrap(plain)
        initialize(platform)
        platform.dispose()
        settings = with_stream(plain)

        async def main() -> None:
            publisher = Publisher(settings)
            await publisher.start()
            with workers(2, worker_env(settings, tmp_path), tmp_path):
                await publish(publisher, 2_000, per_second=5_000)
                await until(lambda: count_now(pg.url) >= 2_000, 30, "2,000 positions stored")
                sending = asyncio.create_task(
                    publish(publisher, total, per_second=5_000, start_at=2_000)
                )
                await asyncio.to_thread(pg.stop)
                during = publisher.published
                await asyncio.sleep(2.0)
                assert publisher.published > during  # publishing goes on
                await asyncio.to_thread(pg.start)
                await sending
                await until(lambda: count_now(pg.url) >= total, 60, f"{total} positions stored")
            await publisher.close()

        try:
            run_async(main())
            assert stored(pg.url) == exactly_once(total)
        finally:
            run_async(remove_stream(settings))


def test_a_cot_client_through_the_gateway_nats_and_a_worker(
    pg_platform: Platform, tmp_path: Path
) -> None:
    """CoT over TCP to `cmcc serve` with CMCC_NATS_URL, which publishes; a worker stores."""
    total = 2_000
    settings = with_stream(pg_platform.settings)
    url = str(settings.database_url)
    port = free_port()
    env = worker_env(settings, tmp_path)
    gateway_env = {**env, "CMCC_COT_TCP_PORT": str(port), "CMCC_COT_RELAY": "open"}
    try:
        with (
            served(pg_platform, tmp_path, extra_env=gateway_env),
            workers(1, env, tmp_path),
            socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        ):
            for first in range(0, total, 100):
                sock.sendall(b"".join(report(i).event.raw for i in range(first, first + 100)))
            deadline = time.monotonic() + 60
            while count_now(url) < total:
                assert time.monotonic() < deadline, "the positions were not stored"
                time.sleep(0.2)
        assert stored(url) == exactly_once(total)
    finally:
        run_async(remove_stream(settings))


def test_the_worker_needs_nats(tmp_path: Path) -> None:
    env = {**os.environ, "CMCC_HOME": str(tmp_path)}
    env.pop("CMCC_NATS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "cmcc", "worker"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2 and b"CMCC_NATS_URL is not set" in done.stdout + done.stderr
