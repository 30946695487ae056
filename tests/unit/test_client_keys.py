"""Client addresses at the edge (cmcc.api.clients): forwarded headers believed only from
trusted proxies and read past them from the right, RFC 7239 `Forwarded` as well as
`X-Forwarded-For`; a keyed hash kept on sign-in paths only, never on public ones; the address
and its headers gone from every request. And the throttle's keys and waits."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from cmcc.access.throttle import Rule, account_key, address_key
from cmcc.api.clients import CLIENT_KEY, ClientAddresses

SECRET = "s" * 32
PROXY = "10.0.0.5"


def _through(
    path: str = "/login",
    peer: str = PROXY,
    headers: list[tuple[bytes, bytes]] | None = None,
    trusted: tuple[str, ...] = ("10.0.0.0/24",),
    sign_in: frozenset[str] | None = frozenset({"/login"}),
) -> dict[str, Any]:
    """The scope the application behind the middleware gets."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    scope = {
        "type": "http",
        "path": path,
        "scheme": "http",
        "client": (peer, 40000),
        "headers": headers or [],
    }
    middleware = ClientAddresses(app, trusted, SECRET, sign_in)
    asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
    return seen


def _key(scope: dict[str, Any]) -> str | None:
    return scope.get("state", {}).get(CLIENT_KEY)


@pytest.mark.parametrize(
    ("headers", "client"),
    [
        ([], PROXY),  # from the proxy itself
        ([(b"x-forwarded-for", b"203.0.113.7")], "203.0.113.7"),
        ([(b"x-forwarded-for", b"198.51.100.1, 203.0.113.7, 10.0.0.9")], "203.0.113.7"),
        (
            [(b"x-forwarded-for", b"198.51.100.1"), (b"x-forwarded-for", b"203.0.113.7")],
            "203.0.113.7",
        ),
        ([(b"forwarded", b'for="[2001:db8:cafe::17]:4711";proto=https')], "2001:db8:cafe::17"),
        ([(b"forwarded", b"for=198.51.100.1, for=203.0.113.7:80;by=10.0.0.5")], "203.0.113.7"),
        (  # Forwarded wins over X-Forwarded-For when both come
            [(b"forwarded", b"for=203.0.113.7"), (b"x-forwarded-for", b"198.51.100.1")],
            "203.0.113.7",
        ),
        ([(b"forwarded", b"for=_hidden")], "_hidden"),  # an obfuscated name counts as it is
    ],
)
def test_forwarded_addresses_from_a_trusted_proxy(
    headers: list[tuple[bytes, bytes]], client: str
) -> None:
    scope = _through(headers=headers)
    assert _key(scope) == address_key(SECRET, client)
    assert scope["client"] is None
    assert not [k for k, _ in scope["headers"] if k in (b"forwarded", b"x-forwarded-for")]


def test_headers_from_anyone_else_are_ignored() -> None:
    forged = [(b"x-forwarded-for", b"203.0.113.7"), (b"x-forwarded-proto", b"https")]
    scope = _through(peer="198.51.100.20", headers=forged)
    assert _key(scope) == address_key(SECRET, "198.51.100.20")
    assert scope["scheme"] == "http" and scope["headers"] == []
    untrusting = _through(headers=forged, trusted=())  # the default: no proxy trusted
    assert _key(untrusting) == address_key(SECRET, PROXY)


def test_the_scheme_comes_from_a_trusted_proxy() -> None:
    assert _through(headers=[(b"x-forwarded-proto", b"https")])["scheme"] == "https"
    assert _through(headers=[(b"forwarded", b"for=203.0.113.7;proto=https")])["scheme"] == "https"
    assert _through(headers=[(b"x-forwarded-proto", b"gopher")])["scheme"] == "http"


def test_a_key_only_on_sign_in_paths_and_never_on_public_ones() -> None:
    forwarded = [(b"x-forwarded-for", b"203.0.113.7"), (b"user-agent", b"kept")]
    for path in ("/public/tips", "/favicon.ico", "/static/icon.svg", "/api/v1/incidents"):
        scope = _through(path=path, headers=forwarded)
        assert _key(scope) is None and scope["client"] is None
        assert scope["headers"] == [(b"user-agent", b"kept")]
    every = _through(path="/public/tips", sign_in=None)  # the enrollment port: every path...
    assert _key(every) is None  # ...but never a public one
    assert _key(_through(path="/Marti/api/tls/config", sign_in=None)) is not None


def test_keys_are_keyed_hashes_and_ipv6_counts_by_its_64() -> None:
    assert address_key(SECRET, "2001:db8:1:2::1") == address_key(SECRET, "2001:db8:1:2:ffff::9")
    assert address_key(SECRET, "2001:db8:1:2::1") != address_key(SECRET, "2001:db8:1:3::1")
    assert address_key(SECRET, "::ffff:192.0.2.1") == address_key(SECRET, "192.0.2.1")
    assert address_key(SECRET, "192.0.2.1") != address_key("t" * 32, "192.0.2.1")
    assert account_key(SECRET, "192.0.2.1") != address_key(SECRET, "192.0.2.1")
    assert "192.0.2.1" not in address_key(SECRET, "192.0.2.1")


def test_the_wait_doubles_up_to_the_longest_then_locks() -> None:
    rule = Rule(free=3, lockout=10)
    lockout = dt.timedelta(minutes=15)
    waits = [rule.wait_after(n, 60, lockout).total_seconds() for n in range(1, 12)]
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 60, 900, 900]
