"""Web page: the recovery board (tips queue, search tasks, open hazards, rewards to approve).

Each panel calls the service function its JSON route calls, with the visitor's principal, and
is shown only when the route would answer: tips need `triage_tips`, rewards one of the reward
roles; search tasks and hazards are listed for every signed-in user (by release)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, Role
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.core.clock import utcnow
from cmcc.core.errors import InvalidInput
from cmcc.core.pagination import paginate
from cmcc.hazards import service as hazards
from cmcc.hazards.domain import HazardStatus
from cmcc.hazards.models import HazardArea
from cmcc.remains import service as remains
from cmcc.remains.domain import TaskStatus
from cmcc.remains.models import SearchTask
from cmcc.tips import rewards, triage
from cmcc.tips.domain import RewardStatus, TipStatus
from cmcc.tips.models import Reward, Tip
from cmcc.web.auth import SignedIn
from cmcc.web.nav import RECOVERY_ROLES
from cmcc.web.templating import render
from cmcc.web.words import label

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
QUEUE = (TipStatus.RECEIVED, TipStatus.UNDER_REVIEW)


def age(since: dt.datetime, now: dt.datetime) -> str:
    """How long ago, in the largest whole unit: `3 d`, `5 h`, `12 min`."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def may_use_board(principal: Principal) -> bool:
    return principal.role in RECOVERY_ROLES or principal.role is Role.ADMIN


def _tips(session: Session, principal: Principal) -> list[Tip]:
    """New and under-review tips, newest first (the first PAGE_SIZE)."""
    found: list[Tip] = []
    for status in QUEUE:
        stmt = triage.tip_statement(principal, status).order_by(Tip.id.desc()).limit(PAGE_SIZE)
        found.extend(session.scalars(stmt))
    return sorted(found, key=lambda t: (t.created_at, t.id), reverse=True)[:PAGE_SIZE]


def _task_counts(session: Session, principal: Principal, platform: Any) -> dict[str, int]:
    stmt = remains.task_statement(principal, platform.spatial).subquery()
    rows = session.execute(select(stmt.c.status, func.count()).group_by(stmt.c.status)).all()
    counts = {s.value: 0 for s in TaskStatus}
    counts.update({str(status): int(n) for status, n in rows})
    return counts


@router.get("/recovery")
def recovery_board(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    platform: PlatformDep,
    task_status: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    principal = visitor.principal
    if not may_use_board(principal):
        return render(request, "recovery.html", visitor, status_code=403, forbidden=True)
    chosen = next((s for s in TaskStatus if s.value == task_status), None)
    stmt = remains.task_statement(principal, platform.spatial, status=chosen)
    try:
        tasks = paginate(session, stmt, SearchTask.id, cursor, PAGE_SIZE)
    except InvalidInput:  # a cursor this server did not issue: start from the first page
        tasks = paginate(session, stmt, SearchTask.id, None, PAGE_SIZE)
    next_url = None
    if tasks.next_cursor:
        params = {"cursor": tasks.next_cursor, **({"task_status": chosen} if chosen else {})}
        next_url = "/recovery?" + urlencode(params) + "#tasks-heading"
    open_hazards = paginate(
        session,
        hazards.hazard_statement(principal, platform.spatial, status=HazardStatus.OPEN),
        HazardArea.id,
        None,
        PAGE_SIZE,
    )
    context: dict[str, Any] = {
        "tips": None,
        "rewards": None,
        "task_counts": _task_counts(session, principal, platform),
        "tasks": tasks,
        "task_hazards": remains.hazard_refs(session, principal, [t.id for t in tasks.items]),
        "task_status": chosen.value if chosen else "",
        "next_url": next_url,
        "hazards": open_hazards,
    }
    if principal.can(Permission.TRIAGE_TIPS):
        context["tips"] = _tips(session, principal)
    if any(principal.can(p) for p in rewards.READERS):
        nominated = rewards.reward_statement(principal, RewardStatus.NOMINATED)
        context["rewards"] = paginate(session, nominated, Reward.id, None, PAGE_SIZE)
    return render(
        request,
        "recovery.html",
        visitor,
        forbidden=False,
        now=utcnow(),
        age=age,
        label=label,
        statuses=list(TaskStatus),
        **context,
    )
