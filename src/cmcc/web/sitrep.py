"""Web page: the SITREP of a chosen day for the signed-in user's organization (what it may
see), with downloads of it as HTML and PDF (issued and archived through the API) and the
archive of reports issued to the organization."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cmcc.access.domain import Permission
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.command import sitrep_render, sitrep_service
from cmcc.command.sitrep import gather, yesterday
from cmcc.core.errors import InvalidInput
from cmcc.web.auth import SignedIn
from cmcc.web.templating import SECURITY_HEADERS, render

router = APIRouter(include_in_schema=False)


@router.get("/sitrep/report.css")
def sitrep_css(_visitor: SignedIn) -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": "private, max-age=3600"}
    return Response(sitrep_render.stylesheet(), media_type="text/css", headers=headers)


@router.get("/sitrep")
def sitrep_page(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    visitor: SignedIn,
    date: str | None = None,
) -> Response:
    principal = visitor.principal
    today = dt.datetime.now(dt.UTC).date()
    day, error = yesterday(), None
    if date:
        try:
            day = dt.date.fromisoformat(date)
            sitrep_service.check_date(day, today, "date")
        except (ValueError, InvalidInput):
            error = f"{date!r} is not a day up to today (YYYY-MM-DD); showing {yesterday()}."
            day = yesterday()
    body = None
    if principal.org_code:
        low_days = platform.settings.logstat_min_days
        body = sitrep_render.body(gather(session, principal.org_code, day, low_days=low_days))
    archive = sitrep_service.archived(session, principal.viewer)[:30]
    return render(
        request,
        "sitrep.html",
        visitor,
        status_code=422 if error else 200,
        day=day,
        today=today,
        error=error,
        report=body,
        archive=archive,
        may_issue=principal.can(Permission.ISSUE_SITREPS),
    )
