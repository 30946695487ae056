"""The monthly report of access constraints: how many per month and OCHA category, and per
month and area (the governorate: the `administrative_area` zone valid at the moment, found by
point in polygon; "unlocated" when the record has no point or lies outside every one), with
the number of delays at checkpoints and their total minutes.

Only the records the caller may see are read (the release policy is in the query), and only the
governorates the caller may see name an area: a caller who may not see a record gets lower
counts, never a hint of it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.access.policy import release_filter
from cmcc.core.errors import InvalidInput
from cmcc.geo.backend import SpatialBackend
from cmcc.humanitarian.access_schemas import AccessReportPublic, AreaRow, CategoryRow
from cmcc.humanitarian.domain import ACCESS_CATEGORY_LABELS, AccessCategory, AccessImpact
from cmcc.humanitarian.models import AccessConstraint
from cmcc.interop.tabular import csv_text, spreadsheet_safe
from cmcc.zones import service as zones
from cmcc.zones.domain import ZoneKind
from cmcc.zones.models import Zone

UNLOCATED = "unlocated"
MAX_MONTHS = 60
DEFAULT_MONTHS = 6
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
By = Literal["category", "area"]


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, field: str) -> Month:
        match = MONTH_RE.match(text.strip())
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise InvalidInput.field(field, "a month: YYYY-MM")
        if not 1900 <= int(match.group(1)) <= 2999:
            raise InvalidInput.field(field, "a year from 1900 to 2999")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: dt.datetime | dt.date) -> Month:
        return cls(moment.year, moment.month)

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def minus(self, other: Month) -> int:
        return (self.year - other.year) * 12 + self.month - other.month

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=dt.UTC)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def period(start: str | None, end: str | None, *, today: dt.date) -> tuple[Month, Month]:
    """The months from `start` to `end` (YYYY-MM, both included); by default the six months to
    the current one, or six from `start`. At most MAX_MONTHS."""
    first = Month.parse(start, "query.from") if start else None
    last = Month.parse(end, "query.to") if end else None
    if last is None:
        last = first.plus(DEFAULT_MONTHS - 1) if first else Month.of(today)
    if first is None:
        first = last.plus(1 - DEFAULT_MONTHS)
    if last < first:
        raise InvalidInput.field("query.to", "is before query.from")
    if last.minus(first) >= MAX_MONTHS:
        raise InvalidInput.field("query.to", f"at most {MAX_MONTHS} months from query.from")
    return first, last


@dataclass
class Figures:
    count: int = 0
    delays: int = 0
    delay_minutes: int = 0


@dataclass
class Report:
    first: Month
    last: Month
    by_category: dict[tuple[str, AccessCategory], Figures] = field(default_factory=dict)
    by_area: dict[tuple[str, str], Figures] = field(default_factory=dict)
    total: Figures = field(default_factory=Figures)

    @property
    def months(self) -> list[str]:
        return [str(self.first.plus(i)) for i in range(self.last.minus(self.first) + 1)]

    def category_rows(self) -> list[tuple[str, AccessCategory, Figures]]:
        order = {c: i for i, c in enumerate(AccessCategory)}
        keys = sorted(self.by_category, key=lambda k: (k[0], order[k[1]]))
        return [(m, c, self.by_category[(m, c)]) for m, c in keys]

    def area_rows(self) -> list[tuple[str, str, Figures]]:
        keys = sorted(self.by_area, key=lambda k: (k[0], k[1] == UNLOCATED, k[1]))
        return [(m, a, self.by_area[(m, a)]) for m, a in keys]

    def areas(self) -> list[str]:
        names = {a for _, a in self.by_area}
        return sorted(names - {UNLOCATED}) + ([UNLOCATED] if UNLOCATED in names else [])


def _areas(
    session: Session,
    principal: Principal,
    spatial: SpatialBackend,
    times: list[dt.datetime],
    lons: np.ndarray,
    lats: np.ndarray,
) -> list[str]:
    """Each point's governorate at its moment (the first by name where two overlap)."""
    out = np.full(len(times), UNLOCATED, dtype=object)
    located = ~np.isnan(lons)
    if not located.any():
        return list(out)
    stmt = zones.zone_statement(principal, spatial, kind=ZoneKind.ADMINISTRATIVE_AREA, history=True)
    epochs = np.array([t.timestamp() for t in times])
    free = located.copy()
    for zone in session.scalars(stmt.order_by(None).order_by(Zone.name, Zone.id)):
        valid = epochs >= zone.valid_from.timestamp()
        if zone.valid_to is not None:
            valid &= epochs < zone.valid_to.timestamp()
        candidates = free & valid
        if not candidates.any():
            continue
        area = zone.geometry
        shapely.prepare(area)
        inside = np.zeros(len(times), dtype=bool)
        inside[candidates] = shapely.intersects_xy(area, lons[candidates], lats[candidates])
        out[inside] = zone.name
        free &= ~inside
    return list(out)


