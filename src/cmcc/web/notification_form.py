"""Web pages: the form by which a humanitarian partner notifies a site or a movement, and the same
form filled with the current version to change it (a new version). The site is placed, or the
route drawn, on a map (static/notification-form.js); the form posts to /api/v1/notifications
(or .../versions) and shows the API's field errors beside the fields.

A notification informs the centre; it asks no one's leave. The form says so, and no word of it
says otherwise."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from cmcc.access.domain import Permission
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.core.errors import NotFound
from cmcc.core.schemas import MAX_ID
from cmcc.humanitarian import notifications, readout
from cmcc.humanitarian.domain import (
    ACTIVE_STATUSES,
    CargoCategory,
    MovementType,
    NotificationKind,
    NotificationStatus,
    SiteType,
)
from cmcc.humanitarian.rules import Rules
from cmcc.humanitarian.schemas import NotificationPublic
from cmcc.web.auth import SignedIn, Visitor
from cmcc.web.templating import render
from cmcc.web.words import label

router = APIRouter(include_in_schema=False)


def _form(
    request: Request,
    visitor: Visitor,
    rules: Rules,
    rec: NotificationPublic | None = None,
    refusal: str | None = None,
) -> Response:
    return render(
        request,
        "notification_form.html",
        visitor,
        status_code=403 if refusal else 200,
        rec=rec,
        record_json=orjson.dumps(rec.model_dump(mode="json")).decode() if rec else "",
        refusal=refusal,
        kinds=[(k.value, label(k.value)) for k in NotificationKind],
        site_types=[(t.value, label(t.value)) for t in SiteType],
        movement_types=[(t.value, label(t.value)) for t in MovementType],
        cargo=[(c.value, label(c.value)) for c in CargoCategory],
        buffers={"site": rules.site_buffer_m, "movement": rules.route_buffer_m},
        notice_hours=rules.notice_hours,
    )


@router.get("/notifications/new")
def new_notification(request: Request, visitor: SignedIn, platform: PlatformDep) -> Response:
    may = visitor.principal.can(Permission.NOTIFY_HUMANITARIAN)
    refusal = None if may else "Humanitarian partners notify their sites and movements here."
    return _form(request, visitor, Rules.of(platform.settings), refusal=refusal)


@router.get("/notifications/{lineage}/edit")
def edit_notification(
    request: Request, lineage: int, session: SessionDep, visitor: SignedIn, platform: PlatformDep
) -> Response:
    """The current version in the form; saving it makes a new version (the API checks that the
    visitor's organization submitted it and that it is still active)."""
    viewer = visitor.principal.viewer
    rules = Rules.of(platform.settings)
    try:
        if not 1 <= lineage <= MAX_ID:
            raise NotFound(f"notification {lineage} not found")
        found = notifications.get_current(session, viewer, lineage)
    except NotFound:
        return render(request, "notification.html", visitor, status_code=404, missing=lineage)
    rec = readout.one(session, viewer, found, rules)
    own = found.owner_org_id == visitor.principal.org_id and visitor.principal.can(
        Permission.NOTIFY_HUMANITARIAN
    )
    refusal = None if own else "Only the organization that notified it changes a notification."
    if own and NotificationStatus(found.status) not in ACTIVE_STATUSES:
        refusal = f"It is {found.status}: notify again with a new notification."
    return _form(request, visitor, rules, rec, refusal=refusal)
