"""Who calls the TAK HTTPS ports: the device of the client certificate presented in the TLS
handshake, never a header or a parameter.

uvicorn does not put the TLS connection in the ASGI scope, but the `receive` it gives the app
is a method of its request cycle, which holds the connection's transport, and the transport
holds the `ssl.SSLObject` with the peer's certificate. `PeerCertificate` (the outermost layer
of the app, where `receive` is still uvicorn's own) reads it there and puts it in the scope as
the ASGI TLS extension says (`scope["extensions"]["tls"]["client_cert_chain"]`, PEM); a server
that sets the extension itself is left as it is. `device` (a FastAPI dependency) then looks
the certificate up (`cmcc.tak.pki.device_of`: bound to a registered device, not revoked, not
expired) and answers 401 without a certificate and 403 with one that names no device."""

from __future__ import annotations

import ssl
from typing import Annotated, Any, NamedTuple

from fastapi import Depends, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.core.errors import Forbidden, Unauthorized
from cmcc.core.releasability import Viewer
from cmcc.cot.devices import DeviceOwner
from cmcc.tak import pki
from cmcc.tak.packages import viewer_of


class PeerCertificate:
    """ASGI middleware: the TLS peer's certificate into the scope (see the module's text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "tls" not in scope.get("extensions", {}):
            tls = tls_extension(getattr(getattr(receive, "__self__", None), "transport", None))
            if tls is not None:
                scope = {**scope, "extensions": {**scope.get("extensions", {}), "tls": tls}}
        await self.app(scope, receive, send)


def tls_extension(transport: Any) -> dict[str, Any] | None:
    """The ASGI TLS extension of a connection (None when it is not TLS)."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    cipher = ssl_object.cipher()
    return {
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "tls_version": ssl_object.version(),
        "cipher_suite": cipher[0] if cipher else None,
    }


def peer_der(scope: Scope) -> bytes | None:
    """The DER of the client certificate of this request's connection, if it presented one."""
    chain = scope.get("extensions", {}).get("tls", {}).get("client_cert_chain") or []
    return ssl.PEM_cert_to_DER_cert(chain[0]) if chain else None


class Caller(NamedTuple):
    """A device calling a TAK HTTPS port: the device, its organization's view of the release
    policy, and the principal its writes are audited under (`tak-device:<uid>@<ORG>`)."""

    device: DeviceOwner
    viewer: Viewer
    principal: Principal


def caller_of(platform: Platform, scope: Scope) -> Caller:
    der = peer_der(scope)
    if der is None:
        raise Unauthorized("this port needs a client certificate issued by the CMCC CA")
    with platform.unit_of_work(Principal.anonymous()) as session:
        device = pki.device_of(session, der)
        if device is None:
            raise Forbidden(
                "the client certificate is not bound to a registered device, or is revoked "
                "or expired"
            )
        viewer = viewer_of(session, device)
    principal = Principal(
        None, f"tak-device:{device.uid}", device.org_id, device.org_code, viewer.is_member, None
    )
    return Caller(device, viewer, principal)


def _caller(request: Request) -> Caller:
    return caller_of(request.app.state.platform, request.scope)


# The calling device, for the routes of a TAK HTTPS app (whose `app.state.platform` is set).
DeviceCaller = Annotated[Caller, Depends(_caller)]
