"""Forwarded headers count only from the proxies named in CMCC_TRUSTED_PROXIES (none by
default), and no client address reaches the log, not even one a trusted proxy forwards.

What a trusted proxy changes that can be seen from outside is the scheme it reports
(`X-Forwarded-Proto: https` behind a proxy that ends TLS): the links of the OGC API landing page
are absolute, so their scheme shows whether the server believed the header. The address in
`X-Forwarded-For` is used by no route, and never logged."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cmcc.bootstrap import Platform
from tests.serving import served

pytestmark = pytest.mark.e2e

ADDRESS = "203.0.113.77"  # TEST-NET-3: no real host
FROM_A_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": ADDRESS}


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
    output = log.read_bytes()
    assert b'- - "GET /ogc HTTP/1.1" 200' in output  # the request is logged, `-` for the client
    assert ADDRESS.encode() not in output  # neither the forwarded address
    assert b"127.0.0.1" not in output and b"::1" not in output  # nor the proxy's
