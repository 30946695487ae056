"""Forwarded headers count only from the proxies named in CMCC_TRUSTED_PROXIES (none by
default), and no client address reaches the log, not even one a trusted proxy forwards.

What a trusted proxy changes is the scheme it reports (`X-Forwarded-Proto: https` behind a
proxy that ends TLS: the links of the OGC API landing page are absolute, so their scheme shows
whether the server believed the header) and the address the sign-in throttle counts under (its
keyed hash, in the database). The address is used by no route, and never logged: not for the
public tip page and what it makes the browser fetch, not for a failed sign-in."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cmcc.access import throttle
from cmcc.access.domain import Principal
from cmcc.access.models import SignInThrottle
from cmcc.bootstrap import Platform
from tests.serving import served

pytestmark = pytest.mark.e2e

ADDRESS = "203.0.113.77"  # TEST-NET-3: no real host
FROM_A_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": ADDRESS}
# What the tip page makes a browser fetch, with the forwarded headers a proxy adds.
PUBLIC = ("/public/tips", "/public/tips/challenge", "/favicon.ico", "/static/icon.svg")


@pytest.mark.parametrize(
    ("trusted", "scheme"),
    [
        (None, "http"),  # the default: no proxy is trusted
        ("192.0.2.10, 198.51.100.0/24", "http"),  # proxies elsewhere: this caller is not one
        ("127.0.0.0/8, ::1", "https"),  # the proxy on this machine (the test's own client)
    ],
    ids=["default", "other-proxies", "this-proxy"],
)
def test_forwarded_headers_only_from_trusted_proxies(
    platform: Platform, tmp_path: Path, trusted: str | None, scheme: str
) -> None:
    env = {"CMCC_TRUSTED_PROXIES": trusted} if trusted else {}
    with served(platform, tmp_path, extra_env=env) as (base, log):
        landing = httpx.get(base + "/ogc", headers=FROM_A_PROXY, timeout=30)
        assert landing.status_code == 200
        self_link = next(link["href"] for link in landing.json()["links"] if link["rel"] == "self")
        assert self_link.split("://")[0] == scheme, self_link
        for path in PUBLIC:
            assert httpx.get(base + path, headers=FROM_A_PROXY, timeout=30).status_code == 200
        body = {"username": "someone", "password": "a wrong password"}
        r = httpx.post(base + "/api/v1/auth/login", json=body, headers=FROM_A_PROXY, timeout=30)
        assert r.status_code == 401
    output = log.read_bytes()
    assert b'- - "GET /ogc HTTP/1.1" 200' in output  # the request is logged, `-` for the client
    assert b"/public/" not in output  # the public routes are not logged at all
    assert ADDRESS.encode() not in output  # neither the forwarded address
    assert b"127.0.0.1" not in output and b"::1" not in output  # nor the proxy's
    # The failed sign-in was counted under the forwarded address only from a trusted proxy.
    with platform.unit_of_work(Principal.system_operator()) as session:
        address_rows = select(SignInThrottle.key).where(SignInThrottle.kind == throttle.ADDRESS)
        keys = set(session.scalars(address_rows))
    secret = platform.settings.secret_key.get_secret_value()
    believed = ADDRESS if scheme == "https" else "127.0.0.1"
    assert keys == {throttle.address_key(secret, believed)}
