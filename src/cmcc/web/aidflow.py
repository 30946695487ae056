"""Web page: the aid flow dashboard (trucks per day against the target, the 7-day average, the
totals per crossing and per cargo category, and each crossing's status now)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cmcc.api.deps import SessionDep
from cmcc.core.clock import utcnow
from cmcc.core.errors import InvalidInput
from cmcc.humanitarian import crossings
from cmcc.humanitarian.aidflow_dashboard import Day, dashboard, period
from cmcc.humanitarian.domain import CargoCategory
from cmcc.humanitarian.models import Crossing
from cmcc.web import charts
from cmcc.web.auth import SignedIn
from cmcc.web.templating import render
from cmcc.web.words import label

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Query(max_length=40)]


def _day(text: str, name: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.field(name, f"{text!r} is not a date (YYYY-MM-DD)") from None


def share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


@router.get("/aid-flow")
def aid_flow_page(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    start: Text = "",
    end: Text = "",
    crossing: Text = "",
    category: Text = "",
) -> Response:
    viewer = visitor.principal.viewer
    today = utcnow().date()
    known = list(session.scalars(crossings.crossing_statement(viewer).order_by(Crossing.code)))
    error = None
    try:
        first, last = period(_day(start, "From"), _day(end, "To"), today, "To")
    except InvalidInput as exc:
        error = exc.detail
        first, last = period(None, None, today)
    chosen = next((c for c in known if c.code == crossing.upper()), None)
    cargo = next((c for c in CargoCategory if c.value == category), None)
    board = dashboard(
        session,
        viewer,
        first,
        last,
        crossing_id=chosen.id if chosen else None,
        cargo_category=cargo,
    )
    scope = (
        " of ".join(p for p in (label_of(cargo), chosen.name if chosen else "") if p)
        or "All cargo through all crossings"
    )
    flow_chart = charts.daily_chart(
        "aid-flow-daily",
        f"Trucks per day: {scope}",
        "Trucks entering each day (bars), the 7-day average of the reported days (line) and "
        "the target in force (dashed line).",
        [d.day for d in board.days],
        [d.trucks for d in board.days],
        [d.average_7d for d in board.days],
        [d.target for d in board.days],
        names=("Trucks per day", "7-day average", _target_name(board.days)),
    )
    category_chart = charts.hbar(
        "aid-flow-categories",
        "Trucks by cargo category",
        "Trucks over the period for each cargo category.",
        [(label_of(CargoCategory(t.key)), t.trucks) for t in board.by_category if t.key],
    )
    now = crossings.current_statuses(session, viewer, utcnow(), [c.id for c in known])
    return render(
        request,
        "aid_flow.html",
        visitor,
        board=board,
        known=known,
        now={c.code: now.get(c.id) for c in known},
        chosen=chosen,
        cargo=cargo,
        categories=list(CargoCategory),
        scope=scope,
        error=error,
        share=share,
        flow_chart=flow_chart,
        category_chart=category_chart,
    )


def _target_name(days: list[Day]) -> str:
    """The legend of the target line: with its value when it is one all along."""
    values = {d.target for d in days if d.target is not None}
    return f"Target ({next(iter(values)):,} a day)" if len(values) == 1 else "Target"


def label_of(category: CargoCategory | None) -> str:
    return "" if category is None else label(category.value)
