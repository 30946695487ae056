"""REST routes of the SITREP: /api/v1/sitrep (issue the caller's organization's report of a
day, archived), /api/v1/sitreps (the archive, release-filtered) and /api/v1/sitreps/{id}."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import ConfigDict

from cmcc.api.deps import CurrentPrincipal, LoggedIn, PlatformDep, RecordId, SessionDep
from cmcc.command import sitrep_service
from cmcc.command.sitrep import yesterday
from cmcc.command.sitrep_service import MEDIA_TYPES, Rendered, SitrepFormat
from cmcc.core.schemas import ListPublic, RecordPublic

router = APIRouter(prefix="/api/v1", tags=["sitrep"])
DateQuery = Annotated[
    dt.date | None, Query(description="The day reported on (UTC, YYYY-MM-DD); default yesterday")
]


class SitrepPublic(RecordPublic):
    """An archived SITREP (its bytes at /api/v1/sitreps/{id})."""

    model_config = ConfigDict(from_attributes=True)

    report_date: dt.date
    audience: str
    format: str
    sha256: str
    generated_by: str
    scheduled: bool


def _download(content: bytes, fmt: str, filename: str, sha256: str, **extra: str) -> Response:
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "ETag": f'"{sha256}"',
        "X-Content-SHA256": sha256,
        "Cache-Control": "no-store",
        **extra,
    }
    return Response(content, media_type=MEDIA_TYPES[fmt], headers=headers)


@router.get(
    "/sitrep",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def issue_sitrep(
    session: SessionDep,
    platform: PlatformDep,
    principal: LoggedIn,
    date: DateQuery = None,
    format: Annotated[SitrepFormat, Query(description="html or pdf")] = SitrepFormat.HTML,
) -> Response:
    """The daily situation report of `date` for the caller's own organization (what it may
    see), issued and archived (permission issue_sitreps). The audit log records the issue."""
    today = dt.datetime.now(dt.UTC).date()
    day = date or yesterday()
    sitrep_service.check_date(day, today)
    rendered: Rendered = sitrep_service.issue_for_caller(
        session, principal, day, format, platform.settings.logstat_min_days
    )
    assert principal.org_id is not None  # issue_for_caller refuses a caller of no organization
    with platform.unit_of_work(principal, write=True) as archive:
        row = sitrep_service.archive(archive, rendered, principal.org_id, principal.actor)
        row_id = row.id
    return _download(
        rendered.content,
        rendered.format.value,
        rendered.filename,
        rendered.sha256,
        **{"X-Sitrep-Id": str(row_id)},
    )


@router.get("/sitreps", response_model=ListPublic[SitrepPublic])
def list_sitreps(session: SessionDep, principal: CurrentPrincipal, date: DateQuery = None) -> Any:
    """The archive of issued reports the caller may see (each is its audience's own)."""
    rows = sitrep_service.archived(session, principal.viewer, date)
    return ListPublic[SitrepPublic](
        data=[SitrepPublic.model_validate(r) for r in rows], count=len(rows)
    )


@router.get(
    "/sitreps/{sitrep_id}",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def download_sitrep(
    sitrep_id: RecordId, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """An archived report's bytes, as issued (404 when it is not released to the caller)."""
    row = sitrep_service.archived_one(session, principal.viewer, sitrep_id)
    name = f"sitrep-{row.report_date.isoformat()}-{row.audience}.{row.format}"
    return _download(row.content, row.format, name, row.sha256)