def report(
    session: Session, principal: Principal, spatial: SpatialBackend, first: Month, last: Month
) -> Report:
    stmt = select(
        AccessConstraint.occurred_at,
        AccessConstraint.category,
        AccessConstraint.impact,
        AccessConstraint.delay_minutes,
        AccessConstraint.lon,
        AccessConstraint.lat,
    ).where(
        release_filter(AccessConstraint, principal.viewer),
        AccessConstraint.occurred_at >= first.start,
        AccessConstraint.occurred_at < last.plus(1).start,
    )
    rows = session.connection().execute(stmt).all()  # plain rows: no ORM on the way
    result = Report(first, last)
    if not rows:
        return result
    times = [r.occurred_at.astimezone(dt.UTC) for r in rows]
    lons = np.array([np.nan if r.lon is None else r.lon for r in rows], dtype=float)
    lats = np.array([np.nan if r.lat is None else r.lat for r in rows], dtype=float)
    areas = _areas(session, principal, spatial, times, lons, lats)
    # One pass into a few groups (month, category, area, delay?), then the three views.
    delayed = AccessImpact.DELAYED_AT_CHECKPOINT.value
    groups: dict[tuple[str, str, str, bool], list[int]] = {}
    for row, t, area in zip(rows, times, areas, strict=True):
        key = (f"{t.year:04d}-{t.month:02d}", row.category, area, row.impact == delayed)
        group = groups.get(key)
        if group is None:
            group = groups[key] = [0, 0]
        group[0] += 1
        group[1] += row.delay_minutes or 0
    for (month, category, area, delay), (count, minutes) in groups.items():
        for figures in (
            result.by_category.setdefault((month, AccessCategory(category)), Figures()),
            result.by_area.setdefault((month, area), Figures()),
            result.total,
        ):
            figures.count += count
            if delay:
                figures.delays += count
                figures.delay_minutes += minutes
    return result


def public(result: Report) -> AccessReportPublic:
    return AccessReportPublic(
        from_month=str(result.first),
        to_month=str(result.last),
        months=result.months,
        total=result.total.count,
        total_delay_minutes=result.total.delay_minutes,
        by_category=[
            CategoryRow(
                month=m,
                category=c,
                label=ACCESS_CATEGORY_LABELS[c],
                count=f.count,
                delays=f.delays,
                delay_minutes=f.delay_minutes,
            )
            for m, c, f in result.category_rows()
        ],
        by_area=[
            AreaRow(month=m, area=a, count=f.count, delays=f.delays, delay_minutes=f.delay_minutes)
            for m, a, f in result.area_rows()
        ],
    )


# --- CSV and HXL ------------------------------------------------------------------------------

FIGURE_COLUMNS = (
    ("Access constraints", "#indicator+constraints+num"),
    ("Delays at checkpoints", "#indicator+delays+num"),
    ("Delay (minutes)", "#indicator+delay+minutes+num"),
)
CATEGORY_COLUMNS = (
    ("Month", "#date+month"),
    ("Category code", "#access+category+code"),
    ("Category", "#access+category+name"),
    *FIGURE_COLUMNS,
)
AREA_COLUMNS = (("Month", "#date+month"), ("Governorate", "#adm1+name"), *FIGURE_COLUMNS)


def table_lines(result: Report, by: By, *, hxl: bool) -> Iterator[str]:
    """The report by category or by area as CSV text: a header row, the HXL hashtag row when
    `hxl`, then one row per month and category (or area) that has a constraint."""
    columns = CATEGORY_COLUMNS if by == "category" else AREA_COLUMNS
    head = [[name for name, _ in columns]]
    if hxl:
        head.append([tag for _, tag in columns])
    yield csv_text(head)
    rows: list[list[object]] = []
    if by == "category":
        for month, category, f in result.category_rows():
            label = ACCESS_CATEGORY_LABELS[category]
            rows.append([month, category.value, label, f.count, f.delays, f.delay_minutes])
    else:
        for month, area, f in result.area_rows():
            rows.append([month, spreadsheet_safe(area), f.count, f.delays, f.delay_minutes])
    yield csv_text(rows)
