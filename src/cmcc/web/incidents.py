"""Web pages: the incident log (with the filing form) and an incident's detail and verification.

Read-only GET routes: they call the same service functions as /api/v1/incidents, with the
visitor's principal, so the release policy is the API's. Writes go through the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request, Response

from cmcc.access.domain import Permission
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.core.errors import InvalidInput, NotFound
from cmcc.core.pagination import paginate
from cmcc.incidents import readout, service
from cmcc.incidents.domain import NEXT, IncidentType, Reliability, VerificationStatus
from cmcc.incidents.filters import IncidentFilters
from cmcc.incidents.models import Alert, Incident
from cmcc.incidents.schemas import EvidencePublic, IncidentPublic, VerificationPublic
from cmcc.web.auth import SignedIn
from cmcc.web.choices import choice
from cmcc.web.templating import render
from cmcc.web.words import label

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Text = Annotated[str | None, Query(max_length=200)]


def _day(text: str | None, field: str, *, end: bool) -> dt.datetime | None:
    """A date of the filter form as the first (or, for `to`, the last) instant of that UTC day."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.field(f"query.{field}", "a date: YYYY-MM-DD") from None
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start + dt.timedelta(days=1, microseconds=-1) if end else start


def _filters(
    type: str | None, status: str | None, start: str | None, end: str | None, sev: str | None
) -> IncidentFilters:
    kind = choice(IncidentType, type, "type")
    severity = choice(int, sev, "min_severity")
    if severity is not None and not 1 <= severity <= 5:
        raise InvalidInput.field("query.min_severity", "1 to 5")
    return IncidentFilters(
        bbox=None,
        start=_day(start, "from", end=False),
        end=_day(end, "to", end=True),
        types=[kind] if kind else None,
        status=choice(VerificationStatus, status, "status"),
        min_severity=severity,
        zone_id=None,
        near=None,
    )


@router.get("/incidents")
def incident_log(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    platform: PlatformDep,
    type: Text = None,
    status: Text = None,
    start: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=20)] = None,
    min_severity: Text = None,
    cursor: Text = None,
) -> Response:
    principal = visitor.principal
    chosen = {
        "type": type or "",
        "status": status or "",
        "from": start or "",
        "to": end or "",
        "min_severity": min_severity or "",
    }
    records: list[dict[str, Any]] = []
    count, next_url, error = 0, None, None
    try:
        filters = _filters(type, status, start, end, min_severity)
        stmt = service.incident_statement(session, principal, platform.spatial, **filters.kwargs())
        page = paginate(session, stmt, Incident.id, cursor, PAGE_SIZE, columns=readout.COLUMNS)
    except InvalidInput as exc:
        error = str(exc)
    else:
        records, count = readout.public_records(session, page.items), page.count
        if page.next_cursor:
            kept = {k: v for k, v in chosen.items() if v}
            next_url = "/incidents?" + urlencode({**kept, "cursor": page.next_cursor})
    return render(
        request,
        "incidents.html",
        visitor,
        status_code=400 if error else 200,
        records=records,
        count=count,
        next_url=next_url,
        first_url="/incidents?" + urlencode({k: v for k, v in chosen.items() if v}),
        paged=bool(cursor),
        error=error,
        chosen=chosen,
        types=list(IncidentType),
        statuses=list(VerificationStatus),
        reliabilities=list(Reliability),
        label=label,
        may_report=principal.can(Permission.REPORT_INCIDENTS),
    )


@router.get("/incidents/{incident_id}")
def incident_detail(
    request: Request, incident_id: int, session: SessionDep, visitor: SignedIn
) -> Response:
    principal = visitor.principal
    try:
        incident = service.get_incident(session, principal, incident_id)
    except NotFound:
        return render(
            request, "incident.html", visitor, status_code=404, missing=incident_id, label=label
        )
    record = IncidentPublic.model_validate(incident)
    history = [
        VerificationPublic.model_validate(s) for s in service.steps(session, principal, incident_id)
    ]
    items = [
        EvidencePublic.model_validate(e) for e in service.evidence(session, principal, incident_id)
    ]
    raised = service.alert_statement(principal).where(Alert.incident_id == incident_id)
    alerts = list(session.scalars(raised.order_by(Alert.id)))
    current = VerificationStatus(incident.status)
    geometry = record.geometry
    point = geometry["coordinates"] if geometry.get("type") == "Point" else None
    return render(
        request,
        "incident.html",
        visitor,
        missing=None,
        rec=record,
        point=point,
        geometry_json=orjson.dumps(geometry).decode(),
        alerts=alerts,
        history=history,
        evidence=items,
        next_steps=sorted(NEXT[current]),
        may_verify=principal.can(Permission.VERIFY_INCIDENTS),
        marking_kind=incident.releasability,
        release_to=",".join(sorted(incident.marking.release_to)),
        label=label,
    )
