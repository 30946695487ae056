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

from cmcc.access.domain import Permission
from cmcc.access.policy import visible
from cmcc.api.deps import SessionDep
from cmcc.command import orbat
from cmcc.command.domain import TASK_STEPS, Priority, TaskStatus, UnitKind
from cmcc.command.models import UnitTask
from cmcc.core.errors import InvalidInput
from cmcc.core.releasability import Viewer
from cmcc.forces.domain import Task
from cmcc.web.auth import SignedIn
from cmcc.web.templating import render
from cmcc.web.words import label

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
    if not text.isdigit():
        raise InvalidInput.field(f"query.{field}", "a unit from the list")
    return int(text)


def _day(text: str | None) -> tuple[dt.datetime, dt.datetime] | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.field("query.day", "a date: YYYY-MM-DD") from None
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def board_statement(
    viewer: Viewer,
    issuer: int | None,
    unit: int | None,
    day: tuple[dt.datetime, dt.datetime] | None,
) -> Select[tuple[UnitTask]]:
    """The tasks the viewer may see, by issuing headquarters, unit and a day their window
    overlaps."""
    stmt = visible(UnitTask, viewer)
    if issuer is not None:
        stmt = stmt.where(UnitTask.issuer_lineage == issuer)
    if unit is not None:
        stmt = stmt.where(UnitTask.unit_lineage == unit)
    if day is not None:
        stmt = stmt.where(UnitTask.starts_at < day[1], UnitTask.ends_at >= day[0])
    return stmt


def columns(session: Session, stmt: Select[tuple[UnitTask]]) -> list[Column]:
    sub = stmt.subquery()
    counts = dict(session.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all())
    out = []
    for status in TaskStatus:
        shown = stmt.where(UnitTask.status == status.value).order_by(
            UnitTask.starts_at.desc(), UnitTask.id.desc()
        )
        tasks = list(session.scalars(shown.limit(PER_COLUMN))) if counts.get(status.value) else []
        out.append(Column(status, int(counts.get(status.value, 0)), tasks))
    return out


@router.get("/tasks")
def tasking_board(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
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
        stmt = board_statement(
            viewer, _lineage(issuer, "issuer"), _lineage(unit, "unit"), _day(day)
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
        steps={s.value: sorted(TASK_STEPS[s], key=list(TaskStatus).index) for s in TaskStatus},
        refused=TaskStatus.REFUSED_BY_NATION.value,
        task_kinds=[(t.value, label(t.value)) for t in Task],
        priorities=[(p.value, label(p.value)) for p in Priority],
        may_task=principal.can(Permission.TASK_UNITS),
        may_refuse=principal.can(Permission.NATIONAL_COMMAND),
        per_column=PER_COLUMN,
        **context,
    )
