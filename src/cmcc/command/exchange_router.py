"""REST routes of the ORBAT exchange files: `GET /api/v1/orbat/export` (CSV, GeoJSON of unit
locations, ORBAT Mapper scenario JSON; the units the caller may see as of a moment) and
`POST /api/v1/orbat/import` (the body is the file; all or nothing).

Mount this router BEFORE the command router, whose `/orbat/...` routes could catch these."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from cmcc.api.deps import CurrentPrincipal, PlatformDep, SessionDep, StreamPrincipal
from cmcc.command.exchange import (
    FILE_NAMES,
    MEDIA_TYPES,
    Imported,
    as_of_moment,
    export_bytes,
    import_units,
    unit_rows,
)
from cmcc.core.errors import Unauthorized

router = APIRouter(prefix="/api/v1/orbat", tags=["orbat"])
FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


class ImportedUnitPublic(BaseModel):
    where: str
    key: str | None
    lineage: int
    name: str


class ImportPublic(BaseModel):
    created: int
    units: list[ImportedUnitPublic]


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}, "application/geo+json": {}, "application/json": {}}}
    },
)
def export_orbat(
    session: SessionDep,
    principal: CurrentPrincipal,
    fmt: Annotated[
        Literal["csv", "geojson", "orbatmapper"],
        Query(alias="format", description="csv, geojson or orbatmapper"),
    ] = "csv",
    as_of: Annotated[
        str | None,
        Query(description="A date (the ORBAT at the end of that day, UTC) or an RFC 3339 instant"),
    ] = None,
) -> Response:
    """The units the caller may see, as they stood at `as_of` (default now), as one file."""
    moment = as_of_moment(as_of, field="query.as_of")
    rows = unit_rows(session, principal.viewer, moment)
    return Response(
        export_bytes(rows, fmt, moment),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{FILE_NAMES[fmt]}"'},
    )


@router.post("/import", response_model=ImportPublic, status_code=201, openapi_extra=FILE_BODY)
async def import_orbat(
    request: Request,
    platform: PlatformDep,
    principal: StreamPrincipal,
    fmt: Annotated[
        Literal["csv", "orbatmapper"] | None,
        Query(alias="format", description="csv or orbatmapper (default: by the Content-Type)"),
    ] = None,
) -> ImportPublic:
    """Create the file's units, owned by the caller's organization. The whole file is checked
    first: any problem is answered 422 naming its row and column (CSV) or JSON path (ORBAT
    Mapper), and nothing is written."""
    if principal.user_id is None:
        raise Unauthorized("this resource needs a token: Authorization: Bearer <token>")
    body = await request.body()
    kind = fmt or ("orbatmapper" if "json" in request.headers.get("content-type", "") else "csv")

    def run() -> Imported:
        with platform.unit_of_work(principal, write=True) as session:
            return import_units(session, principal, body, kind)

    done = await run_in_threadpool(run)
    return ImportPublic(
        created=len(done.units),
        units=[ImportedUnitPublic(**vars(u)) for u in done.units],
    )
