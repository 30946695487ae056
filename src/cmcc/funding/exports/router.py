"""`GET /api/v1/funding/export?format=iati|hxl-projects|hxl-flows|fts[&plan=CODE]`: the
funding picture as one file, through the release policy, streamed (the flows are read in
chunks while the response is written, so a file of 100,000 flows never sits in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from cmcc.access.domain import Principal
from cmcc.api.deps import PlatformDep, StreamPrincipal
from cmcc.bootstrap import Platform
from cmcc.funding.exports import FILE_NAMES, MEDIA_TYPES, Format, export_bytes
from cmcc.funding.exports.iati import check_not_empty
from cmcc.funding.exports.selection import select_tree

router = APIRouter(prefix="/api/v1/funding", tags=["funding"])


def _stream(
    platform: Platform, principal: Principal, fmt: Format, plan: str | None
) -> Iterator[bytes]:
    with platform.unit_of_work(principal) as session:
        yield from export_bytes(session, select_tree(session, principal, plan), fmt)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/xml": {}, "text/csv": {}}},
        404: {"description": "No plan with this code released to the caller"},
    },
)
def export_funding(
    principal: StreamPrincipal,
    platform: PlatformDep,
    fmt: Annotated[
        Format, Query(alias="format", description="iati, hxl-projects, hxl-flows or fts")
    ] = "iati",
    plan: Annotated[str | None, Query(description="Code of one plan (default: all)")] = None,
) -> StreamingResponse:
    """The plans, projects and current flows the caller may see, as IATI 2.03 activity XML,
    HXL-tagged CSV (projects 3W, or flows) or an FTS-style CSV of the flows. 404 if `plan`
    names no plan the caller sees, or for IATI if they see no plan, phase or project."""
    with platform.unit_of_work(principal) as session:
        selection = select_tree(session, principal, plan)  # refuses an unknown plan up front
        if fmt == "iati":
            check_not_empty(selection)
    return StreamingResponse(
        _stream(platform, principal, fmt, plan),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{FILE_NAMES[fmt]}"'},
    )
