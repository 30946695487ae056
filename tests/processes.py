"""Servers of a test's own, for the fault tests of the positions stream: a nats-server with
JetStream and a PostgreSQL cluster with PostGIS, each on a free port in a temporary folder,
that a test may kill and start again (never the shared servers). And `cmcc worker` in a
subprocess. Every process started here is killed when its context ends."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.serving import free_port

NATS_SERVER = "/usr/sbin/nats-server"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def wait_for_port(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing answers on port {port} after {seconds} s")


def kill(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGKILL) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(sig)
        proc.wait(timeout=10)


class OwnNats:
    """nats-server -js on a free port with its store in `folder`; `restart` keeps the store."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.folder / "nats.log").open("ab")
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-js", "-sd", str(self.folder / "js"), "-a", "127.0.0.1",
             "-p", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_port(self.port)

    def kill(self) -> None:
        kill(self.proc)


@contextmanager
def own_nats(folder: Path) -> Iterator[OwnNats]:
    server = OwnNats(folder)
    server.start()
    try:
        yield server
    finally:
        server.kill()


class OwnPostgres:
    """A PostgreSQL 15 cluster of the test's own (run as the postgres user, trust auth), in a
    folder of its own under /tmp (the postgres user cannot enter pytest's)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="cmcc-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/cmcc"

    def _as_postgres(self, *args: str) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], capture_output=True, timeout=60
        )
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stdout!r} {done.stderr!r}")

    def init(self) -> None:
        shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
        self.start()
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE cmcc")
        with psycopg.connect(self.admin.rsplit("/", 1)[0] + "/cmcc", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                          "-l", str(self.folder / "pg.log"), "-w", "start")  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    try:
        server.init()
        yield server
    finally:
        with contextlib.suppress(RuntimeError):  # stopped already
            server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


@contextmanager
def workers(
    count: int, env: dict[str, str], log_folder: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` processes of `python -m cmcc worker`; killed at the end."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            procs.append(start_worker(env, log_folder))
        yield procs
    finally:
        for proc in procs:
            kill(proc)


def start_worker(env: dict[str, str], log_folder: Path) -> subprocess.Popen[bytes]:
    n = len(list(log_folder.glob("worker-*.log")))
    log = (log_folder / f"worker-{n}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "cmcc", "worker"],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
