"""The daily situation report (SITREP): what one organization may see of one day, gathered
through the release policy.

Every query below carries `release_filter` for the reader's viewer (`viewer_of`: the
organization the report is for), so the report for one nation never counts, names or sums a
record released only to another. Tips are counted, never described: no text, place or claim
detail leaves the tips' table. The period is the UTC day [00:00, 24:00).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.access.policy import release_filter
from cmcc.access.service import org_by_code
from cmcc.command import sitrep_force
from cmcc.command.domain import TaskStatus
from cmcc.command.models import UnitTask
from cmcc.command.sitrep_force import LOW_SUPPLY_DAYS, ForceSection, UnitsOnDay
from cmcc.core.releasability import Viewer
from cmcc.funding.models import Flow
from cmcc.hazards.models import EOAccident, EOSpotReport, HazardArea, LandReleaseActivity
from cmcc.incidents.models import Alert, Incident
from cmcc.incidents.readout import Chunk
from cmcc.remains.models import Recovery, SearchTask, SearchTaskStep
from cmcc.tips.models import Tip

LISTED = 25  # the most records of one kind a report lists by name (the rest are counted)


@dataclass(frozen=True)
class Period:
    day: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(), tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(days=1)


def yesterday(now: dt.datetime | None = None) -> dt.date:
    """The default report date: the UTC day before `now`."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date() - dt.timedelta(days=1)


def viewer_of(session: Session, org_code: str) -> tuple[Viewer, Organization]:
    """The viewer of the organization a report is for (what it may see, nothing more)."""
    org = org_by_code(session, org_code)
    return Viewer(org.id, org.code, org.is_member), org


@dataclass
class IncidentSection:
    total: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_type_status: dict[tuple[str, str], int] = field(default_factory=dict)
    killed: int = 0
    injured: int = 0
    points: list[tuple[float, float]] = field(default_factory=list)
    notable: list[tuple[int, str, str, int]] = field(default_factory=list)  # id, type, status, sev


@dataclass
class AlertSection:
    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    listed: list[tuple[dt.datetime, str, str, str]] = field(default_factory=list)


@dataclass
class TaskSection:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    refusals: list[tuple[int, str, str, str]] = field(default_factory=list)  # id, title, unit, why


@dataclass
class RecoverySection:
    hazards_handed_over: int = 0
    released_cancelled_m2: int = 0
    released_reduced_m2: int = 0
    released_cleared_m2: int = 0
    land_release_activities: int = 0
    eo_spot_reports: int = 0
    eo_accidents: int = 0
    eo_accident_victims: int = 0
    search_steps: dict[str, int] = field(default_factory=dict)  # status reached in the period
    search_open: dict[str, int] = field(default_factory=dict)  # every visible task, by status
    recoveries: int = 0
    remains_found: int = 0
    remains_recovered: int = 0
    tips_received: int = 0  # counted only: nothing of a tip is ever shown


@dataclass
class FundingSection:
    by_status: dict[str, Decimal] = field(default_factory=dict)
    flows: list[tuple[str, str, Decimal]] = field(default_factory=list)  # donor, status, USD
    count: int = 0


@dataclass
class SitrepData:
    day: dt.date
    audience: str
    audience_name: str
    generated_at: dt.datetime
    incidents: IncidentSection
    alerts: AlertSection
    force: ForceSection
    tasks: TaskSection
    recovery: RecoverySection
    funding: FundingSection


def gather(
    session: Session,
    org_code: str,
    day: dt.date,
    *,
    now: dt.datetime | None = None,
    low_days: float = LOW_SUPPLY_DAYS,
) -> SitrepData:
    """The SITREP of `day` for the organization `org_code`."""
    viewer, org = viewer_of(session, org_code)
    return gather_for(session, viewer, org.code, org.name, day, now=now, low_days=low_days)


