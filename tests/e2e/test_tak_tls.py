"""CoT over TLS on the gateway of `cmcc serve` (CMCC_COT_TLS_PORT), both backends, real
sockets: certificates from `cmcc tak cert issue` (the CLI, as an operator would), pytak over
TLS relaying to other TLS clients under the relay rule between three organizations (rel: and
owner), TAK protocol negotiation over TLS, a device that speaks for another registered device
refused, the plain ports off once a CA exists; a revoked certificate, an expired one, one of
another CA and none at all refused at the handshake, and an open connection dropped when its
certificate is revoked; `openssl s_client` as an independent client."""

from __future__ import annotations

import asyncio
import configparser
import datetime as dt
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytak
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.cot import codec, devices
from cmcc.cot.framing import ProtoStreamSplitter, XmlStreamSplitter
from cmcc.tak import pki
from tests.asyncrun import run as run_async
from tests.factories import org
from tests.serving import eventually, free_port, platform_env, run_cmcc, served
from tests.tak_fixtures import another_ca_certificate, with_ca

pytestmark = pytest.mark.e2e
OPENSSL = shutil.which("openssl")
WHERE = (31.61, 34.77)
DEVICES = {  # uid: (organization, marking)
    "idn-1": ("IDN", "rel:GBR"),
    "idn-2": ("IDN", "mission"),
    "idn-3": ("IDN", "owner"),
    "gbr-1": ("GBR", "mission"),
    "fra-1": ("FRA", "mission"),
}


KEY_PASSPHRASE = "device key passphrase"


@dataclass
class Credentials:
    cert: Path
    key: Path  # encrypted with KEY_PASSPHRASE
    ca: Path


@dataclass
class Gateway:
    platform: Platform
    home: Path
    port: int  # TLS
    plain: int  # the TCP port it was given (off: a CA exists)
    log: Path

    def issue(self, device: str) -> Credentials:
        """`cmcc tak cert issue DEVICE --out DIR` (and `cmcc tak ca show --pem`, the
        truststore), as an operator would."""
        out = self.home / f"cert-{device}-{time.monotonic_ns()}"
        phrase = self.home / "key-passphrase"
        phrase.write_text(KEY_PASSPHRASE + "\n")
        cli(
            self.platform,
            self.home,
            *("tak", "cert", "issue", device, "--out", str(out), "--passphrase-file", str(phrase)),
        )
        creds = credentials(out, device)
        creds.ca.write_text(cli(self.platform, self.home, "tak", "ca", "show", "--pem"))
        return creds


def cli(platform: Platform, home: Path, *args: str) -> str:
    done = run_cmcc(list(args), platform_env(platform, home), home)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def credentials(folder: Path, device: str) -> Credentials:
    return Credentials(folder / f"{device}.pem", folder / f"{device}.key", folder / "ca.pem")


@pytest.fixture
def gateway(platform: Platform, tmp_path: Path) -> Iterator[Gateway]:
    with_ca(platform, tmp_path)
    for code in ("IDN", "GBR", "FRA"):
        org(platform, code)
    with operator_session(platform, write=True, actor="system:test") as session:
        for uid, (code, marking) in DEVICES.items():
            devices.register(session, uid, code, callsign=uid.upper(), releasability=marking)
    port, plain = free_port(), free_port()
    env = {
        "CMCC_COT_TLS_PORT": str(port),
        "CMCC_COT_TCP_PORT": str(plain),
        "CMCC_TAK_HOSTNAMES": "localhost,127.0.0.1",
    }
    with served(platform, tmp_path, extra_env=env) as (_base, log):
        yield Gateway(platform, tmp_path, port, plain, log)


