"""Client addresses: read once, at the edge, and kept by no request.

`ClientAddresses` is the outermost middleware of the API and of the TAK enrollment port. For
every request it

1. takes the client's address: the peer's, or, when the peer is one of the proxies named in
   CMCC_TRUSTED_PROXIES (none by default), the address the proxies forwarded
   (`Forwarded: for=` of RFC 7239, else `X-Forwarded-For`), read from the right and past every
   trusted proxy; from a trusted proxy also the scheme (`proto=`, `X-Forwarded-Proto`);
2. on a sign-in path only, keeps a keyed hash of that address for the sign-in throttle
   (`client_key` in the request's state; `cmcc.access.throttle`), never the address;
3. removes the address from the request (`scope["client"]`, so from uvicorn's access log
   too) and every header that names one, whatever the path.

So no route, table or log line holds a client address. The public tip routes are not sign-in
paths: their requests get no key at all, and are never throttled by address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from cmcc.access.throttle import address_key
from cmcc.tips.anonymity import ADDRESS_HEADERS, is_public

CLIENT_KEY = "client_key"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # RFC 7239: "[2001:db8::1]:4711"
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:  # "192.0.2.1:4711"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _forwarded(values: list[str]) -> tuple[list[str], str | None]:
    """RFC 7239 elements, in order: the `for=` of each, and the `proto=` of the last."""
    hops: list[str] = []
    proto = None
    for value in values:
        for element in value.split(","):
            params = {}
            for pair in element.split(";"):
                name, _, content = pair.partition("=")
                params[name.strip().lower()] = content.strip().strip('"')
            hops.append(params.get("for", ""))
            proto = params.get("proto", proto)
    return hops, proto


class ClientAddresses:
    def __init__(
        self,
        app: ASGIApp,
        trusted_proxies: Iterable[str],
        secret: str,
        sign_in_paths: frozenset[str] | None,
    ) -> None:
        """`sign_in_paths`: the paths whose requests get a `client_key` (None: every path)."""
        self.app = app
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(p, strict=False) for p in trusted_proxies
        )
        self.secret = secret
        self.sign_in_paths = sign_in_paths

    def _is_trusted(self, text: str) -> bool:
        ip = _ip(text)
        return ip is not None and any(ip in network for network in self.trusted)

    def address(self, scope: Scope) -> str | None:
        client = scope.get("client")
        peer: str | None = client[0] if client else None
        if peer is None or not self.trusted or not self._is_trusted(peer):
            return peer
        headers = scope.get("headers") or []
        forwarded = [v.decode("latin-1") for k, v in headers if k == b"forwarded"]
        if forwarded:
            hops, proto = _forwarded(forwarded)
        else:
            xff = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"]
            hops = [h for value in xff for h in value.split(",")]
            protos = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-proto"]
            proto = protos[-1].split(",")[-1] if protos else None
        self._set_scheme(scope, proto)
        for hop in reversed(hops):
            if hop.strip() and not self._is_trusted(hop):
                ip = _ip(hop)
                return str(ip) if ip is not None else hop.strip()
        return peer  # only trusted proxies: the request came from one of them

    @staticmethod
    def _set_scheme(scope: Scope, proto: str | None) -> None:
        proto = (proto or "").strip().lower()
        if proto in ("http", "https"):
            secure = proto == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = proto

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            address = self.address(scope)
            path = scope.get("path", "")
            wanted = self.sign_in_paths is None or path in self.sign_in_paths
            if address is not None and wanted and not is_public(path):
                state: dict[str, Any] = scope.setdefault("state", {})
                state[CLIENT_KEY] = address_key(self.secret, address)
            scope["client"] = None
            scope["headers"] = [
                (k, v) for k, v in scope.get("headers") or [] if k not in ADDRESS_HEADERS
            ]
        await self.app(scope, receive, send)


def client_key(request: Request) -> str | None:
    """The keyed hash of the client's address, on a sign-in path (None elsewhere)."""
    key = request.scope.get("state", {}).get(CLIENT_KEY)
    return key if isinstance(key, str) else None
