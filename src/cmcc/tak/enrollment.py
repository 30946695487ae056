"""Certificate enrollment on port 8446 (CMCC_TAK_ENROLL_PORT): the endpoints ATAK, iTAK, WinTAK
and pytak call, as on TAK Server, to turn a CMCC user's name and password into a client
certificate for the device they run on.

- `GET /Marti/api/tls/config`: the names the client puts in its request (`O`, `OU`);
- `POST /Marti/api/tls/signClient/v2?clientUid=&version=`: the device's certificate signing
  request (its DER in base64, as ATAK sends it, or PEM) signed. JSON `{"signedCert", "ca0"}`
  (bare base64 DER), or the XML `<enrollment>` when the client asks for XML only;
- `POST /Marti/api/tls/signClient`: the older form, a PKCS#12 of the certificate and the CA;
- `GET /Marti/api/tls/profile/enrollment` (what ATAK asks next) and
  `/Marti/api/device/profile/enrollment`: 204, as TAK Server answers when it has no profile.

Every request signs in with HTTP Basic as a CMCC user who may enroll devices
(`enroll_devices`). The device (`clientUid`) is registered to the user's organization when it
is new, and refused (403) when it belongs to another one. The certificate's subject is the
server's (CN = device uid, O = organization code), whatever the request says. Failed sign-ins
are throttled per user name and per client address as on the web and the API
(`cmcc.access.throttle`: 429 with Retry-After); the address is taken out of each request before
anything could log it, and only its keyed hash is kept (`cmcc.api.clients`).
Every enrollment, and every refused attempt, is an entry in the audit log (never a password).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from cmcc.access import throttle
from cmcc.access.domain import Permission, Principal, SessionLimited
from cmcc.access.models import User
from cmcc.access.service import WrongCode, check_device_sign_in, principal_of
from cmcc.api import errors
from cmcc.api.clients import ClientAddresses, client_key
from cmcc.api.limits import BodyLimit
from cmcc.audit.service import record_entries
from cmcc.bootstrap import Platform
from cmcc.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthorized,
)
from cmcc.cot import devices
from cmcc.cot.devices import CotDevice
from cmcc.tak import pki
from cmcc.tak.https import Served, serve
from cmcc.tak.tls import ServerTls, server_tls

log = logging.getLogger(__name__)

REALM = 'Basic realm="CMCC TAK enrollment"'
MAX_REQUEST_BYTES = 64 * 1024  # a CSR is a few kilobytes
REFUSER = "tak-enrollment"  # the audit log's actor for attempts that did not sign in
# The older signClient answers a PKCS#12 of public certificates only (no key), under the
# password TAK clients try for it.
LEGACY_STORE_PASSWORD = b"atakatak"
REFRESH_SECONDS = 60.0  # the server certificate is checked for renewal this often


class BadEnrollment(DomainError):
    http_status = 400
    code = "bad-enrollment-request"
    title = "Bad enrollment request"


@dataclass(frozen=True)
class Attempt:
    """Who asks, from where, for which device (as the request says: nothing checked yet)."""

    username: str | None
    password: str | None
    address_key: str | None
    device_uid: str | None = None
    client_version: str | None = None

    @property
    def throttled(self) -> throttle.Attempt:
        return throttle.Attempt(self.username, self.address_key)


class Enrollment:
    """The enrollment service of one gateway: sign-in, limits, refusals and signing."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.throttle = throttle.Throttle(platform)

    def sign_in(self, attempt: Attempt, *, spend: bool = False) -> Principal:
        """The user the request signs in as, who may enroll devices; else 429, 401 or 403
        (each refusal counted or audited). A user with a second factor appends the current
        code to the password; the signing request (`spend`) uses it up."""
        if attempt.username is None or attempt.password is None:
            raise Unauthorized("sign in with a CMCC user name and password (HTTP Basic)")
        username, password = attempt.username, attempt.password
        secret = self.platform.settings.secret_key.get_secret_value()

        def check() -> Principal:
            with self.platform.unit_of_work(Principal.system_operator(), write=spend) as session:
                return principal_of(
                    check_device_sign_in(session, username, password, secret, spend=spend)
                )

        try:  # a refusal by the throttle (429) is not audited: it costs a guesser nothing
            principal = self.throttle.guarded(attempt.throttled, check)
        except WrongCode:
            self.refused(attempt, "wrong or used code after the password")
            raise
        except Unauthorized:
            self.refused(attempt, "wrong user name or password")
            raise
        except SessionLimited as exc:
            self.refused(attempt, exc.detail)
            raise
        if not principal.can(Permission.ENROLL_DEVICES):
            self.refused(attempt, "the user's role may not enroll devices")
            raise Forbidden(f"the role {principal.role} may not enroll devices")
        return principal

    def enroll(self, attempt: Attempt, body: bytes) -> tuple[bytes, bytes]:
        """Sign the device's request; the certificate and the CA certificate, as PEM."""
        principal = self.sign_in(attempt, spend=True)
        try:
            uid = _device_uid(attempt.device_uid)
            csr = read_request(body)
        except BadEnrollment as exc:
            self.refused(attempt, f"bad request: {exc.detail}")
            raise
        try:
            with self.platform.unit_of_work(principal, write=True) as session:
                device = session.scalars(
                    select(CotDevice).where(CotDevice.uid == uid)
                ).one_or_none()
                if device is not None and device.org_id != principal.org_id:
                    raise Forbidden(
                        f"device {uid!r} is registered to another organization; ask the "
                        "coordination centre to move it, or enroll under another device uid"
                    )
                if device is None:
                    assert principal.org_code is not None
                    devices.register(session, uid, principal.org_code)
                certificate, cert_pem = pki.sign_request(session, csr, uid)
                ca_pem = pki.authority_pem(session)
                record_entries(
                    session,
                    [
                        (
                            "enroll",
                            "tak_certificates",
                            str(certificate.id),
                            {
                                "device_uid": uid,
                                "serial": certificate.serial,
                                "new_device": device is None,
                                "client_version": attempt.client_version,
                            },
                        )
                    ],
                )
        except Forbidden as exc:
            self.refused(attempt, exc.detail)
            raise
        except InvalidInput as exc:  # the request's key, as the CA judges it
            self.refused(attempt, f"bad request: {exc.detail}")
            raise BadEnrollment(exc.detail) from None
        except NotFound as exc:  # no CA (the server would not have started without one)
            raise BadEnrollment(exc.detail) from None
        log.info("TAK enrollment: device %s enrolled by %s", uid, principal.actor)
        return cert_pem, ca_pem

    def refused(self, attempt: Attempt, reason: str) -> None:
        """One audit entry for a refused attempt: about the user it named (seen by its
        organization's auditors), or, for an unknown name, by the operator alone."""
        changes = {
            "reason": reason,
            "username": (attempt.username or "")[:120],
            "device_uid": (attempt.device_uid or "")[:200] or None,
            "client_version": (attempt.client_version or "")[:120] or None,
        }
        with self.platform.unit_of_work(Principal.system_operator(), write=True) as session:
            session.info["actor"] = REFUSER
            user_id = (
                session.scalar(select(User.id).where(User.username == attempt.username))
                if attempt.username
                else None
            )
            record_id = str(user_id) if user_id is not None else "-"
            record_entries(session, [("refuse", User.__tablename__, record_id, changes)])


