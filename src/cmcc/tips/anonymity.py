"""What the platform never keeps of a tipster: no client address anywhere, nothing of the public
routes' requests.

A tipster's browser asks for more than `/public/...` (an icon, above all), and a reverse proxy
on the same machine names the tipster in `X-Forwarded-For`. So no client address is kept for
any request, whatever its path:

- `cmcc.api.clients.ClientAddresses` (the application's outermost middleware) removes the
  client address and every header naming one from every request before the application sees
  it, and so from whatever the server logs after the answer (uvicorn's access log reads it
  there); on the sign-in paths only, it keeps a keyed hash of it for the sign-in throttle;
- `NoClientAddress`, on uvicorn's log handlers, writes `-` where uvicorn's request lines (the
  access log, WebSocket handshakes) name the client, and drops its trace lines, which name the
  peer; it holds also for answers uvicorn makes without the application (503 over the
  concurrency limit), and whatever the path.

And for the public routes:

- `PublicPathFilter` drops uvicorn's access-log lines for `/public/...` altogether;
  `cmcc serve` installs it with `NoClientAddress`.
- `PublicRoute` wraps every public route: the request's client address and identifying
  headers are removed from the request before any of our code sees it, errors are rendered
  here, and every answer carries `Referrer-Policy: no-referrer`, `Cache-Control: no-store`, a
  strict Content-Security-Policy and no cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from cmcc.api import errors
from cmcc.core.errors import DomainError

PUBLIC_PREFIX = "/public"
# The headers that name a client's address (removed from every request by
# `cmcc.api.clients.ClientAddresses`), and those that identify a tipster besides.
ADDRESS_HEADERS = frozenset(
    {
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-real-ip",
        b"forwarded",
        b"true-client-ip",
        b"cf-connecting-ip",
    }
)
DROPPED_HEADERS = ADDRESS_HEADERS | {b"user-agent", b"referer", b"cookie", b"x-request-id", b"via"}
DEFAULT_CSP = (
    "default-src 'none'; connect-src 'self'; img-src 'self' blob:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def is_public(path: str) -> bool:
    return path == PUBLIC_PREFIX or path.startswith(PUBLIC_PREFIX + "/")


class PublicPathFilter(logging.Filter):
    """Keep no access-log line for the public routes (uvicorn's args: client, method, path,
    HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            return not is_public(args[2])
        return PUBLIC_PREFIX + "/" not in record.getMessage()


class NoClientAddress(logging.Filter):
    """No client address in uvicorn's log lines, for any request (on both of its handlers, so
    that every line it writes passes here)."""

    REQUEST_LINE = '%s - "'  # uvicorn's request lines name the client first

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.DEBUG:  # uvicorn's trace lines begin with the peer address
            return False
        request_line = record.name == "uvicorn.access" or (
            isinstance(record.msg, str) and record.msg.startswith(self.REQUEST_LINE)
        )
        if request_line and isinstance(record.args, tuple) and record.args:
            record.args = ("-", *record.args[1:])
        return True


def forget_sender(request: Request) -> None:
    """Remove the client address and identifying headers from the request scope."""
    scope = request.scope
    scope["client"] = None
    scope["headers"] = [(k, v) for k, v in scope.get("headers", []) if k not in DROPPED_HEADERS]
    if "_headers" in vars(request):  # starlette caches the headers once read
        del request._headers


def private_headers(response: Response) -> Response:
    headers = response.headers
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cache-Control"] = "no-store"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    if "set-cookie" in headers:
        del headers["set-cookie"]
    return response


class PublicRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def public_handler(request: Request) -> Response:
            forget_sender(request)
            try:
                response = await handler(request)
            except DomainError as exc:
                response = errors.problem(
                    exc.http_status, exc.code, exc.title, exc.detail, request.url.path, exc.errors
                )
            return private_headers(response)

        return public_handler


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration: no client address in any line, and no access-log
    line at all for `/public/...`."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    filters = config.setdefault("filters", {})
    filters["no_public_paths"] = {"()": PublicPathFilter}
    filters["no_client_address"] = {"()": NoClientAddress}
    config["handlers"]["default"]["filters"] = ["no_client_address"]
    config["handlers"]["access"]["filters"] = ["no_client_address", "no_public_paths"]
    # The platform's own messages (the TAK gateway's, among others) on uvicorn's console.
    config["loggers"]["cmcc"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
