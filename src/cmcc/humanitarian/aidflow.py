"""Aid flow through the crossings: daily figures of trucks per crossing and cargo category
(each with its source; one figure per crossing, day and category, written over when it is
given again), the centre's targets of trucks per day, and the dashboard of actual against
target.

A target has a scope: one crossing or all, one cargo category or all. It is in force from
`starts_on` until the next target of the same scope. The dashboard compares a scope's figures
with the targets of exactly that scope: the whole flow with the all-crossings, all-categories
target; one crossing's row with that crossing's own target; and so on.

The dashboard is computed in SQL (GROUP BY) over the entries the caller may see, the release
filter inside each aggregate: a figure hidden from the caller is in no total of theirs."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.access.policy import get_visible, release_filter, visible
from cmcc.access.service import resolve_marking
from cmcc.core.errors import Conflict, InvalidInput
from cmcc.core.releasability import Marking, Viewer
from cmcc.humanitarian.aidflow_schemas import AidFlowEntryIn, AidFlowTargetCreate
from cmcc.humanitarian.crossings import coordinator, referenced_crossing
from cmcc.humanitarian.domain import CargoCategory
from cmcc.humanitarian.models import AidFlowEntry, AidFlowTarget

MAX_DAYS = 3700  # about ten years: the longest dashboard period
AVERAGE_DAYS = 7
NOT_RELEASED = "a crossing not released to you"


# ---- entries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One figure to write: trucks of a category through a crossing on a day."""

    crossing_id: int
    day: dt.date
    cargo_category: str
    trucks: int
    source: str
    illustrative: bool = False

    @property
    def key(self) -> tuple[int, dt.date, str]:
        return (self.crossing_id, self.day, self.cargo_category)


def stored_entries(
    session: Session, figures: Sequence[Figure]
) -> dict[tuple[int, dt.date, str], AidFlowEntry]:
    """The entries stored for the figures' crossings, days and categories, whoever may see
    them (one query over the figures' crossings and period)."""
    if not figures:
        return {}
    stmt = select(AidFlowEntry).where(
        AidFlowEntry.crossing_id.in_({f.crossing_id for f in figures}),
        AidFlowEntry.day >= min(f.day for f in figures),
        AidFlowEntry.day <= max(f.day for f in figures),
    )
    wanted = {f.key for f in figures}
    found = {}
    for entry in session.scalars(stmt):
        key = (entry.crossing_id, entry.day, entry.cargo_category)
        if key in wanted:
            found[key] = entry
    return found


def hidden_ids(session: Session, viewer: Viewer, entries: Iterable[AidFlowEntry]) -> set[int]:
    """The ids of these entries that the viewer may not see."""
    ids = {e.id for e in entries}
    if not ids or viewer.sees_all:
        return set()
    in_ids = AidFlowEntry.id.in_(ids)
    stmt = select(AidFlowEntry.id).where(in_ids, release_filter(AidFlowEntry, viewer))
    seen = set(session.scalars(stmt))
    return ids - seen


def put(
    session: Session, owner: int, figure: Figure, marking: Marking, stored: AidFlowEntry | None
) -> tuple[AidFlowEntry, str]:
    """Write one figure: a new entry, or the stored one updated. ("created" | "updated" |
    "unchanged")."""
    if stored is None:
        entry = AidFlowEntry(
            crossing_id=figure.crossing_id,
            day=figure.day,
            cargo_category=figure.cargo_category,
            trucks=figure.trucks,
            source=figure.source,
            illustrative=figure.illustrative,
            owner_org_id=owner,
        )
        entry.marking = marking
        session.add(entry)
        return entry, "created"
    before = (stored.trucks, stored.source, stored.illustrative, stored.marking)
    if before == (figure.trucks, figure.source, figure.illustrative, marking):
        return stored, "unchanged"
    stored.trucks = figure.trucks
    stored.source = figure.source
    stored.illustrative = figure.illustrative
    if stored.marking != marking:
        stored.marking = marking
    return stored, "updated"


def hidden_figure(code: str, day: dt.date, category: str) -> str:
    """Why a figure cannot be written over: the stored one is not released to the writer."""
    return (
        f"a figure for {code}, {day.isoformat()}, {category} is recorded and not released to "
        "you; ask its owner to correct it"
    )


def write_figures(
    session: Session,
    principal: Principal,
    figures: Sequence[Figure],
    marking: Marking,
    stored: dict[tuple[int, dt.date, str], AidFlowEntry] | None = None,
) -> dict[str, int]:
    """Write many figures (over the stored ones of the same crossing, day and category):
    how many were created, updated and unchanged. A stored figure the writer may not see
    refuses the whole batch. `stored`: the stored entries, when the caller read them already."""
    owner = coordinator(principal)
    if stored is None:
        stored = stored_entries(session, figures)
    hidden = hidden_ids(session, principal.viewer, stored.values())
    for figure in figures:
        entry = stored.get(figure.key)
        if entry is not None and entry.id in hidden:
            raise InvalidInput.field(
                "figures",
                hidden_figure(f"crossing {figure.crossing_id}", figure.day, figure.cargo_category),
            )
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for figure in figures:
        _, outcome = put(session, owner, figure, marking, stored.get(figure.key))
        counts[outcome] += 1
    session.flush()
    return counts


