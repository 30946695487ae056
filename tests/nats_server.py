"""A NATS server with JetStream of a test's own (Debian's nats-server on a free port, its store
in the test's folder), for the tests that stop and restart the broker: the shared one at
127.0.0.1:4222 is never stopped."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.serving import free_port


def nats_server_binary() -> str:
    found = shutil.which("nats-server") or "/usr/sbin/nats-server"
    assert Path(found).exists(), "nats-server is missing: run `make nats`"
    return found


class OwnNats:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OwnNats:
        store = self.folder / "jetstream"
        store.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "nats-server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                nats_server_binary(),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(store),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                assert self.proc.poll() is None, "nats-server stopped: see " + str(log.name)
                assert time.monotonic() < deadline, "nats-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