def _device_uid(value: str | None) -> str:
    uid = (value or "").strip()
    if not uid:
        raise BadEnrollment("clientUid: give the device's uid (the query parameter clientUid)")
    if len(uid) > 200:
        raise BadEnrollment("clientUid: a device uid has at most 200 characters")
    return uid


def read_request(body: bytes) -> bytes:
    """The DER of a certificate signing request sent as PEM, or as base64 without the PEM
    lines (as ATAK sends it). BadEnrollment says what is wrong."""
    text = body.strip()
    if not text:
        raise BadEnrollment("the body is empty: send the certificate signing request")
    if text.startswith(b"-----BEGIN"):
        try:
            csr = x509.load_pem_x509_csr(text)
        except ValueError as exc:
            raise BadEnrollment(f"the PEM is not a certificate signing request ({exc})") from None
    else:
        try:
            der = base64.b64decode(b"".join(text.split()), validate=True)
            csr = x509.load_der_x509_csr(der)
        except (binascii.Error, ValueError) as exc:
            raise BadEnrollment(
                f"the body is neither PEM nor the base64 of a certificate signing request ({exc})"
            ) from None
    if not csr.is_signature_valid:
        raise BadEnrollment("the request's signature does not match its key")
    return csr.public_bytes(serialization.Encoding.DER)


def tls_config_xml(org_code: str) -> bytes:
    """TAK Server's certificate configuration: the names the client puts in its request
    (two entries at least: some clients read one entry as no list)."""
    root = etree.Element(
        "{com.bbn.marti.config}certificateConfig",
        nsmap={None: "http://bbn.com/marti/xml/config", "ns2": "com.bbn.marti.config"},  # type: ignore[dict-item]
    )
    entries = etree.SubElement(root, "nameEntries")
    for name, value in (("O", org_code), ("OU", "CMCC")):
        etree.SubElement(entries, "nameEntry", name=name, value=value)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _bare(pem: bytes) -> str:
    """Base64 of the DER, without PEM lines or line breaks: what TAK clients expect."""
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode()