def gather_for(
    session: Session,
    viewer: Viewer,
    audience: str,
    audience_name: str,
    day: dt.date,
    *,
    now: dt.datetime | None = None,
    low_days: float = LOW_SUPPLY_DAYS,
) -> SitrepData:
    """The SITREP of `day` as `viewer` may see it; `low_days`: CMCC_LOGSTAT_MIN_DAYS."""
    period = Period(day)
    units = UnitsOnDay.load(session, viewer, period.end)
    return SitrepData(
        day=day,
        audience=audience,
        audience_name=audience_name,
        generated_at=now or dt.datetime.now(dt.UTC),
        incidents=incidents(session, viewer, period),
        alerts=alerts(session, viewer, period),
        force=sitrep_force.force(session, viewer, day, units, low_days),
        tasks=tasks(session, viewer, period, units),
        recovery=recovery(session, viewer, period),
        funding=funding(session, viewer, period),
    )


def _in(column: Any, period: Period) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = (column >= period.start) & (column < period.end)
    return condition


def incidents(session: Session, viewer: Viewer, period: Period) -> IncidentSection:
    out = IncidentSection()
    seen = release_filter(Incident, viewer)
    when = _in(Incident.occurred_at, period)
    grouped = (
        select(
            Incident.type,
            Incident.status,
            func.count(),
            func.sum(Incident.killed_civilian + Incident.killed_other),
            func.sum(Incident.injured_civilian + Incident.injured_other),
        )
        .where(seen, when)
        .group_by(Incident.type, Incident.status)
    )
    for kind, status, n, killed, injured in session.execute(grouped):
        out.by_type_status[(kind, status)] = n
        out.by_type[kind] = out.by_type.get(kind, 0) + n
        out.by_status[status] = out.by_status.get(status, 0) + n
        out.total += n
        out.killed += int(killed or 0)
        out.injured += int(injured or 0)
    rows = session.execute(select(Incident.geom_wkb).where(seen, when)).all()
    if rows:
        chunk = Chunk(rows)
        out.points = list(zip(chunk.xs, chunk.ys, strict=True))
    notable = (
        select(Incident.id, Incident.type, Incident.status, Incident.severity)
        .where(seen, when)
        .order_by(Incident.severity.desc(), Incident.occurred_at, Incident.id)
        .limit(LISTED)
    )
    out.notable = [tuple(r) for r in session.execute(notable)]  # type: ignore[misc]
    return out


def alerts(session: Session, viewer: Viewer, period: Period) -> AlertSection:
    out = AlertSection()
    seen = release_filter(Alert, viewer)
    when = _in(Alert.raised_at, period)
    for kind, n in session.execute(
        select(Alert.kind, func.count()).where(seen, when).group_by(Alert.kind)
    ):
        out.by_kind[kind] = n
        out.total += n
    listed = (
        select(Alert.raised_at, Alert.kind, Alert.status, Alert.message)
        .where(seen, when)
        .order_by(Alert.raised_at, Alert.id)
        .limit(LISTED)
    )
    out.listed = [tuple(r) for r in session.execute(listed)]  # type: ignore[misc]
    return out


def tasks(session: Session, viewer: Viewer, period: Period, units: UnitsOnDay) -> TaskSection:
    """Tasks whose window touches the day, or whose status changed on it; the national
    refusals among them with their reasons."""
    out = TaskSection()
    of_period = ((UnitTask.starts_at < period.end) & (UnitTask.ends_at >= period.start)) | _in(
        UnitTask.status_at, period
    )
    seen = release_filter(UnitTask, viewer)
    for status, n in session.execute(
        select(UnitTask.status, func.count()).where(seen, of_period).group_by(UnitTask.status)
    ):
        out.by_status[status] = n
        out.total += n
    refused = (
        select(UnitTask.id, UnitTask.title, UnitTask.unit_lineage, UnitTask.status_reason)
        .where(seen, of_period, UnitTask.status == TaskStatus.REFUSED_BY_NATION.value)
        .order_by(UnitTask.status_at, UnitTask.id)
    )
    for task_id, title, unit, reason in session.execute(refused):
        out.refusals.append((task_id, title, units.name(unit), reason))
    return out