def record_entry(
    session: Session, principal: Principal, data: AidFlowEntryIn
) -> tuple[AidFlowEntry, str]:
    """Write the figure of a crossing, day and category (over the stored one, if any)."""
    owner = coordinator(principal)
    crossing = referenced_crossing(session, principal.viewer, data.crossing_id, "body.crossing_id")
    figure = Figure(
        crossing.id,
        data.day,
        data.cargo_category.value,
        data.trucks,
        data.source,
        data.illustrative,
    )
    stored = stored_entries(session, [figure]).get(figure.key)
    if stored is not None and hidden_ids(session, principal.viewer, [stored]):
        raise InvalidInput.field(
            "body.day", hidden_figure(crossing.code, data.day, figure.cargo_category)
        )
    entry, outcome = put(
        session, owner, figure, resolve_marking(session, data.releasability), stored
    )
    session.flush()
    return entry, outcome


def get_entry(session: Session, principal: Principal, entry_id: int) -> AidFlowEntry:
    return get_visible(session, AidFlowEntry, entry_id, principal.viewer)


def entry_statement(
    viewer: Viewer,
    *,
    crossing_id: int | None = None,
    cargo_category: CargoCategory | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Select[AidFlowEntry]:
    stmt = visible(AidFlowEntry, viewer)
    if crossing_id is not None:
        stmt = stmt.where(AidFlowEntry.crossing_id == crossing_id)
    if cargo_category is not None:
        stmt = stmt.where(AidFlowEntry.cargo_category == cargo_category.value)
    if start is not None:
        stmt = stmt.where(AidFlowEntry.day >= start)
    if end is not None:
        stmt = stmt.where(AidFlowEntry.day <= end)
    return stmt


# ---- targets --------------------------------------------------------------------------------


def create_target(
    session: Session, principal: Principal, data: AidFlowTargetCreate
) -> AidFlowTarget:
    owner = coordinator(principal)
    if data.crossing_id is not None:
        referenced_crossing(session, principal.viewer, data.crossing_id, "body.crossing_id")
    category = data.cargo_category.value if data.cargo_category is not None else None
    same = select(AidFlowTarget.id).where(
        _scope(data.crossing_id, category), AidFlowTarget.starts_on == data.starts_on
    )
    if session.scalar(same) is not None:
        raise Conflict(
            f"a target of this scope starts on {data.starts_on.isoformat()} already; "
            "give the new target its own first day",
            [],
        )
    target = AidFlowTarget(
        crossing_id=data.crossing_id,
        cargo_category=category,
        trucks_per_day=data.trucks_per_day,
        starts_on=data.starts_on,
        source=data.source,
        owner_org_id=owner,
    )
    target.marking = resolve_marking(session, data.releasability)
    session.add(target)
    session.flush()
    return target


def _scope(crossing_id: int | None, category: str | None) -> Any:
    c = (
        AidFlowTarget.crossing_id.is_(None)
        if crossing_id is None
        else AidFlowTarget.crossing_id == crossing_id
    )
    k = (
        AidFlowTarget.cargo_category.is_(None)
        if category is None
        else AidFlowTarget.cargo_category == category
    )
    return c & k


def get_target(session: Session, principal: Principal, target_id: int) -> AidFlowTarget:
    return get_visible(session, AidFlowTarget, target_id, principal.viewer)


def target_statement(
    viewer: Viewer, *, crossing_id: int | None = None, all_crossings: bool = False
) -> Select[AidFlowTarget]:
    stmt = visible(AidFlowTarget, viewer)
    if crossing_id is not None:
        stmt = stmt.where(AidFlowTarget.crossing_id == crossing_id)
    elif all_crossings:
        stmt = stmt.where(AidFlowTarget.crossing_id.is_(None))
    return stmt


Scope = tuple[int | None, str | None]


class Targets:
    """The targets the viewer may see, by scope, each in force until the next of its scope."""

    def __init__(self, rows: Iterable[tuple[int | None, str | None, dt.date, int]]) -> None:
        self.by_scope: dict[Scope, list[tuple[dt.date, int]]] = defaultdict(list)
        for crossing_id, category, starts_on, trucks in rows:
            self.by_scope[(crossing_id, category)].append((starts_on, trucks))
        for steps in self.by_scope.values():
            steps.sort()

    def on(self, scope: Scope, day: dt.date) -> int | None:
        value = None
        for starts_on, trucks in self.by_scope.get(scope, ()):
            if starts_on > day:
                break
            value = trucks
        return value

    def daily(self, scope: Scope, days: Sequence[dt.date]) -> list[int | None]:
        """The target in force on each of the (consecutive, ascending) days."""
        steps = self.by_scope.get(scope, [])
        out: list[int | None] = []
        i, value = 0, None
        for day in days:
            while i < len(steps) and steps[i][0] <= day:
                value = steps[i][1]
                i += 1
            out.append(value)
        return out

    def total(self, scope: Scope, start: dt.date, end: dt.date) -> int | None:
        """The targets in force on the days of [start, end], summed (None: no day has one)."""
        steps = self.by_scope.get(scope, [])
        total, any_day = 0, False
        for i, (starts_on, trucks) in enumerate(steps):
            until = steps[i + 1][0] if i + 1 < len(steps) else end + dt.timedelta(days=1)
            first, last = max(starts_on, start), min(until - dt.timedelta(days=1), end)
            if first <= last:
                total += trucks * ((last - first).days + 1)
                any_day = True
        return total if any_day else None


def visible_targets(session: Session, viewer: Viewer, end: dt.date) -> Targets:
    stmt = select(
        AidFlowTarget.crossing_id,
        AidFlowTarget.cargo_category,
        AidFlowTarget.starts_on,
        AidFlowTarget.trucks_per_day,
    ).where(release_filter(AidFlowTarget, viewer), AidFlowTarget.starts_on <= end)
    return Targets(session.execute(stmt).all())
