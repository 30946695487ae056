"""`cmcc serve --workers N`: N API processes on one port.

The first process binds N listening sockets on the port with SO_REUSEPORT (the kernel spreads
new connections over them), then forks N-1 workers, each serving the API on a socket of its
own with a platform of its own (its database pool, its geofence, its connection to NATS). The
first process also runs the TAK gateway and the SITREP schedule; the workers run the API only.
A worker that stops stops the whole server (exit 1), so that its supervisor restarts it whole;
a worker whose first process is gone receives SIGTERM (Linux's parent-death signal)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("cmcc.serve")
PR_SET_PDEATHSIG = 1


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets listening on host:port, sharing it (SO_REUSEPORT when count > 1)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sockets: list[socket.socket] = []
    for _ in range(count):
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if count > 1:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address if not sockets else sockets[0].getsockname())
        sock.listen(2048)
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


def fork_workers(sockets: list[socket.socket], serve: Callable[[socket.socket], None]) -> list[int]:
    """Fork one worker per socket after the first; each runs `serve(its socket)` and exits.
    Call it while the process has one thread (before any event loop or pool thread starts)."""
    pids = []
    for mine in sockets[1:]:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                _die_with_parent()
                for other in sockets:
                    if other is not mine:
                        other.close()
                serve(mine)
                code = 0
            except BaseException:
                log.exception("API worker %d stopped on an error", os.getpid())
            finally:
                os._exit(code)  # never the first process's exit handlers
        pids.append(pid)
    for other in sockets[1:]:
        other.close()  # the first process accepts on its own socket only
    return pids


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def watch_workers(pids: list[int], server: Any) -> None:
    """Stop the server (and make the command exit 1) when a worker stops."""
    while True:
        await asyncio.sleep(1)
        for pid in pids:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                pids.remove(pid)
                log.error("API worker %d stopped (status %d); stopping the server", pid, status)
                server.should_exit = True
                return


def stop_workers(pids: list[int], seconds: float = 10) -> None:
    """SIGTERM to every worker (a graceful stop), SIGKILL to any left after `seconds`."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    for pid in pids:
        with contextlib.suppress(ChildProcessError):  # already reaped
            while time.monotonic() < deadline:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
                time.sleep(0.05)
            else:
                _signal(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
