"""The aid flow dashboard over a period of days: trucks per day against the target in force,
the 7-day average, and the totals per crossing and per cargo category against their targets.

Computed in SQL: three GROUP BY queries (per day, per crossing, per category) over the
entries the caller may see, the release filter inside each aggregate; then the targets the
caller may see, each in force until the next of its scope (`aidflow.Targets`). A day without
a figure counts 0 trucks and says it had no report; the 7-day average is the mean of the days
of the week ending that day that had a report (a day not reported yet does not pull it down)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmcc.access.policy import release_filter
from cmcc.core.errors import InvalidInput
from cmcc.core.releasability import Viewer
from cmcc.humanitarian.aidflow import AVERAGE_DAYS, MAX_DAYS, NOT_RELEASED, Targets
from cmcc.humanitarian.aidflow import visible_targets as _targets
from cmcc.humanitarian.domain import CargoCategory
from cmcc.humanitarian.models import AidFlowEntry, Crossing


@dataclass(frozen=True)
class Day:
    day: dt.date
    trucks: int
    reported: bool
    target: int | None
    average_7d: float | None


@dataclass(frozen=True)
class Total:
    key: str | None
    label: str
    trucks: int
    average_per_day: float
    target_trucks: int | None

    @property
    def share_of_target(self) -> float | None:
        if not self.target_trucks:
            return None
        return round(self.trucks / self.target_trucks, 4)


@dataclass(frozen=True)
class Dashboard:
    start: dt.date
    end: dt.date
    crossing_id: int | None
    cargo_category: str | None
    days: list[Day]
    by_crossing: list[Total]
    by_category: list[Total]
    total: Total


FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)
DEFAULT_DAYS = 60


def check_period(start: dt.date, end: dt.date, field: str = "query.end") -> None:
    if start < FIRST_DAY or end > LAST_DAY:
        raise InvalidInput.field(field, "a period within the years 1900 to 2199")
    if end < start:
        raise InvalidInput.field(field, "the period ends before it starts")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput.field(field, f"a period of at most {MAX_DAYS} days")


def period(
    start: dt.date | None, end: dt.date | None, today: dt.date, field: str = "query.end"
) -> tuple[dt.date, dt.date]:
    """The dashboard's days: those given, by default the 60 up to today (checked)."""
    last = end or today
    if not FIRST_DAY <= last <= LAST_DAY:
        raise InvalidInput.field(field, "a period within the years 1900 to 2199")
    first = start or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    check_period(first, last, field)
    return first, last


def _filtered(stmt: Any, viewer: Viewer, crossing_id: int | None, category: str | None) -> Any:
    stmt = stmt.where(release_filter(AidFlowEntry, viewer))
    if crossing_id is not None:
        stmt = stmt.where(AidFlowEntry.crossing_id == crossing_id)
    if category is not None:
        stmt = stmt.where(AidFlowEntry.cargo_category == category)
    return stmt


def _grouped(
    session: Session,
    viewer: Viewer,
    key: Any,
    first: dt.date,
    end: dt.date,
    crossing_id: int | None,
    category: str | None,
) -> dict[Any, int]:
    """SUM(trucks) GROUP BY `key` over the visible entries of [first, end]."""
    stmt = select(key, func.sum(AidFlowEntry.trucks)).where(
        AidFlowEntry.day >= first, AidFlowEntry.day <= end
    )
    stmt = _filtered(stmt, viewer, crossing_id, category).group_by(key)
    return {k: int(v or 0) for k, v in session.execute(stmt).all()}


def _total(key: str | None, label: str, trucks: int, days: int, target: int | None) -> Total:
    return Total(key, label, trucks, round(trucks / days, 1) if days else 0.0, target)


def dashboard(
    session: Session,
    viewer: Viewer,
    start: dt.date,
    end: dt.date,
    *,
    crossing_id: int | None = None,
    cargo_category: CargoCategory | None = None,
) -> Dashboard:
    """The dashboard of [start, end] (days, both included), of one crossing and/or one cargo
    category if given, as `viewer` may see it."""
    check_period(start, end)
    category = cargo_category.value if cargo_category is not None else None
    span = (end - start).days + 1
    first = start - dt.timedelta(days=AVERAGE_DAYS - 1)  # the first average needs 6 days more
    per_day = _grouped(session, viewer, AidFlowEntry.day, first, end, crossing_id, category)
    targets: Targets = _targets(session, viewer, end)
    scope = (crossing_id, category)

    days_all = [first + dt.timedelta(days=i) for i in range(span + AVERAGE_DAYS - 1)]
    running, reports = [0], [0]
    for day in days_all:
        running.append(running[-1] + per_day.get(day, 0))
        reports.append(reports[-1] + (day in per_day))
    shown = days_all[AVERAGE_DAYS - 1 :]
    daily_targets = targets.daily(scope, shown)
    days = []
    for i, day in enumerate(shown):
        reported = reports[i + AVERAGE_DAYS] - reports[i]
        window = running[i + AVERAGE_DAYS] - running[i]
        average = round(window / reported, 1) if reported else None
        days.append(Day(day, per_day.get(day, 0), day in per_day, daily_targets[i], average))

    trucks = sum(d.trucks for d in days)
    total = _total(None, "all", trucks, span, targets.total(scope, start, end))
    by_crossing = _by_crossing(session, viewer, targets, start, end, span, crossing_id, category)
    per_category = _grouped(
        session, viewer, AidFlowEntry.cargo_category, start, end, crossing_id, category
    )
    categories = [c.value for c in CargoCategory if category is None or c.value == category]
    by_category = [
        _total(
            c,
            c,
            per_category.get(c, 0),
            span,
            targets.total((crossing_id, c), start, end),
        )
        for c in categories
    ]
    return Dashboard(start, end, crossing_id, category, days, by_crossing, by_category, total)


def _by_crossing(
    session: Session,
    viewer: Viewer,
    targets: Targets,
    start: dt.date,
    end: dt.date,
    span: int,
    crossing_id: int | None,
    category: str | None,
) -> list[Total]:
    """A row per crossing the viewer may see (with or without figures); the figures of
    crossings not released to the viewer in one row that names none of them."""
    per_crossing = _grouped(
        session, viewer, AidFlowEntry.crossing_id, start, end, crossing_id, category
    )
    stmt = select(Crossing.id, Crossing.code, Crossing.name).where(release_filter(Crossing, viewer))
    if crossing_id is not None:
        stmt = stmt.where(Crossing.id == crossing_id)
    rows = []
    for id_, code, name in session.execute(stmt.order_by(Crossing.code)).all():
        trucks = per_crossing.pop(id_, 0)
        target = targets.total((id_, category), start, end)
        rows.append(_total(code, name, trucks, span, target))
    hidden = sum(per_crossing.values())
    if per_crossing:
        rows.append(_total(None, NOT_RELEASED, hidden, span, None))
    return rows
