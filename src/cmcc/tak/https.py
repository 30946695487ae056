"""An HTTPS server for an ASGI app inside the running event loop (the gateway's Marti port
8443 and enrollment port 8446), on a port's ServerTls context."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from typing import Any

import uvicorn

from cmcc.tak.tls import ServerTls


@dataclass
class Served:
    """A running HTTPS server: the port it is bound to (the one asked for, or the one the
    system chose for port 0)."""

    port: int
    _server: uvicorn.Server
    _task: asyncio.Task[None]

    async def stop(self) -> None:
        """Stop accepting, let requests in progress finish (a few seconds at most), close."""
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def serve(app: Any, host: str, port: int, tls: ServerTls) -> Served:
    """Serve `app` over TLS on host:port (0: any free port) in this event loop; returns once
    it listens. Raises OSError when the port cannot be bound."""

    def context(_config: uvicorn.Config, _default: Any) -> ssl.SSLContext:
        return tls.context

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_context_factory=context,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    # `_serve`, not `serve`: the gateway handles the process's signals itself.
    task = asyncio.create_task(server._serve(), name=f"https:{port}")
    while not server.started:
        if task.done():
            with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind
                task.result()
            raise OSError(f"the HTTPS server on {host}:{port} did not start (port in use?)")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return Served(bound, server, task)