def signed_response(cert_pem: bytes, ca_pem: bytes, accept: str) -> Response:
    """JSON (`signedCert`, `ca0`), unless the client accepts XML and not JSON: the XML
    `<enrollment>`. iTAK asks for text/plain and reads JSON."""
    accept = accept.lower()
    if "xml" in accept and "json" not in accept:
        root = etree.Element("enrollment")
        etree.SubElement(root, "signedCert").text = _bare(cert_pem)
        etree.SubElement(root, "ca").text = _bare(ca_pem)
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return Response(bytes(body), media_type="application/xml")
    document = {"signedCert": _bare(cert_pem), "ca0": _bare(ca_pem)}
    plain = "text/plain" in accept and "json" not in accept
    return JSONResponse(document, media_type="text/plain" if plain else "application/json")


def legacy_response(cert_pem: bytes, ca_pem: bytes, uid: str) -> Response:
    """The older signClient's answer: a PKCS#12 holding the certificate, then the CA (no key:
    the key never left the device; clients take the first certificate as theirs)."""
    store = pkcs12.serialize_key_and_certificates(
        uid.encode(),
        None,
        None,
        [x509.load_pem_x509_certificate(pem) for pem in (cert_pem, ca_pem)],
        serialization.BestAvailableEncryption(LEGACY_STORE_PASSWORD),
    )
    return Response(store, media_type="application/x-pkcs12")


def attempt_of(request: Request) -> Attempt:
    """The credentials of an HTTP Basic header (None when absent or malformed), the client's
    address and the query's device uid and client version."""
    username = password = None
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            username, sep, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            username = password = None
        else:
            if not sep:
                username = password = None
    query = request.query_params
    return Attempt(
        username=username,
        password=password,
        address_key=client_key(request),
        device_uid=query.get("clientUid") or query.get("clientUID"),
        client_version=query.get("version"),
    )


def create_app(platform: Platform) -> Any:
    """The enrollment port's application (an ASGI app, bodies limited to 64 KiB)."""
    service = Enrollment(platform)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.enrollment = service
    errors.install(app)

    async def _refusal(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        response = errors.problem(
            exc.http_status, exc.code, exc.title, exc.detail, request.url.path, exc.errors
        )
        if isinstance(exc, Unauthorized):
            response.headers["WWW-Authenticate"] = REALM
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    app.add_exception_handler(Unauthorized, _refusal)
    app.add_exception_handler(TooManyAttempts, _refusal)

    @app.get("/Marti/api/tls/config")
    async def tls_config(request: Request) -> Response:
        principal = await run_in_threadpool(service.sign_in, attempt_of(request))
        return Response(tls_config_xml(principal.org_code or "CMCC"), media_type="application/xml")

    @app.post("/Marti/api/tls/signClient/v2")
    async def sign_client_v2(request: Request) -> Response:
        body = await request.body()
        cert_pem, ca_pem = await run_in_threadpool(service.enroll, attempt_of(request), body)
        return signed_response(cert_pem, ca_pem, request.headers.get("accept", ""))

    @app.post("/Marti/api/tls/signClient")
    async def sign_client(request: Request) -> Response:
        attempt = attempt_of(request)
        body = await request.body()
        cert_pem, ca_pem = await run_in_threadpool(service.enroll, attempt, body)
        return legacy_response(cert_pem, ca_pem, _device_uid(attempt.device_uid))

    @app.get("/Marti/api/tls/profile/enrollment")
    @app.get("/Marti/api/device/profile/enrollment")
    async def enrollment_profile(request: Request) -> Response:
        await run_in_threadpool(service.sign_in, attempt_of(request))
        return Response(status_code=204)

    settings = platform.settings
    return ClientAddresses(
        BodyLimit(app, MAX_REQUEST_BYTES),
        settings.trusted_proxies,
        settings.secret_key.get_secret_value(),
        sign_in_paths=None,  # every request of this port signs in
    )


@dataclass
class EnrollmentServer:
    """The enrollment port, running: its HTTPS server and the task that renews its server
    certificate when it gets old."""

    served: Served
    tls: ServerTls
    refresher: asyncio.Task[None]

    @property
    def port(self) -> int:
        return self.served.port

    async def stop(self) -> None:
        self.refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.refresher
        await self.served.stop()


async def start(platform: Platform, host: str) -> EnrollmentServer | None:
    """Serve enrollment on CMCC_TAK_ENROLL_PORT; None when it is 0, when there is no CA yet,
    or when the port is taken (the log says why)."""
    port = platform.settings.tak_enroll_port
    if not port:
        return None
    try:
        tls = await asyncio.to_thread(server_tls, platform, client_certificates=False)
    except NotFound as exc:
        log.info("TAK enrollment not started: %s", exc.detail)
        return None
    try:
        served = await serve(create_app(platform), host, port, tls)
    except OSError as exc:
        log.error("TAK enrollment not started: %s", exc)
        return None
    log.info("TAK enrollment on %s:%s (HTTPS)", host, served.port)
    return EnrollmentServer(served, tls, asyncio.create_task(_refresh(tls)))


async def _refresh(tls: ServerTls) -> None:
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        try:
            await tls.refresh()
        except Exception:
            log.exception("TAK enrollment: the server certificate was not checked")
