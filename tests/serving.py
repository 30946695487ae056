"""`cmcc serve` in a subprocess on a free port, for the end-to-end and browser tests."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from cmcc.bootstrap import Platform

_served = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def platform_env(platform: Platform, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a `cmcc` process on the platform's database (TAK ports off)."""
    return {
        **os.environ,
        "CMCC_HOME": str(home),
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
        "CMCC_COT_TCP_PORT": "0",  # the TAK gateway off, unless a test turns it on
        "CMCC_COT_TAK_PORT": "0",
        "CMCC_COT_UDP_PORT": "0",
        "CMCC_COT_TLS_PORT": "0",
        **extra,
    }


@contextmanager
def process(
    args: list[str], env: dict[str, str], log: Path, ready: bytes, seconds: float = 30
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m cmcc <args>` until the block ends (SIGTERM, then SIGKILL); ready when `ready`
    appears in its log (stdout and stderr)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cmcc", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + seconds
        while ready not in log.read_bytes():  # wait on the log, not on requests that log
            if proc.poll() is not None:
                pytest.fail(f"cmcc {' '.join(args)} stopped: " + log.read_text())
            if time.monotonic() > deadline:
                pytest.fail(f"cmcc {' '.join(args)} did not start: " + log.read_text())
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()  # a graceful stop; what it waits for is not under test here
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def served(
    platform: Platform,
    home: Path,
    host: str = "localhost",
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[tuple[str, Path]]:
    """Serve the platform's database; yield the base URL and the log (stdout and stderr)."""
    log = home / f"server-{next(_served)}.log"
    port = free_port()
    env = platform_env(platform, home, **(extra_env or {}))
    command = ["serve", "--host", host, "--port", str(port), *args]
    with process(command, env, log, b"Application startup complete"):
        yield f"http://{host}:{port}", log


@contextmanager
def in_thread(app: Any) -> Iterator[str]:
    """An ASGI app served by uvicorn in a thread of this process; yields its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
