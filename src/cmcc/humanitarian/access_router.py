"""REST routes of the access constraints log (/api/v1/access-constraints) and its monthly
report (JSON, CSV or HXL)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from cmcc.api.deps import (
    CurrentPrincipal,
    Cursor,
    Limit,
    LoggedIn,
    OptionalRecordId,
    PlatformDep,
    RecordId,
    SessionDep,
)
from cmcc.core.clock import utcnow
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic
from cmcc.humanitarian import access_log, access_report
from cmcc.humanitarian.access_schemas import (
    AccessConstraintCreate,
    AccessConstraintPublic,
    AccessConstraintUpdate,
    AccessReportPublic,
)
from cmcc.humanitarian.domain import AccessCategory, AccessImpact
from cmcc.humanitarian.models import AccessConstraint

router = APIRouter(prefix="/api/v1/access-constraints", tags=["humanitarian"])
MonthText = Annotated[str | None, Query(max_length=7, description="YYYY-MM (UTC)")]


def filters(
    month: str | None,
    category: AccessCategory | None,
    impact: AccessImpact | None,
    movement: int | None,
) -> access_log.Filters:
    span = None
    if month:
        first = access_report.Month.parse(month, "query.month")
        span = (first.start, first.plus(1).start)
    return access_log.Filters(span, category, impact, movement)


@router.get("", response_model=ListPublic[AccessConstraintPublic])
def list_constraints(
    session: SessionDep,
    principal: CurrentPrincipal,
    month: MonthText = None,
    category: AccessCategory | None = None,
    impact: AccessImpact | None = None,
    movement: Annotated[OptionalRecordId, Query(description="A movement's lineage")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    """The access constraints the caller may see, oldest first, paged."""
    stmt = access_log.statement(session, principal, filters(month, category, impact, movement))
    page = paginate(session, stmt, AccessConstraint.id, cursor, limit)
    body = ListPublic[AccessConstraintPublic](
        data=access_log.public(session, principal, page.items),
        count=page.count,
        next_cursor=page.next_cursor,
    )
    return Response(body.model_dump_json(), media_type="application/json")


@router.post("", response_model=AccessConstraintPublic, status_code=status.HTTP_201_CREATED)
def create_constraint(
    body: AccessConstraintCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    record = access_log.create(session, principal, body, aoi=platform.settings.aoi_bbox)
    return access_log.public(session, principal, [record])[0]


@router.get(
    "/report",
    response_model=AccessReportPublic,
    responses={200: {"content": {"text/csv": {}}}},
)
def report(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    start: Annotated[str | None, Query(alias="from", max_length=7, description="YYYY-MM")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=7, description="YYYY-MM")] = None,
    fmt: Annotated[
        Literal["json", "csv", "hxl"], Query(alias="format", description="json, csv or hxl")
    ] = "json",
    by: Annotated[
        access_report.By, Query(description="csv and hxl: one table by category or by area")
    ] = "category",
) -> Any:
    """Per month (UTC): the number of access constraints by OCHA category and by governorate,
    with the delays at checkpoints and their minutes; over what the caller may see only.
    Default period: the six months to the current one."""
    first, last = access_report.period(start, end, today=utcnow().date())
    result = access_report.report(session, principal, platform.spatial, first, last)
    if fmt != "json":
        text = "".join(access_report.table_lines(result, by, hxl=fmt == "hxl"))
        name = f"access-constraints-by-{by}-{first}-{last}{'.hxl' if fmt == 'hxl' else ''}.csv"
        return Response(
            text.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return access_report.public(result)


@router.get("/{constraint_id}", response_model=AccessConstraintPublic)
def get_constraint(
    constraint_id: RecordId, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    record = access_log.get(session, principal, constraint_id)
    return access_log.public(session, principal, [record])[0]


@router.patch("/{constraint_id}", response_model=AccessConstraintPublic)
def update_constraint(
    constraint_id: RecordId,
    body: AccessConstraintUpdate,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    record = access_log.update(
        session, principal, constraint_id, body, aoi=platform.settings.aoi_bbox
    )
    return access_log.public(session, principal, [record])[0]