def context(creds: Credentials | None, ca: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    if creds is not None:
        ctx.load_cert_chain(creds.cert, creds.key, password=KEY_PASSPHRASE)
    return ctx


class TlsClient:
    """A device on the TLS port (Python's ssl): what the gateway sends it, event by event."""

    def __init__(self, port: int, creds: Credentials | None, ca: Path) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = context(creds, ca).wrap_socket(raw, server_hostname="127.0.0.1")
        self.splitter: XmlStreamSplitter | ProtoStreamSplitter = XmlStreamSplitter()
        self.proto = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, seconds: float) -> bytes:
        self.sock.settimeout(seconds)
        try:
            return self.sock.recv(65536)
        except TimeoutError:
            return b"?"  # nothing yet (the connection is still open)

    def events(self, seconds: float = 1.5) -> list[Any]:
        got = []
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            data = self.recv(left)
            if data == b"?" or not data:
                break
            for frame in self.splitter.feed(data):
                got.append(codec.parse_proto(frame) if self.proto else codec.parse_xml(frame))
        return [e for e in got if not e.type.startswith("t-x-takp")]

    def closed_by_server(self, seconds: float) -> bool:
        """Whether the gateway closes the connection within `seconds`."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                if self.recv(left) == b"":
                    return True
            except (ssl.SSLError, ConnectionError):
                return True
        return False

    def close(self) -> None:
        self.sock.close()


def position(uid: str, stale: float = 300) -> bytes:
    data: bytes = pytak.gen_cot(
        lat=WHERE[0], lon=WHERE[1], uid=uid, cot_type="a-f-G-U-C", stale=stale, callsign=uid.upper()
    )
    return data


async def pytak_send(port: int, creds: Credentials, events: list[bytes]) -> None:
    """pytak's own TLS client (COT_URL tls://, PYTAK_TLS_CLIENT_*): the server's certificate
    checked against the CA and the host name."""
    config = configparser.ConfigParser()
    config["pytak"] = {
        "COT_URL": f"tls://127.0.0.1:{port}",
        "PYTAK_TLS_CLIENT_CERT": str(creds.cert),
        "PYTAK_TLS_CLIENT_KEY": str(creds.key),
        "PYTAK_TLS_CLIENT_CAFILE": str(creds.ca),
        "PYTAK_TLS_CLIENT_PASSWORD": KEY_PASSPHRASE,
        "PYTAK_TLS_SERVER_EXPECTED_HOSTNAME": "127.0.0.1",
    }
    reader, writer = await pytak.protocol_factory(config["pytak"])
    assert b"TakProtocolSupport" in await asyncio.wait_for(reader.read(65536), 10)
    for data in events:
        writer.write(data)
    await writer.drain()
    await asyncio.sleep(0.5)
    writer.close()


def test_pytak_over_tls_relays_under_the_groups_and_the_plain_ports_are_off(
    gateway: Gateway,
) -> None:
    creds = {uid: gateway.issue(uid) for uid in DEVICES}
    receivers = {
        uid: TlsClient(gateway.port, creds[uid], creds[uid].ca)
        for uid in ("idn-2", "gbr-1", "fra-1")
    }
    # idn-2 speaks TAK Protocol over TLS, as over TCP
    idn_2 = receivers["idn-2"]
    assert b"TakProtocolSupport" in idn_2.recv(10)
    request = codec.make_event(
        "idn-2",
        "t-x-takp-q",
        0.0,
        0.0,
        now=dt.datetime.now(dt.UTC),
        stale_seconds=60,
        detail_children='<TakControl><TakRequest version="1"/></TakControl>',
    )
    idn_2.send(request.raw)
    assert b'status="true"' in eventually(lambda: idn_2.recv(2), 10)
    idn_2.proto, idn_2.splitter = True, ProtoStreamSplitter(65536)
    for client in receivers.values():
        client.events(1.0)  # what they are sent on joining

    run_async(pytak_send(gateway.port, creds["idn-1"], [position("idn-1"), position("gbr-1")]))
    owner_only = TlsClient(gateway.port, creds["idn-3"], creds["idn-3"].ca)
    owner_only.send(position("idn-3"))
    got = {uid: sorted({e.uid for e in c.events(2.0)}) for uid, c in receivers.items()}
    assert got == {"idn-2": ["idn-1", "idn-3"], "gbr-1": ["idn-1"], "fra-1": []}
    log = gateway.log.read_text()
    assert "spoke for another registered device (gbr-1)" in log
    # the plain ports are off: a CA exists and the TLS port is open
    assert "plain ports off" in log
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", gateway.plain), timeout=5)
    for client in [*receivers.values(), owner_only]:
        client.close()


def refused(gateway: Gateway, creds: Credentials | None, ca: Path, reason: str) -> bool:
    """Whether the gateway refuses the handshake for `reason` (its log says so): the device is
    sent nothing, not even the protocol event every connected device gets."""
    try:
        client = TlsClient(gateway.port, creds, ca)
        data = client.recv(10)
        client.close()
    except (ssl.SSLError, ConnectionError):
        data = b""
    refusal = f"refused at the handshake: {reason}"
    return data == b"" and eventually(lambda: refusal in gateway.log.read_text(), 5)


def test_refused_at_the_handshake_and_dropped_when_revoked(gateway: Gateway) -> None:
    good = gateway.issue("idn-2")
    ca = good.ca
    assert refused(gateway, None, ca, "PEER_DID_NOT_RETURN_A_CERTIFICATE")
    other = other_ca_credentials(gateway.home)
    assert refused(gateway, other, ca, "unable to get local issuer certificate")
    assert refused(gateway, expired_credentials(gateway), ca, "certificate has expired")
    # revoked while the device is connected: dropped, then refused at the handshake
    client = TlsClient(gateway.port, good, ca)
    assert b"TakProtocolSupport" in client.recv(10)
    serial = x509.load_pem_x509_certificate(good.cert.read_bytes()).serial_number
    cli(
        gateway.platform,
        gateway.home,
        "tak",
        "cert",
        "revoke",
        f"{serial:x}",
        "--reason",
        "key_compromise",
    )
    assert client.closed_by_server(20)
    assert "its certificate is no longer valid" in gateway.log.read_text()
    assert eventually(lambda: refused(gateway, good, ca, "certificate revoked"), 20)
    again = gateway.issue("idn-2")  # a new certificate for the device connects
    fresh = TlsClient(gateway.port, again, ca)
    assert b"TakProtocolSupport" in fresh.recv(10)
    fresh.close()


def s_client(*args: str) -> tuple[bytes, bool]:
    """`openssl s_client ARGS -quiet` with its input left open: what it printed until the
    gateway's protocol event came (True) or the gateway closed the connection (False)."""
    proc = subprocess.Popen(
        [str(OPENSSL), "s_client", *args, "-quiet"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    seen = b""
    try:
        while b"t-x-takp-v" not in seen:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                return seen, False
            seen += chunk
        return seen, True
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_openssl_s_client_with_and_without_a_certificate(gateway: Gateway) -> None:
    creds = gateway.issue("fra-1")
    base = ["-connect", f"127.0.0.1:{gateway.port}", "-CAfile", str(creds.ca)]
    key = ["-cert", str(creds.cert), "-key", str(creds.key), "-pass", f"pass:{KEY_PASSPHRASE}"]
    seen, connected = s_client(*base, *key)
    assert connected and b"verify return:1" in seen  # and the gateway's certificate verified
    seen, connected = s_client(*base)
    assert not connected and b"t-x-takp" not in seen
    refusal = "refused at the handshake: PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert eventually(lambda: refusal in gateway.log.read_text(), 5)


def expired_credentials(gateway: Gateway) -> Credentials:
    """A certificate of the CA for fra-1 that expired yesterday (pki, with a past start)."""
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    with gateway.platform.unit_of_work(Principal.system_operator(), write=True) as session:
        issued = pki.issue_for_device(session, "fra-1", lifetime_days=1, valid_from=long_ago)
        ca = pki.authority_pem(session)
    folder = gateway.home / "expired"
    folder.mkdir()
    creds = credentials(folder, "fra-1")
    creds.cert.write_bytes(issued.cert_pem)
    creds.key.write_bytes(
        issued.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(KEY_PASSPHRASE.encode()),
        )
    )
    creds.ca.write_bytes(ca)
    return creds


def other_ca_credentials(home: Path) -> Credentials:
    """A certificate for idn-1 (CN and O as the CA would write them) from another CA."""
    _, cert, key = another_ca_certificate()
    folder = home / "other-ca"
    folder.mkdir()
    creds = credentials(folder, "idn-1")
    creds.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    creds.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(KEY_PASSPHRASE.encode()),
        )
    )
    return creds
