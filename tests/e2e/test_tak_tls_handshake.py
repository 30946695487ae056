"""Mutual TLS on a port of the gateway (cmcc.tak.tls.ServerTls), with real sockets: an echo
server on asyncio.start_server, and two independent clients (Python's ssl, and
`openssl s_client`). A certificate the CA issued to a registered device connects, and the
server knows its device from it; a certificate revoked while the server runs (after
`refresh()`), an expired one, one of another CA and none at all are refused at the handshake.
With and without SNI: the switch to the newest revocation list happens in both cases."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.cot import devices
from cmcc.cot.devices import DeviceOwner
from cmcc.tak import pki
from cmcc.tak.https import request_device, serve
from cmcc.tak.tls import ServerTls, peer_device, server_tls
from tests.factories import org
from tests.tak_fixtures import another_ca_certificate, with_ca

pytestmark = pytest.mark.e2e
PASSPHRASE = b"test key passphrase"
OPENSSL = shutil.which("openssl")


@dataclass
class EchoServer:
    """A TLS echo server in a thread of its own (its own event loop): each connection gets
    back what it sends, prefixed with the device uid its certificate names."""

    platform: Platform
    tls: ServerTls
    port: int = 0
    peers: list[DeviceOwner | None] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # why the server refused handshakes
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        owner = await asyncio.to_thread(peer_device, self.platform, writer.transport)
        self.peers.append(owner)
        try:
            line = await reader.readline()
            writer.write(f"{owner.uid if owner else '-'}:".encode() + line)
            await writer.drain()
        finally:
            writer.close()

    def start(self) -> None:
        # asyncio says why a handshake failed only in debug mode, in its log: kept here.
        self.loop.set_debug(True)
        self.loop.slow_callback_duration = 60
        self.handler = _Refusals(self.refusals)
        logging.getLogger("asyncio").addHandler(self.handler)
        logging.getLogger("asyncio").setLevel(logging.DEBUG)
        ready = threading.Event()

        async def main() -> None:
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls.context)
            self.port = server.sockets[0].getsockname()[1]
            self.stopping = asyncio.Event()
            ready.set()
            async with server:
                await self.stopping.wait()

        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(main(),), daemon=True
        )
        self.thread.start()
        assert ready.wait(30)

    def refresh(self) -> None:
        asyncio.run_coroutine_threadsafe(self.tls.refresh(), self.loop).result(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)
        self.loop.close()
        logging.getLogger("asyncio").removeHandler(self.handler)
        logging.getLogger("asyncio").setLevel(logging.NOTSET)


class _Refusals(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        if "handshake failed" in record.getMessage() and record.exc_info:
            self.into.append(str(record.exc_info[1]))


@pytest.fixture
def served(platform: Platform, tmp_path: Path) -> Iterator[EchoServer]:
    org(platform, "IDN")
    with_ca(platform, tmp_path)
    with platform.unit_of_work(Principal.system_operator(), write=True) as session:
        devices.register(session, "idn-1", "IDN", callsign="GARUDA-1")
    server = EchoServer(platform, server_tls(platform, client_certificates=True))
    server.start()
    yield server
    server.stop()


def _files(folder: Path, name: str, cert_pem: bytes, key: rsa.RSAPrivateKey) -> tuple[Path, Path]:
    cert, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert.write_bytes(cert_pem)
    key_file.write_bytes(pki.encrypted_key_pem(key, PASSPHRASE))
    return cert, key_file


def _issue(platform: Platform, folder: Path, name: str, **kw: object) -> tuple[Path, Path, str]:
    with platform.unit_of_work(Principal.system_operator(), write=True) as session:
        issued = pki.issue_for_device(session, "idn-1", **kw)  # type: ignore[arg-type]
    cert, key = _files(folder, name, issued.cert_pem, issued.key)  # type: ignore[arg-type]
    return cert, key, issued.certificate.serial


def _truststore(platform: Platform, folder: Path) -> Path:
    with platform.unit_of_work(Principal.system_operator()) as session:
        path = folder / "ca.pem"
        path.write_bytes(pki.authority_pem(session))
    return path


def python_client(
    port: int, ca: Path, cert: Path | None, key: Path | None, *, sni: str | None = "localhost"
) -> str:
    """Connect, send a line, return the answer; raises ssl.SSLError or OSError when refused.
    (In TLS 1.3 the server's refusal of a client certificate arrives after the client's
    handshake ends: the first read sees it.)"""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.check_hostname = sni is not None
    if cert is not None and key is not None:
        ctx.load_cert_chain(cert, key, password=PASSPHRASE)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=20) as raw,
        ctx.wrap_socket(raw, server_hostname=sni) as tls,
    ):
        tls.sendall(b"hello\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = tls.recv(1024)
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk
    return data.decode()


def openssl_client(
    port: int, ca: Path, cert: Path | None, key: Path | None, *, sni: bool = True
) -> subprocess.CompletedProcess[str]:
    assert OPENSSL, "openssl must be installed"
    args = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(ca)]
    args += ["-verify_return_error", "-quiet"]
    args += ["-servername", "localhost"] if sni else ["-noservername"]
    if cert is not None and key is not None:
        args += ["-cert", str(cert), "-key", str(key), "-pass", f"pass:{PASSPHRASE.decode()}"]
    return subprocess.run(
        args,
        input="hello\n",
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "OPENSSL_CONF": "/dev/null"},
        check=False,
    )


def test_a_device_certificate_connects_and_names_its_device(
    served: EchoServer, tmp_path: Path
) -> None:
    ca = _truststore(served.platform, tmp_path)
    cert, key, _serial = _issue(served.platform, tmp_path, "idn-1")
    assert python_client(served.port, ca, cert, key) == "idn-1:hello\n"
    assert python_client(served.port, ca, cert, key, sni=None) == "idn-1:hello\n"
    for sni in (True, False):
        done = openssl_client(served.port, ca, cert, key, sni=sni)
        assert done.stdout == "idn-1:hello\n", done.stderr
    assert [p.uid if p else None for p in served.peers] == ["idn-1"] * 4


@pytest.mark.parametrize("sni", [True, False], ids=["sni", "no-sni"])
def test_a_certificate_revoked_while_serving_is_refused_after_refresh(
    served: EchoServer, tmp_path: Path, sni: bool
) -> None:
    ca = _truststore(served.platform, tmp_path)
    cert, key, serial = _issue(served.platform, tmp_path, "idn-1")
    other_cert, other_key, _ = _issue(served.platform, tmp_path, "idn-1b")
    assert openssl_client(served.port, ca, cert, key, sni=sni).stdout == "idn-1:hello\n"
    with served.platform.unit_of_work(Principal.system_operator(), write=True) as session:
        pki.revoke(session, serial, "key_compromise")
    served.refresh()
    refused = openssl_client(served.port, ca, cert, key, sni=sni)
    assert (refused.stdout, refused.returncode != 0) == ("", True)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        python_client(served.port, ca, cert, key, sni="localhost" if sni else None)
    assert len(served.refusals) == 2
    assert all("certificate revoked" in r for r in served.refusals), served.refusals
    # the device's other certificate still connects
    assert openssl_client(served.port, ca, other_cert, other_key, sni=sni).stdout == (
        "idn-1:hello\n"
    )


def test_an_expired_certificate_is_refused(served: EchoServer, tmp_path: Path) -> None:
    ca = _truststore(served.platform, tmp_path)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    cert, key, _ = _issue(served.platform, tmp_path, "old", lifetime_days=1, valid_from=long_ago)
    refused = openssl_client(served.port, ca, cert, key)
    assert (refused.stdout, refused.returncode != 0) == ("", True)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        python_client(served.port, ca, cert, key)
    assert len(served.refusals) == 2
    assert all("certificate has expired" in r for r in served.refusals), served.refusals


def test_a_certificate_of_another_ca_is_refused(served: EchoServer, tmp_path: Path) -> None:
    ca = _truststore(served.platform, tmp_path)
    other_ca, cert, key = another_ca_certificate()
    # the client sends its own CA along: the server must still refuse it
    chain = cert.public_bytes(serialization.Encoding.PEM) + other_ca.public_bytes(
        serialization.Encoding.PEM
    )
    cert_file, key_file = _files(tmp_path, "foreign", chain, key)
    refused = openssl_client(served.port, ca, cert_file, key_file)
    assert (refused.stdout, refused.returncode != 0) == ("", True)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        python_client(served.port, ca, cert_file, key_file)
    assert served.peers == []
    assert len(served.refusals) == 2
    # the issuer is unknown (openssl sends the certificate alone); or known only from the
    # chain the client sent, which is not trusted (Python sends the whole file)
    assert "unable to get local issuer" in served.refusals[0], served.refusals
    assert "self-signed certificate in certificate chain" in served.refusals[1], served.refusals


def test_no_certificate_is_refused(served: EchoServer, tmp_path: Path) -> None:
    ca = _truststore(served.platform, tmp_path)
    refused = openssl_client(served.port, ca, None, None)
    assert (refused.stdout, refused.returncode != 0) == ("", True)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        python_client(served.port, ca, None, None)
    assert served.peers == []
    assert len(served.refusals) == 2
    assert all("PEER_DID_NOT_RETURN_A_CERTIFICATE" in r for r in served.refusals), served.refusals


def test_the_server_certificate_names_the_configured_hosts(
    served: EchoServer, tmp_path: Path
) -> None:
    """The client checks the server: its certificate is the CA's, for CMCC_TAK_HOSTNAMES."""
    ca = _truststore(served.platform, tmp_path)
    pem = ssl.get_server_certificate(("127.0.0.1", served.port))
    cert = x509.load_pem_x509_certificate(pem.encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.read_bytes()))