def recovery(session: Session, viewer: Viewer, period: Period) -> RecoverySection:
    out = RecoverySection()
    out.hazards_handed_over = int(
        session.scalar(
            select(func.count()).where(
                release_filter(HazardArea, viewer), _in(HazardArea.handed_over_at, period)
            )
        )
        or 0
    )
    released = select(
        func.count(),
        func.sum(LandReleaseActivity.cancelled_m2),
        func.sum(LandReleaseActivity.reduced_m2),
        func.sum(LandReleaseActivity.cleared_m2),
    ).where(
        release_filter(LandReleaseActivity, viewer),
        LandReleaseActivity.end_date == period.day,
    )
    n, cancelled, reduced, cleared = session.execute(released).one()
    out.land_release_activities = int(n or 0)
    out.released_cancelled_m2 = int(cancelled or 0)
    out.released_reduced_m2 = int(reduced or 0)
    out.released_cleared_m2 = int(cleared or 0)
    out.eo_spot_reports = _count(session, EOSpotReport, viewer, _in(EOSpotReport.found_at, period))
    accidents = select(func.count(), func.sum(EOAccident.killed + EOAccident.injured)).where(
        release_filter(EOAccident, viewer), _in(EOAccident.occurred_at, period)
    )
    n, victims = session.execute(accidents).one()
    out.eo_accidents, out.eo_accident_victims = int(n or 0), int(victims or 0)
    steps = (
        select(SearchTaskStep.to_status, func.count())
        .join(SearchTask, SearchTask.id == SearchTaskStep.task_id)
        .where(release_filter(SearchTask, viewer), _in(SearchTaskStep.created_at, period))
        .group_by(SearchTaskStep.to_status)
    )
    out.search_steps = {k: v for k, v in session.execute(steps)}  # noqa: C416 - rows, not pairs
    current = (
        select(SearchTask.status, func.count())
        .where(release_filter(SearchTask, viewer), SearchTask.created_at < period.end)
        .group_by(SearchTask.status)
    )
    out.search_open = {k: v for k, v in session.execute(current)}  # noqa: C416 - rows, not pairs
    found = select(
        func.count(), func.sum(Recovery.remains_found), func.sum(Recovery.remains_recovered)
    ).where(release_filter(Recovery, viewer), _in(Recovery.recovered_at, period))
    n, remains_found, remains_recovered = session.execute(found).one()
    out.recoveries = int(n or 0)
    out.remains_found, out.remains_recovered = int(remains_found or 0), int(remains_recovered or 0)
    # Tips: one number. No column of the tip but its id is read.
    out.tips_received = _count(session, Tip, viewer, _in(Tip.created_at, period))
    return out


def _count(session: Session, model: Any, viewer: Viewer, *where: ColumnElement[bool]) -> int:
    stmt = select(func.count(model.id)).where(release_filter(model, viewer), *where)
    return int(session.scalar(stmt) or 0)


def funding(session: Session, viewer: Viewer, period: Period) -> FundingSection:
    """Current funding flows dated on the day (pledges, commitments, payments), by donor."""
    out = FundingSection()
    stmt = (
        select(Organization.code, Flow.status, Flow.amount_usd)
        .join(Organization, Organization.id == Flow.donor_org_id)
        .where(
            release_filter(Flow, viewer),
            Flow.is_current.is_(True),
            Flow.flow_date == period.day,
        )
        .order_by(Organization.code, Flow.status, Flow.id)
    )
    for donor, status, usd in session.execute(stmt):
        out.count += 1
        out.by_status[status] = out.by_status.get(status, Decimal("0.00")) + usd
        if len(out.flows) < LISTED:
            out.flows.append((donor, status, usd))
    return out
