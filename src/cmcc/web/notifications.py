"""Web pages: humanitarian notifications (sites and movements), their list and each one with its
map, versions, status history and deconfliction advisories; the centre's and the partner's
actions. The form that notifies (and makes a new version) is in web/notification_form.py.

Reads call the services of /api/v1/notifications with the visitor's viewer, so the release
policy is the API's: a notification is listed and shown only to its organization, the centre
and those it was shared with; its contact only to its organization and the centre (readout);
an advisory names its record only to a visitor who may see that record, the others are counted.
Writes (status steps) go through the JSON API, like every form of the pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import OrgKind, Permission, Principal
from cmcc.access.models import Organization
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.core.clock import utcnow
from cmcc.core.errors import InvalidInput, NotFound
from cmcc.core.pagination import count_matches
from cmcc.core.schemas import MAX_ID
from cmcc.geo.geometry import to_geojson
from cmcc.geo.measure import buffer_m
from cmcc.humanitarian import advisories, notifications, readout
from cmcc.humanitarian.domain import (
    ACTIVE_STATUSES,
    ADVISORY_LABELS,
    FORCE,
    STATUS_LABELS,
    AdvisoryKind,
    NotificationKind,
    NotificationStatus,
)
from cmcc.humanitarian.models import Notification
from cmcc.humanitarian.rules import Rules
from cmcc.humanitarian.schemas import NotificationPublic
from cmcc.web.auth import SignedIn, Visitor
from cmcc.web.choices import choice
from cmcc.web.templating import render

router = APIRouter(include_in_schema=False)
SHOWN = 200
Text = Annotated[str | None, Query(max_length=20)]
FORCE_WORDS = "The force (its headquarters and contributing nations)"


def status_label(code: str) -> str:
    """A notification's status in the users' words ("Acknowledged by the centre")."""
    return STATUS_LABELS[NotificationStatus(code)]


@router.get("/notifications")
def notification_list(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    platform: PlatformDep,
    kind: Text = None,
    status: Text = None,
    active: Text = None,
) -> Response:
    viewer = visitor.principal.viewer
    chosen = {"kind": kind or "", "status": status or "", "active": bool(active)}
    rows: list[NotificationPublic] = []
    count, error = 0, None
    try:
        stmt = notifications.list_statement(
            viewer,
            platform.spatial,
            kind=choice(NotificationKind, kind, "kind"),
            status=choice(NotificationStatus, status, "status"),
            active=utcnow() if active else None,
        )
    except InvalidInput as exc:
        error = str(exc)
    else:
        count = count_matches(session, stmt)
        newest = stmt.order_by(Notification.valid_from.desc(), Notification.id.desc())
        notes = list(session.scalars(newest.limit(SHOWN)))
        rows = readout.public(session, viewer, notes, Rules.of(platform.settings))
    return render(
        request,
        "notifications.html",
        visitor,
        status_code=400 if error else 200,
        rows=rows,
        count=count,
        shown=SHOWN,
        error=error,
        chosen=chosen,
        kinds=list(NotificationKind),
        statuses=[(s.value, STATUS_LABELS[s]) for s in NotificationStatus],
        status_label=status_label,
        may_notify=visitor.principal.can(Permission.NOTIFY_HUMANITARIAN),
    )


def audience_names(session: Session) -> dict[str, str]:
    """Whom the centre may share with: the force, and each party's liaison cell."""
    stmt = select(Organization).where(Organization.kind == OrgKind.PARTY_LIAISON.value)
    stmt = stmt.order_by(Organization.code)
    cells = {o.code: f"{o.name} ({o.code})" for o in session.scalars(stmt)}
    return {FORCE: FORCE_WORDS, **cells}


def actions(principal: Principal, n: Notification) -> set[str]:
    """The steps the visitor may take (the rules of `notifications.step` and `new_version`):
    the centre acknowledges, shares and completes; the submitting organization withdraws,
    completes and changes it (a new version), while it is active."""
    if NotificationStatus(n.status) not in ACTIVE_STATUSES:
        return set()
    centre = principal.can(Permission.COORDINATE_HUMANITARIAN)
    own = principal.can(Permission.NOTIFY_HUMANITARIAN) and n.owner_org_id == principal.org_id
    out = set()
    if centre:
        out |= {"shared", "completed"}
        if n.status == NotificationStatus.SUBMITTED.value:
            out.add("acknowledged")
    if own:
        out |= {"withdrawn", "completed", "edit"}
    return out


def _advisories(session: Session, principal: Principal, n: Notification) -> dict[str, Any]:
    reading = advisories.for_viewer(session, principal.viewer, [n])
    counted = sorted(reading.withheld.items())
    withheld = [(ADVISORY_LABELS[AdvisoryKind(kind)], count) for kind, count in counted]
    return {
        "named": reading.named,
        "withheld": withheld,
        "withheld_total": sum(c for _, c in withheld),
        "computed_at": reading.computed_at,
    }


def _missing(request: Request, visitor: Visitor, lineage: int) -> Response:
    return render(request, "notification.html", visitor, status_code=404, missing=lineage)


@router.get("/notifications/{lineage}")
def notification_page(
    request: Request, lineage: int, session: SessionDep, visitor: SignedIn, platform: PlatformDep
) -> Response:
    principal = visitor.principal
    viewer = principal.viewer
    if not 1 <= lineage <= MAX_ID:
        return _missing(request, visitor, lineage)
    try:
        n = notifications.get_current(session, viewer, lineage)
    except NotFound:
        return _missing(request, visitor, lineage)
    rec = readout.one(session, viewer, n, Rules.of(platform.settings))
    shapes = {"shape": rec.geometry, "buffer": to_geojson(buffer_m(n.geometry, n.buffer_m))}
    may = actions(principal, n)
    return render(
        request,
        "notification.html",
        visitor,
        missing=None,
        rec=rec,
        shapes_json=orjson.dumps(shapes).decode(),
        versions=notifications.versions(session, viewer, lineage),
        history=notifications.history(session, viewer, lineage),
        advice=_advisories(session, principal, n),
        may=may,
        audiences=audience_names(session) if "shared" in may or rec.audiences else {},
        status_label=status_label,
        now=dt.datetime.now(dt.UTC),
    )
