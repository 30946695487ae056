"""An HTTPS server for an ASGI app inside the running event loop (the gateway's Marti port
8443 and enrollment port 8446), on a port's ServerTls context.

The app finds the client's certificate in the request's scope, as the ASGI TLS extension puts
it (`scope["extensions"]["tls"]["client_cert_chain"]`, PEM): `client_certificate(scope)` gives
it as DER, and `request_device(platform, scope)` the registered device it is bound to."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from cmcc.bootstrap import Platform
from cmcc.cot.devices import DeviceOwner
from cmcc.tak.tls import ServerTls, peer_device_of_der


class _TlsH11(H11Protocol):
    """uvicorn's h11 protocol, passing the client's certificate to the app (ASGI TLS
    extension): uvicorn itself does not."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self.app = _with_tls(self.app, der, ssl_object)


def _with_tls(app: Any, der: bytes | None, ssl_object: Any) -> Any:
    chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
    version = ssl_object.version() if ssl_object is not None else None
    tls = {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}.get(version or ""),
        "cipher_suite": None,
    }

    async def with_tls(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), "tls": tls}}
        await app(scope, receive, send)

    return with_tls


def client_certificate(scope: Any) -> bytes | None:
    """The DER of the certificate the client presented on this request's connection."""
    chain = ((scope.get("extensions") or {}).get("tls") or {}).get("client_cert_chain") or []
    return ssl.PEM_cert_to_DER_cert(chain[0]) if chain else None


def request_device(platform: Platform, scope: Any) -> DeviceOwner | None:
    """The registered device of a request's client certificate (blocking: one query); None
    without a certificate or for one not bound to a registered device."""
    der = client_certificate(scope)
    return peer_device_of_der(platform, der) if der else None


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
        http=_TlsH11,
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
