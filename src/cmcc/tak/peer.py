"""Who calls the TAK HTTPS ports: the device of the client certificate presented in the TLS
handshake (`cmcc.tak.https` puts it in the request's scope), never a header or a parameter.

`DeviceCaller` (a FastAPI dependency for the routes of a TAK HTTPS app whose
`app.state.platform` is set) looks the certificate up (`cmcc.tak.pki.device_of`: bound to a
registered device, not revoked, not expired) and answers 401 without a certificate and 403
with one that names no device."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

from fastapi import Depends, Request

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.core.errors import Forbidden, Unauthorized
from cmcc.core.releasability import Viewer
from cmcc.cot.devices import DeviceOwner
from cmcc.tak import pki
from cmcc.tak.https import client_certificate
from cmcc.tak.packages import viewer_of


class Caller(NamedTuple):
    """A device calling a TAK HTTPS port: the device, its organization's view of the release
    policy, and the principal its writes are audited under (`tak-device:<uid>@<ORG>`)."""

    device: DeviceOwner
    viewer: Viewer
    principal: Principal


def caller_of(platform: Platform, scope: Any) -> Caller:
    der = client_certificate(scope)
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


# The calling device, for the routes of a TAK HTTPS app.
DeviceCaller = Annotated[Caller, Depends(_caller)]