def _whoami_app(platform: Platform) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def whoami(request: Request) -> PlainTextResponse:
        owner = await asyncio.to_thread(request_device, platform, request.scope)
        return PlainTextResponse(owner.uid if owner else "-")

    return Starlette(routes=[Route("/whoami", whoami)])


def test_https_serves_an_app_that_knows_the_device(served: EchoServer, tmp_path: Path) -> None:
    """cmcc.tak.https: uvicorn in the running loop on the same mutual-TLS context, on a port
    the system chose; the app gets the device of the request's certificate; stop() closes."""
    ca = _truststore(served.platform, tmp_path)
    cert, key, serial = _issue(served.platform, tmp_path, "idn-1")
    running = asyncio.run_coroutine_threadsafe(
        serve(_whoami_app(served.platform), "127.0.0.1", 0, served.tls), served.loop
    ).result(30)
    assert running.port > 0
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(cert, key, password=PASSPHRASE)
    with httpx.Client(verify=ctx) as client:
        answer = client.get(f"https://localhost:{running.port}/whoami")
    assert (answer.status_code, answer.text) == (200, "idn-1")
    # without a certificate: refused at the handshake
    with (
        pytest.raises(httpx.HTTPError),
        httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as client,
    ):
        client.get(f"https://localhost:{running.port}/whoami")
    # revoked, then refreshed: refused too
    with served.platform.unit_of_work(Principal.system_operator(), write=True) as session:
        pki.revoke(session, serial, "key_compromise")
    served.refresh()
    with pytest.raises(httpx.HTTPError), httpx.Client(verify=ctx) as client:
        client.get(f"https://localhost:{running.port}/whoami")
    asyncio.run_coroutine_threadsafe(running.stop(), served.loop).result(30)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", running.port), timeout=5).close()


def test_a_server_only_port_takes_clients_without_certificates(
    served: EchoServer, tmp_path: Path
) -> None:
    """client_certificates=False (the enrollment port): the server proves itself with the same
    server certificate, and asks for no client certificate."""
    ca = _truststore(served.platform, tmp_path)
    open_port = EchoServer(served.platform, server_tls(served.platform, client_certificates=False))
    open_port.start()
    try:
        assert python_client(open_port.port, ca, None, None) == "-:hello\n"
        done = openssl_client(open_port.port, ca, None, None, sni=False)
        assert done.stdout == "-:hello\n", done.stderr
        asyncio.run_coroutine_threadsafe(open_port.tls.refresh(), open_port.loop).result(30)
        assert python_client(open_port.port, ca, None, None) == "-:hello\n"
    finally:
        open_port.stop()
    assert open_port.peers == [None, None, None]
