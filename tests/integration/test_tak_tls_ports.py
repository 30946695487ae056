"""Which CoT ports `cmcc serve`'s gateway opens (cmcc.cot.gateway.start), both backends:
without a TAK certificate authority the plain ports as before and no TLS port; with one, the
TLS port and (CMCC_COT_PLAIN=auto) no plain port; `on` both, `off` the TLS port alone (and
without an authority no gateway at all)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from cmcc.bootstrap import Platform
from cmcc.cot import gateway
from tests.asyncrun import run as run_async
from tests.serving import free_port
from tests.tak_fixtures import with_ca


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def opened(platform: Platform) -> tuple[list[int], list[int], bool]:
    """The plain TCP ports, the TLS ports, and whether UDP is open, of a gateway started on
    the platform's settings (then stopped)."""

    async def main() -> tuple[list[int], list[int], bool]:
        started = await gateway.start(platform, "127.0.0.1")
        assert started is not None
        try:
            server = started.server
            return server.ports, server.tls_ports, bool(server._transports)
        finally:
            await started.stop()

    return run_async(main())


@pytest.mark.parametrize("plain", ["auto", "on", "off"])
def test_the_ports_follow_the_authority_and_cmcc_cot_plain(
    platform: Platform, tmp_path: Path, plain: str
) -> None:
    s = platform.settings
    s.cot_tcp_port, s.cot_tak_port, s.cot_udp_port = free_port(), 0, _udp_port()
    s.cot_tls_port, s.cot_plain = free_port(), plain  # type: ignore[assignment]
    s.tak_https_port = s.tak_enroll_port = 0  # not 8443 and 8446: the other worker's run binds them
    if plain != "off":  # no authority: the TLS port stays shut, the plain ports open
        assert opened(platform) == ([s.cot_tcp_port], [], True)
    else:  # ... and with the plain ports off, no gateway at all
        assert run_async(gateway.start(platform, "127.0.0.1")) is None
    with_ca(platform, tmp_path)
    expected = (
        ([s.cot_tcp_port], [s.cot_tls_port], True)
        if plain == "on"
        else ([], [s.cot_tls_port], False)
    )
    assert opened(platform) == expected
    s.cot_tls_port = 0  # the TLS port off: auto opens the plain ports again
    if plain == "auto":
        assert opened(platform) == ([s.cot_tcp_port], [], True)
