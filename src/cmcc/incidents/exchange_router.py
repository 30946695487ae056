"""REST routes for exchange files: `GET /api/v1/incidents/export` (GeoJSON, CSV, HXL, streamed,
through the release policy) and `POST /api/v1/incidents/import` (the body is the file).

Mount this router BEFORE the incidents router: `/incidents/{incident_id}` would otherwise
catch `/incidents/export`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Select
from starlette.concurrency import run_in_threadpool

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.service import resolve_marking
from cmcc.api.deps import PlatformDep, StreamPrincipal
from cmcc.bootstrap import Platform
from cmcc.core.errors import Forbidden, InvalidInput, Unauthorized
from cmcc.incidents import service
from cmcc.incidents.exporter import FILE_NAMES, MEDIA_TYPES, Format, export_bytes
from cmcc.incidents.filters import IncidentFiltersDep
from cmcc.incidents.importer import ImportFormat, ImportOptions, import_incidents

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/geo+json": {"schema": {"type": "object"}},
        },
    }
}


class RowErrorPublic(BaseModel):
    line: int
    field: str
    reason: str


class ImportPublic(BaseModel):
    file_sha256: str
    format: str
    rows_read: int
    stored: int
    skipped: int
    bad_rows: int
    error_count: int
    errors: list[RowErrorPublic]
    alerts: int
    batches: int
    ignored_columns: list[str]
    complete: bool
    stopped: str | None


def _stream(
    platform: Platform, principal: Principal, stmt: Select[Any], fmt: Format
) -> Iterator[bytes]:
    with platform.unit_of_work(principal) as session:
        yield from export_bytes(session, stmt, fmt)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/geo+json": {}, "text/csv": {}}}},
)
def export_incidents(
    principal: StreamPrincipal,
    platform: PlatformDep,
    filters: IncidentFiltersDep,
    fmt: Annotated[Format, Query(alias="format", description="geojson, csv or hxl")] = "geojson",
) -> StreamingResponse:
    """The incidents the caller may see, with the filters of the list, as one file (streamed)."""
    with platform.unit_of_work(principal) as session:
        stmt = service.incident_statement(session, principal, platform.spatial, **filters.kwargs())
    return StreamingResponse(
        _stream(platform, principal, stmt, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{FILE_NAMES[fmt]}"'},
    )


def _format(content_type: str, fmt: ImportFormat | None) -> ImportFormat | None:
    if fmt is not None:
        return fmt
    if "json" in content_type:
        return "geojson"
    if "csv" in content_type:
        return "csv"
    return None  # by the content


@router.post("/import", response_model=ImportPublic, openapi_extra=FILE_BODY)
async def import_incidents_file(
    request: Request,
    principal: StreamPrincipal,
    platform: PlatformDep,
    fmt: Annotated[
        Literal["geojson", "csv", "hxl"] | None,
        Query(alias="format", description="Default: by the Content-Type, then the content"),
    ] = None,
    releasability: Annotated[str, Query(description="Marking of every incident")] = "mission",
    outside_aoi: Annotated[bool, Query(description="Accept rows outside the area")] = False,
) -> Any:
    """Load incidents from the request body (GeoJSON, CSV or HXL-tagged CSV, up to the body
    limit; larger files with `cmcc import incidents`). Bad rows are reported by line and not
    stored; rows whose external_ref is stored already are skipped. The caller's organization
    owns the incidents."""
    if principal.user_id is None:
        raise Unauthorized("this resource needs a token: Authorization: Bearer <token>")
    require(principal, Permission.REPORT_INCIDENTS)
    if principal.org_id is None:
        raise Forbidden("only a member of an organization can report incidents")
    with platform.unit_of_work(principal) as session:
        try:
            marking = resolve_marking(session, releasability)
        except InvalidInput as exc:
            raise InvalidInput.field("query.releasability", exc.errors[0].message) from None
    body = await request.body()
    options = ImportOptions(
        owner_org_id=principal.org_id,
        marking=marking,
        actor=principal.actor,
        aoi=platform.settings.aoi_bbox,
        fmt=_format(request.headers.get("content-type", ""), fmt),
        outside_aoi=outside_aoi,
    )
    report = await run_in_threadpool(import_incidents, platform, body, options)
    if report.fault is not None:  # the database's fault, not the file's: 503 or 507
        raise type(report.fault)(
            f"{report.stopped}; {report.stored:,} rows stored before it; send the same file "
            "again to resume"
        )
    return ImportPublic(
        file_sha256=report.file_sha256,
        format=report.fmt,
        rows_read=report.rows_read,
        stored=report.stored,
        skipped=report.skipped,
        bad_rows=report.bad_rows,
        error_count=report.error_count,
        errors=[RowErrorPublic(line=e.line, field=e.field, reason=e.reason) for e in report.errors],
        alerts=report.alerts,
        batches=report.batches,
        ignored_columns=report.ignored_columns,
        complete=report.complete,
        stopped=report.stopped,
    )
