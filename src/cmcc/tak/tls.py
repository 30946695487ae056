"""The TLS side of the gateway's listening ports (CoT on 8089, Marti on 8443, enrollment on
8446): the server certificate from the installation's CA, and for mutual TLS the CA and its
revocation list.

One SSLContext per port stays the same for the life of the server (`ServerTls.context`, given
to asyncio.start_server or uvicorn); each handshake is switched, in its first callback (the
server-name callback, which OpenSSL calls for every ClientHello, with or without SNI), to the
newest inner context. `refresh()` builds a new inner context when a certificate was revoked
(or the list or the server certificate get old), so the next handshakes check the new list
without a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.core.clock import utcnow
from cmcc.cot.devices import DeviceOwner
from cmcc.tak import pki

CRL_RENEW = dt.timedelta(days=1)  # a list this old is signed again (pki.CRL_DAYS: valid 7)
SERVER_MIN_DAYS = 30  # a server certificate with less to run is renewed


@dataclass(frozen=True)
class _Material:
    """What one inner context is built from, read in one transaction."""

    cert_pem: bytes
    key_pem: bytes
    passphrase: bytes
    ca_pem: bytes
    crl_pem: bytes | None
    revocations: tuple[int, dt.datetime | None]
    server_not_after: dt.datetime


class ServerTls:
    """The TLS side of one listening port: `context` is one stable ssl.SSLContext to give to
    asyncio.start_server / uvicorn; `await refresh()` (called by the owner every few seconds,
    cheap when nothing changed) makes the next handshakes use the latest CRL, so a revoked
    certificate is refused at the handshake without a restart."""

    context: ssl.SSLContext

    def __init__(self, platform: Platform, *, client_certificates: bool) -> None:
        self.platform = platform
        self.client_certificates = client_certificates
        material = self._material()
        self.context = self._build(material)
        self.context.sni_callback = self._switch
        self._inner = self.context
        self._material_now = material
        self._built_at = utcnow()
        self._lock = asyncio.Lock()

    def _switch(self, ssl_object: ssl.SSLObject, _server_name: str | None, _ctx: Any) -> None:
        """Every handshake (SNI or not) continues on the newest inner context."""
        if self._inner is not self.context:
            ssl_object.context = self._inner

    async def refresh(self) -> None:
        """Use a new revocation list (and server certificate) from the next handshake on,
        if a certificate was revoked since, or they get old."""
        async with self._lock:
            await asyncio.to_thread(self.refresh_now)

    def refresh_now(self) -> None:
        """`refresh`, blocking (for a caller without an event loop)."""
        now = utcnow()
        if (
            self._revocations() == self._material_now.revocations
            and now - self._built_at < CRL_RENEW
            and self._material_now.server_not_after - now > dt.timedelta(days=SERVER_MIN_DAYS)
        ):
            return
        material = self._material()
        self._inner = self._build(material)
        self._material_now = material
        self._built_at = now

    def _revocations(self) -> tuple[int, dt.datetime | None]:
        with self.platform.unit_of_work(Principal.system_operator()) as session:
            return pki.revocation_state(session)

    def _material(self) -> _Material:
        from cryptography import x509

        with self.platform.unit_of_work(Principal.system_operator(), write=True) as session:
            session.info["actor"] = "system:tak"
            cert_pem, key_pem = pki.server_certificate(session, min_days_left=SERVER_MIN_DAYS)
            return _Material(
                cert_pem=cert_pem,
                key_pem=key_pem,
                passphrase=pki.ca_passphrase(session),
                ca_pem=pki.authority_pem(session),
                crl_pem=pki.crl_pem(session) if self.client_certificates else None,
                revocations=pki.revocation_state(session),
                server_not_after=x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc,
            )

    def _build(self, material: _Material) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        # Files only for the moment they are loaded (OpenSSL reads keys and CRLs from files);
        # the key stays encrypted in its file.
        with tempfile.TemporaryDirectory(prefix="cmcc-tls-") as folder:
            cert, key = Path(folder) / "server.pem", Path(folder) / "server.key"
            cert.write_bytes(material.cert_pem)
            key.write_bytes(material.key_pem)
            ctx.load_cert_chain(cert, key, password=material.passphrase)
            if self.client_certificates:
                assert material.crl_pem is not None
                crl = Path(folder) / "crl.pem"
                crl.write_bytes(material.crl_pem)
                ctx.load_verify_locations(cadata=material.ca_pem.decode())
                ctx.load_verify_locations(cafile=crl)
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return ctx


def server_tls(platform: Platform, *, client_certificates: bool) -> ServerTls:
    """The TLS side of a port: server certificate issued by the CA for CMCC_TAK_HOSTNAMES
    (issued once, renewed before expiry); client_certificates=True: mutual TLS against the CA
    and its revocation list (8089, 8443); False: server-authenticated only (8446).

    Blocking (the database, and signing a first server certificate): call it before the loop
    runs or through asyncio.to_thread. Raises cmcc.core.errors.NotFound when there is no CA
    yet, Conflict when the CA passphrase is missing or wrong."""
    return ServerTls(platform, client_certificates=client_certificates)


def peer_device(platform: Platform, transport_or_ssl_object: Any) -> DeviceOwner | None:
    """The registered device of a TLS connection's client certificate (an asyncio transport,
    or an ssl.SSLObject / ssl.SSLSocket); None without a certificate or for one not bound."""
    ssl_object = transport_or_ssl_object
    if hasattr(transport_or_ssl_object, "get_extra_info"):
        ssl_object = transport_or_ssl_object.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return peer_device_of_der(platform, der) if der else None


def peer_device_of_der(platform: Platform, der: bytes) -> DeviceOwner | None:
    """The registered device a client certificate (DER) is bound to (cmcc.tak.pki.device_of),
    in a unit of work of its own."""
    with platform.unit_of_work(Principal.system_operator()) as session:
        return pki.device_of(session, der)
