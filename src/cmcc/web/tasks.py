"""Web page: the tasking board, one column per task status (issued, acknowledged, in progress,
complete, refused by the nation, cancelled), filtered by issuing headquarters, unit and day.

The tasks are read through the release policy (a task naming a unit or a headquarters the
visitor may not see is not on the board, nor in any count). Writes (issue a task, change its
status, a nation's refusal) go through the JSON API, like every form of the pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.command import orbat, tasking
from cmcc.command.domain import TASK_STEPS, Priority, TaskStatus, UnitKind
from cmcc.command.models import Unit, UnitTask
from cmcc.core.errors import InvalidInput
from cmcc.core.schemas import MAX_ID
from cmcc.forces.domain import Task
from cmcc.web.auth import SignedIn
from cmcc.web.templating import render
from cmcc.web.words import label
from cmcc.zones.models import Zone
from cmcc.zones.service import zone_statement

router = APIRouter(include_in_schema=False)
PER_COLUMN = 50
Text = Annotated[str | None, Query(max_length=20)]


@dataclass(frozen=True)
class Column:
    status: TaskStatus
    count: int
    tasks: list[UnitTask]


def _lineage(text: str | None, field: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput.field(f"query.{field}", "a unit from the list")
    return int(text)


def _day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.field("query.day", "a date: YYYY-MM-DD") from None


def allowed_steps(principal: Principal, task: UnitTask, names: dict[int, Unit]) -> list[str]:
    """The statuses the visitor may move the task to (the rules of `tasking.set_status`): the
    force (task_units) acknowledges, starts, completes or cancels; the unit's own nation
    (national_command) acknowledges, starts, completes or refuses; a refusal is final."""
    unit = names.get(task.unit_lineage)
    own = (
        principal.can(Permission.NATIONAL_COMMAND)
        and unit is not None
        and unit.owner_org_id == principal.org_id
    )
    force = principal.can(Permission.TASK_UNITS)
    out = []
    for target in sorted(TASK_STEPS[TaskStatus(task.status)], key=list(TaskStatus).index):
        if target is TaskStatus.CANCELLED:
            ok = force
        elif target is TaskStatus.REFUSED_BY_NATION:
            ok = own
        else:
            ok = force or own
        if ok:
            out.append(target.value)
    return out


def columns(session: Session, stmt: Select[UnitTask]) -> list[Column]:
    sub = stmt.order_by(None).subquery()
    rows = session.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all()
    counts: dict[str, int] = {str(status): int(n) for status, n in rows}
    out = []
    for status in TaskStatus:
        shown = stmt.where(UnitTask.status == status.value)
        tasks = list(session.scalars(shown.limit(PER_COLUMN))) if counts.get(status.value) else []
        out.append(Column(status, counts.get(status.value, 0), tasks))
    return out


def _zones(session: Session, principal: Principal, platform: Any) -> list[tuple[int, str]]:
    """The zones a task's area may be (valid now, released to the visitor), by name."""
    if not principal.can(Permission.TASK_UNITS):
        return []
    stmt = zone_statement(principal, platform.spatial).order_by(Zone.name, Zone.id)
    return [(z.lineage_id, f"{z.name} ({label(z.kind)})") for z in session.scalars(stmt)]


@router.get("/tasks")
def tasking_board(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    platform: PlatformDep,
    issuer: Text = None,
    unit: Text = None,
    day: Text = None,
) -> Response:
    principal = visitor.principal
    viewer = principal.viewer
    chosen = {"issuer": issuer or "", "unit": unit or "", "day": day or ""}
    units = orbat.units_as_of(session, viewer)
    names = {u.lineage_id: u for u in units}
    headquarters = [u for u in units if u.kind == UnitKind.HEADQUARTERS.value]
    context: dict[str, Any] = {"columns": [], "error": None}
    try:
        stmt = tasking.task_statement(
            viewer,
            issuer=_lineage(issuer, "issuer"),
            unit=_lineage(unit, "unit"),
            day=_day(day),
        )
    except InvalidInput as exc:
        context["error"] = str(exc)
    else:
        context["columns"] = columns(session, stmt)
    return render(
        request,
        "tasks.html",
        visitor,
        status_code=400 if context["error"] else 200,
        chosen=chosen,
        names=names,
        units=sorted(units, key=lambda u: u.name),
        headquarters=sorted(headquarters, key=lambda u: u.name),
        steps=lambda task: allowed_steps(principal, task, names),
        zones=_zones(session, principal, platform),
        refused=TaskStatus.REFUSED_BY_NATION.value,
        task_kinds=[(t.value, label(t.value)) for t in Task],
        priorities=[(p.value, label(p.value)) for p in Priority],
        may_task=principal.can(Permission.TASK_UNITS),
        may_refuse=principal.can(Permission.NATIONAL_COMMAND),
        per_column=PER_COLUMN,
        **context,
    )
