"""`GET /api/v1/notifications/export`: the notifications as GeoJSON or CSV, and the sites as
HXL (3W), streamed, through the release policy (`cmcc.humanitarian.exchange`).

Mount this router BEFORE the notifications router: `/notifications/{lineage}` would otherwise
catch `/notifications/export`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from cmcc.access.domain import Principal
from cmcc.api.deps import PlatformDep, StreamPrincipal
from cmcc.bootstrap import Platform
from cmcc.core.clock import utcnow
from cmcc.core.errors import InvalidInput
from cmcc.humanitarian import exchange
from cmcc.humanitarian.domain import NotificationKind, NotificationStatus
from cmcc.humanitarian.exchange import FILE_NAMES, MEDIA_TYPES, Format
from cmcc.humanitarian.rules import Rules

router = APIRouter(prefix="/api/v1/notifications", tags=["humanitarian notifications"])


def _stream(
    platform: Platform,
    principal: Principal,
    fmt: Format,
    kind: NotificationKind | None,
    status: NotificationStatus | None,
    active: bool,
) -> Iterator[bytes]:
    with platform.unit_of_work(principal) as session:
        yield from exchange.export_bytes(
            session,
            principal,
            platform.spatial,
            fmt,
            Rules.of(platform.settings),
            kind=kind,
            status=status,
            active=utcnow() if active else None,
        )


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/geo+json": {}, "text/csv": {}}}},
)
def export_notifications(
    principal: StreamPrincipal,
    platform: PlatformDep,
    fmt: Annotated[
        Format, Query(alias="format", description="geojson, csv, or hxl (the sites, 3W)")
    ] = "geojson",
    kind: NotificationKind | None = None,
    status: NotificationStatus | None = None,
    active: Annotated[
        bool, Query(description="Only those not completed or withdrawn and valid now")
    ] = False,
) -> StreamingResponse:
    """The current version of each notification you may see, as one file: GeoJSON or CSV with
    the contact where you may see it (your organization's own; the centre's staff), or the
    sites as HXL-tagged CSV in 3W style (never a contact)."""
    if fmt == "hxl" and kind is NotificationKind.MOVEMENT:
        raise InvalidInput.field(
            "query.kind", "HXL (3W) lists the sites; export movements as geojson or csv"
        )
    return StreamingResponse(
        _stream(platform, principal, fmt, kind, status, active),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{FILE_NAMES[fmt]}"'},
    )
