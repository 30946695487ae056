"""What the public tip routes never keep: the access-log filter and the response headers.

- `PublicPathFilter` drops uvicorn's access-log lines for `/public/...` (they carry the
  client's address and the path); `cmcc serve` installs it.
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
DROPPED_HEADERS = frozenset(
    {
        b"x-forwarded-for",
        b"x-real-ip",
        b"forwarded",
        b"user-agent",
        b"referer",
        b"cookie",
        b"x-request-id",
        b"via",
        b"true-client-ip",
        b"cf-connecting-ip",
    }
)
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
    """uvicorn's own logging configuration, with the access log blind to `/public/...`."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_public_paths"] = {"()": PublicPathFilter}
    config["handlers"]["access"]["filters"] = ["no_public_paths"]
    # The platform's own messages (the TAK gateway's, among others) on uvicorn's console.
    config["loggers"]["cmcc"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
