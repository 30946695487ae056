"""Web page: getting TAK devices of the user's organization onto the gateway. The connection
package to enroll with a user name and password, the QR code for iTAK, and, for one device,
a package with a certificate whose one-time password is shown once, on the page that made it."""

from __future__ import annotations

import base64
import hmac
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from cmcc.access.domain import Permission
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.core.errors import DomainError, NotFound
from cmcc.tak import connection, pki
from cmcc.web.auth import SignedIn
from cmcc.web.templating import SECURITY_HEADERS, render

router = APIRouter(include_in_schema=False)
Host = Annotated[str | None, Query(max_length=253, description="One of CMCC_TAK_HOSTNAMES")]


def _server(platform: PlatformDep, host: str | None) -> connection.Server:
    """The gateway at the address chosen on the page: one of CMCC_TAK_HOSTNAMES (the names
    its server certificate holds), else the first."""
    names = platform.settings.tak_hostname_list
    return connection.server_of(platform.settings, host if host in names else None)


def _page(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    visitor: SignedIn,
    *,
    status_code: int = 200,
    made: connection.Package | None = None,
    made_for: str | None = None,
    error: str | None = None,
    host: str | None = None,
) -> Response:
    principal = visitor.principal
    settings = platform.settings
    server = _server(platform, host)
    try:
        pki.authority_pem(session)
        has_ca = True
    except NotFound:
        has_ca = False
    return render(
        request,
        "tak.html",
        visitor,
        status_code=status_code,
        server=server,
        hosts=settings.tak_hostname_list,
        host_query=urlencode({"host": server.host}),
        enroll_port=settings.tak_enroll_port,
        has_ca=has_ca,
        may_enroll=principal.can(Permission.ENROLL_DEVICES),
        devices=connection.organization_devices(session, principal),
        itak_text=connection.itak_text(server),
        made=made,
        made_for=made_for,
        made_href=(
            "data:application/zip;base64," + base64.b64encode(made.zip).decode() if made else None
        ),
        error=error,
    )


@router.get("/tak")
def tak_page(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    visitor: SignedIn,
    host: Host = None,
) -> Response:
    return _page(request, session, platform, visitor, host=host)


@router.get("/tak/connection.zip")
def enrollment_package(
    session: SessionDep, platform: PlatformDep, _visitor: SignedIn, host: Host = None
) -> Response:
    """The package without a certificate (no secret in it): the same for every device."""
    made = connection.enrollment_package(session, _server(platform, host))
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{made.filename}"',
    }
    return Response(made.zip, media_type="application/zip", headers=headers)


@router.get("/tak/itak-qr.svg")
def itak_qr(platform: PlatformDep, _visitor: SignedIn, host: Host = None) -> Response:
    svg = connection.itak_qr_svg(_server(platform, host))
    return Response(svg, media_type="image/svg+xml", headers=SECURITY_HEADERS)


@router.post("/tak/devices/{uid}/package")
def certificate_package(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    visitor: SignedIn,
    uid: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    host: Annotated[str | None, Form(max_length=253)] = None,
) -> Response:
    """A new certificate for one device of the organization, in a package; the page shows its
    one-time password once and offers the zip from the page itself (nothing is kept)."""
    if not hmac.compare_digest(visitor.csrf, csrf_token):
        return _page(
            request,
            session,
            platform,
            visitor,
            status_code=403,
            error="The form expired. Reload the page and try again.",
            host=host,
        )
    server = _server(platform, host)
    try:
        with session.begin_nested():  # a refusal leaves nothing half-written
            made = connection.certificate_package(session, visitor.principal, uid, server)
    except DomainError as exc:
        return _page(
            request,
            session,
            platform,
            visitor,
            status_code=exc.http_status,
            error=exc.detail,
            host=host,
        )
    return _page(request, session, platform, visitor, made=made, made_for=uid, host=host)
