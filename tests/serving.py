"""`cmcc serve` in a subprocess on a free port, for the end-to-end and browser tests.

`served` forks its server from a process that has already imported the platform (a
multiprocessing fork server, one per test process, started on first use): the same
`cmcc serve` as a user runs, in a process of its own with its own environment, without the
seconds each new interpreter spends importing the platform's modules. `process` starts any
other `cmcc` command as a new interpreter."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx
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
        "CMCC_TAK_ENROLL_PORT": "0",  # enrollment and data packages (with the gateway) off,
        "CMCC_TAK_HTTPS_PORT": "0",  # unless a test turns them on
        **extra,
    }


class Running(Protocol):
    """What the tests use of a started process (a Popen, or a forked `_Forked`)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


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
    with _until_done(proc, args, log, ready, seconds):
        yield proc


# What the fork server imports once, so that a forked `cmcc serve` starts without importing.
PRELOAD = ["cmcc.cli", "cmcc.api.app", "cmcc.cot.gateway", "uvicorn"]
_forks: Any = None


def _cmcc_main(args: list[str], env: dict[str, str], log: str, errors: str | None) -> None:
    """In the forked process: its environment, its output to the log (its errors too, or to
    their own file), then `cmcc <args>`."""
    for fd, path in ((1, log), (2, errors or log)):
        opened = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.dup2(opened, fd)
        os.close(opened)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["cmcc", *args]
    from cmcc.cli import main

    main()


class _Forked:
    """A forked `cmcc` process, seen as a Popen."""

    def __init__(self, proc: multiprocessing.process.BaseProcess) -> None:
        self.proc = proc

    @property
    def pid(self) -> int:
        assert self.proc.pid is not None  # started
        return self.proc.pid

    def poll(self) -> int | None:
        return self.proc.exitcode

    def terminate(self) -> None:
        self.proc.terminate()

    def kill(self) -> None:
        self.proc.kill()

    def wait(self, timeout: float | None = None) -> int:
        self.proc.join(timeout)
        if self.proc.exitcode is None:
            raise subprocess.TimeoutExpired("cmcc", timeout or 0)
        return self.proc.exitcode


def forked(args: list[str], env: dict[str, str], log: Path, errors: Path | None = None) -> _Forked:
    """`cmcc <args>` forked from the fork server (which imported PRELOAD once)."""
    global _forks
    if _forks is None:
        _forks = multiprocessing.get_context("forkserver")
        _forks.set_forkserver_preload(PRELOAD)
    for path in (log, errors):
        if path is not None:
            path.write_bytes(b"")
    where = (args, env, str(log), str(errors) if errors else None)
    proc = _forks.Process(target=_cmcc_main, args=where, daemon=True)
    proc.start()
    return _Forked(proc)


def run_cmcc(
    args: list[str], env: dict[str, str], folder: Path, seconds: float = 60
) -> subprocess.CompletedProcess[str]:
    """`cmcc <args>` to its end, forked (see `forked`): like subprocess.run with its output
    captured, without a new interpreter's imports."""
    n = next(_served)
    out, err = folder / f"cmcc-{n}.out", folder / f"cmcc-{n}.err"
    code = forked(args, env, out, err).wait(seconds)
    return subprocess.CompletedProcess(args, code, out.read_text(), err.read_text())


@contextmanager
def _until_done(
    proc: Running, args: list[str], log: Path, ready: bytes, seconds: float
) -> Iterator[None]:
    try:
        deadline = time.monotonic() + seconds
        while ready not in log.read_bytes():  # wait on the log, not on requests that log
            if proc.poll() is not None:
                pytest.fail(f"cmcc {' '.join(args)} stopped: " + log.read_text())
            if time.monotonic() > deadline:
                pytest.fail(f"cmcc {' '.join(args)} did not start: " + log.read_text())
            time.sleep(0.1)
        yield
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
    with serving(platform, home, host, extra_env, args) as (url, log, _):
        yield url, log


@contextmanager
def serving(
    platform: Platform,
    home: Path,
    host: str = "localhost",
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[tuple[str, Path, Running]]:
    """`served`, with the server's process too (for the tests that kill it)."""
    log = home / f"server-{next(_served)}.log"
    port = free_port()
    env = platform_env(platform, home, **(extra_env or {}))
    command = ["serve", "--host", host, "--port", str(port), *args]
    proc = forked(command, env, log)
    with _until_done(proc, command, log, b"Application startup complete", 30):
        yield f"http://{host}:{port}", log, proc


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


def until_healthy(proc: Running | subprocess.Popen[Any], base: str, seconds: float = 60) -> None:
    """Wait until the server at `base` answers its health check (a `cmcc serve` started in a new
    interpreter imports the whole platform first: seconds, more on a loaded machine); fail at
    once if its process stops."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(base + "/api/v1/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, "the server stopped"
        if time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.1)


def eventually(check: Any, seconds: float) -> Any:
    """`check()` again every 0.3 s until it gives something true or `seconds` pass; its last
    result (for the test to assert)."""
    end = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > end:
            return result
        time.sleep(0.3)
