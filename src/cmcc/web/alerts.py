"""The alerts panel: open, acknowledged and closed alerts, with new ones arriving live."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cmcc.access.domain import Permission
from cmcc.api.deps import SessionDep
from cmcc.incidents import service
from cmcc.incidents.models import Alert
from cmcc.web.auth import SignedIn
from cmcc.web.templating import render

router = APIRouter(include_in_schema=False)
SHOWN = 200


@router.get("/alerts")
def alerts_page(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    status: Literal["open", "acknowledged", "closed"] | None = "open",
) -> Response:
    principal = visitor.principal
    stmt = service.alert_statement(principal, status).order_by(Alert.id.desc()).limit(SHOWN)
    return render(
        request,
        "alerts.html",
        visitor,
        alerts=list(session.scalars(stmt)),
        status=status,
        shown=SHOWN,
        may_manage=principal.can(Permission.MANAGE_ALERTS),
    )
