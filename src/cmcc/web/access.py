"""Web page: the access constraints log (with the form to record one) and its monthly report
by OCHA category and by governorate, as tables and bar charts.

A read-only GET route: it calls the services of /api/v1/access-constraints with the visitor's
principal, so the release policy is the API's. The form writes through the JSON API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from cmcc.access.domain import Permission
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.core.clock import utcnow
from cmcc.core.errors import InvalidInput
from cmcc.core.pagination import paginate
from cmcc.humanitarian import access_log, access_report
from cmcc.humanitarian.access_report import UNLOCATED, Figures, Month, Report
from cmcc.humanitarian.domain import (
    ACCESS_CATEGORY_LABELS,
    ACCESS_IMPACT_CATEGORY,
    AccessCategory,
    AccessImpact,
)
from cmcc.humanitarian.models import AccessConstraint
from cmcc.web import charts
from cmcc.web.auth import SignedIn
from cmcc.web.choices import choice
from cmcc.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Text = Annotated[str | None, Query(max_length=200)]
MonthText = Annotated[str | None, Query(max_length=7)]

# How the impacts read on the page.
IMPACT_LABELS: dict[AccessImpact, str] = {
    AccessImpact.TURNED_BACK_AT_CHECKPOINT: "Turned back at a checkpoint",
    AccessImpact.DELAYED_AT_CHECKPOINT: "Delayed at a checkpoint",
    AccessImpact.INTERFERENCE: "Interference in the activity",
    AccessImpact.VIOLENCE: "Violence against aid workers or assets",
    AccessImpact.LOOTING: "Looting of aid",
    AccessImpact.RESTRICTION: "Restriction of movement",
    AccessImpact.OTHER: "Other",
}
UNLOCATED_LABEL = "Unlocated (no point, or outside every governorate)"


def _log_filters(month: str | None, category: str | None, impact: str | None) -> Any:
    span = None
    if month:
        first = Month.parse(month, "query.month")
        span = (first.start, first.plus(1).start)
    return access_log.Filters(
        span,
        choice(AccessCategory, category, "category"),
        choice(AccessImpact, impact, "impact"),
        None,
    )


def _sum(figures: list[Figures]) -> Figures:
    total = Figures()
    for f in figures:
        total.count += f.count
        total.delays += f.delays
        total.delay_minutes += f.delay_minutes
    return total


def pivot(result: Report) -> dict[str, Any]:
    """The report as the page's tables: rows (label, per-month counts, total) by category
    (all nine) and by area, and the delays per month."""
    months = result.months
    categories = []
    for c in AccessCategory:
        counts = [result.by_category.get((m, c), Figures()).count for m in months]
        categories.append((c.value, ACCESS_CATEGORY_LABELS[c], counts, sum(counts)))
    areas = []
    for area in result.areas():
        counts = [result.by_area.get((m, area), Figures()).count for m in months]
        label = UNLOCATED_LABEL if area == UNLOCATED else area
        areas.append((area, label, counts, sum(counts)))
    per_month = [
        _sum([f for (m, _), f in result.by_category.items() if m == month]) for month in months
    ]
    return {"months": months, "categories": categories, "areas": areas, "per_month": per_month}


def _charts(result: Report, table: dict[str, Any]) -> tuple[Any, Any]:
    span = f"{result.first} to {result.last}"
    by_category = charts.hbar(
        "access-by-category",
        f"Access constraints by category, {span}",
        "The number of access constraints released to you in each of OCHA's categories.",
        [(label, total) for _, label, _, total in table["categories"] if total],
    )
    by_area = charts.hbar(
        "access-by-area",
        f"Access constraints by governorate, {span}",
        "The number of access constraints released to you in each governorate.",
        [(label, total) for _, label, _, total in table["areas"]],
        colour=charts.PALETTE[1],
    )
    return by_category, by_area


@router.get("/access")
def access_page(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    platform: PlatformDep,
    month: MonthText = None,
    category: Text = None,
    impact: Text = None,
    cursor: Text = None,
    start: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=7)] = None,
) -> Response:
    principal = visitor.principal
    chosen = {"month": month or "", "category": category or "", "impact": impact or ""}
    period = {"from": start or "", "to": end or ""}
    records: list[Any] = []
    count, next_url, error = 0, None, None
    result: Report | None = None
    try:
        first, last = access_report.period(start, end, today=utcnow().date())
        result = access_report.report(session, principal, platform.spatial, first, last)
        stmt = access_log.statement(session, principal, _log_filters(month, category, impact))
        page = paginate(session, stmt, AccessConstraint.id, cursor, PAGE_SIZE)
    except InvalidInput as exc:
        error = str(exc)
    else:
        records, count = access_log.public(session, principal, page.items), page.count
        if page.next_cursor:
            kept = {k: v for k, v in {**chosen, **period}.items() if v}
            next_url = "/access?" + urlencode({**kept, "cursor": page.next_cursor})
    table = pivot(result) if result else None
    chart_category, chart_area = _charts(result, table) if result and table else (None, None)
    report_query = urlencode({"from": str(result.first), "to": str(result.last)}) if result else ""
    return render(
        request,
        "access.html",
        visitor,
        status_code=400 if error else 200,
        records=records,
        count=count,
        next_url=next_url,
        first_url="/access?" + urlencode({k: v for k, v in {**chosen, **period}.items() if v}),
        paged=bool(cursor),
        error=error,
        chosen=chosen,
        period={"from": str(result.first), "to": str(result.last)} if result else period,
        result=result,
        table=table,
        chart_category=chart_category,
        chart_area=chart_area,
        report_query=report_query,
        categories=list(AccessCategory),
        category_labels={c.value: t for c, t in ACCESS_CATEGORY_LABELS.items()},
        impacts=list(AccessImpact),
        impact_labels={i.value: t for i, t in IMPACT_LABELS.items()},
        default_category={
            i.value: ACCESS_CATEGORY_LABELS[c] for i, c in ACCESS_IMPACT_CATEGORY.items()
        },
        movements=access_log.movement_choices(session, principal),
        may_record=principal.can(Permission.NOTIFY_HUMANITARIAN)
        or principal.can(Permission.COORDINATE_HUMANITARIAN),
    )
