"""Unit reports: the daily PERSTAT and LOGSTAT, their roll-ups by sector and by nation, and
the alerts when a report is overdue or a supply falls below its threshold."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import visible
from cmcc.access.service import resolve_marking
from cmcc.command.domain import ReportKind, Supply, UnitKind, supplies_below
from cmcc.command.models import AreaAssignment, Unit, UnitReport
from cmcc.command.orbat import SYSTEM_VIEWER, current_version, units_as_of, valid_at
from cmcc.command.schemas import ReportCreate
from cmcc.core.clock import utcnow
from cmcc.core.errors import Forbidden, InvalidInput
from cmcc.core.events import EventBus
from cmcc.core.releasability import Viewer
from cmcc.core.uow import after_commit
from cmcc.incidents.models import Alert
from cmcc.zones.models import Zone

SUPPLY_LOW = "supply_low"
REPORT_OVERDUE = "report_overdue"


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC)


def file_report(
    session: Session,
    principal: Principal,
    data: ReportCreate,
    *,
    min_days: float = 3.0,
    bus: EventBus | None = None,
) -> UnitReport:
    """File (or correct: the same unit, date and kind replace the figures, the audit log keeps
    the old ones) a unit's daily report. A LOGSTAT below `min_days` of a supply raises an
    alert."""
    require(principal, Permission.NATIONAL_COMMAND, Permission.WRITE_ORBAT)
    unit = current_version(session, principal.viewer, data.unit, end_of(data.report_date))
    if unit is None:
        raise InvalidInput.field(
            "body.unit", f"no unit {data.unit} you may see on {data.report_date}"
        )
    if (
        not principal.can(Permission.WRITE_ORBAT)
        and not principal.system
        and principal.org_id != unit.owner_org_id
    ):
        raise Forbidden("only the unit's contributing nation files its reports")
    if data.report_date > utcnow().date():
        raise InvalidInput.field("body.report_date", "is in the future")
    report = session.scalars(
        select(UnitReport).where(
            UnitReport.unit_lineage == data.unit,
            UnitReport.report_date == data.report_date,
            UnitReport.kind == data.kind.value,
        )
    ).first()
    if report is None:
        report = UnitReport(
            unit_lineage=data.unit,
            report_date=data.report_date,
            kind=data.kind.value,
            owner_org_id=unit.owner_org_id,
        )
        session.add(report)
    report.figures = data.figures()
    report.remarks = data.remarks
    report.submitted_by = principal.actor
    report.marking = (
        resolve_marking(session, data.releasability)
        if data.releasability is not None
        else unit.marking
    )
    session.flush()
    if data.kind is ReportKind.LOGSTAT:
        low = supplies_below(report.figures.get("days_of_supply", {}), min_days)
        if low:
            days = report.figures["days_of_supply"]
            listed = ", ".join(f"{s} {days[s]:g} days" for s in low)
            _alert(
                session,
                SUPPLY_LOW,
                unit,
                f"{unit.name}: supply below {min_days:g} days on {data.report_date} ({listed})",
                report_id=report.id,
                bus=bus,
            )
    return report


def _alert(
    session: Session,
    kind: str,
    unit: Unit,
    message: str,
    *,
    report_id: int | None = None,
    bus: EventBus | None = None,
) -> Alert | None:
    """One open alert per unit, kind and message (filing twice does not raise it twice)."""
    exists_ = session.scalar(
        select(func.count()).where(
            Alert.kind == kind,
            Alert.unit_id == unit.id,
            Alert.message == message,
        )
    )
    if exists_:
        return None
    alert = Alert(
        kind=kind,
        unit_id=unit.id,
        report_id=report_id,
        message=message,
        raised_at=utcnow(),
        owner_org_id=unit.owner_org_id,
    )
    session.add(alert)
    session.flush()
    if bus is not None:
        event = {"type": "alert", "id": alert.id}
        after_commit(session, lambda: bus.publish(event))
    return alert


def reporting_units(session: Session, on: dt.date) -> list[Unit]:
    """The units that owe daily reports on `on`: units (not headquarters or contingents) with an
    authorized strength, in the ORBAT that day, after their transfer of authority."""
    units = units_as_of(session, SYSTEM_VIEWER, end_of(on))
    return [
        u
        for u in units
        if u.kind == UnitKind.UNIT.value
        and u.strength_authorized > 0
        and (u.transfer_of_authority is None or u.transfer_of_authority <= on)
    ]


def raise_overdue_alerts(session: Session, on: dt.date, bus: EventBus | None = None) -> list[Alert]:
    """An alert for each unit with no PERSTAT or no LOGSTAT for `on` (run after the day's
    reporting deadline, by the report cycle)."""
    filed: dict[int, set[str]] = defaultdict(set)
    for lineage, kind in session.execute(
        select(UnitReport.unit_lineage, UnitReport.kind).where(UnitReport.report_date == on)
    ):
        filed[lineage].add(kind)
    raised = []
    for unit in reporting_units(session, on):
        missing = [k.value.upper() for k in ReportKind if k.value not in filed[unit.lineage_id]]
        if missing:
            text = f"{unit.name}: {' and '.join(missing)} for {on} overdue"
            alert = _alert(session, REPORT_OVERDUE, unit, text, bus=bus)
            if alert is not None:
                raised.append(alert)
    return raised


@dataclass
class Rollup:
    key: str
    units: int = 0
    reported: int = 0
    present: int = 0
    on_leave: int = 0
    casualties: dict[str, int] = field(default_factory=dict)
    lowest_days_of_supply: dict[str, float] = field(default_factory=dict)
    overdue: int = 0


UNASSIGNED = "no sector"


def _sectors(
    session: Session, viewer: Viewer, units: list[Unit], at: dt.datetime
) -> dict[int, str]:
    """Each unit's sector name as the viewer may see it: its own area, else its nearest
    visible headquarters' assigned area; UNASSIGNED when none is visible."""
    names = visible(Zone, viewer, valid_at(Zone, at)).with_only_columns(
        func.coalesce(Zone.lineage, Zone.id), Zone.name
    )
    zone_names: dict[int, str] = {lin: name for lin, name in session.execute(names)}  # noqa: C416
    assigned: dict[int, int] = {}
    for hq, zone in session.execute(
        visible(AreaAssignment, viewer, valid_at(AreaAssignment, at)).with_only_columns(
            AreaAssignment.hq_lineage, AreaAssignment.zone_lineage
        )
    ):
        assigned.setdefault(hq, zone)
    by_lineage = {u.lineage_id: u for u in units}
    out: dict[int, str] = {}
    for unit in units:
        name, hops = UNASSIGNED, 0
        current: Unit | None = unit
        while current is not None and hops < 50:
            zone_lin: int | None = current.area_zone_lineage or assigned.get(current.lineage_id)
            if zone_lin is not None and zone_lin in zone_names:
                name = zone_names[zone_lin]
                break
            current = by_lineage.get(current.parent_lineage or -1)
            hops += 1
        out[unit.lineage_id] = name
    return out


def rollup(session: Session, viewer: Viewer, on: dt.date, by: str = "nation") -> list[Rollup]:
    """The day's PERSTAT and LOGSTAT summed by nation or by sector, over the units and
    reports the viewer may see."""
    if by not in ("nation", "sector"):
        raise InvalidInput.field("query.by", "must be nation or sector")
    at = end_of(on)
    everyone = units_as_of(session, viewer, at)
    units = [u for u in everyone if u.kind == UnitKind.UNIT.value]
    keys = (
        _sectors(session, viewer, everyone, at)
        if by == "sector"
        else {u.lineage_id: u.nation or "multinational" for u in units}
    )
    reports: dict[int, dict[str, UnitReport]] = defaultdict(dict)
    for r in session.scalars(report_statement(viewer, day=on)):
        reports[r.unit_lineage][r.kind] = r
    rows: dict[str, Rollup] = {}
    for unit in units:
        row = rows.setdefault(keys[unit.lineage_id], Rollup(keys[unit.lineage_id]))
        row.units += 1
        filed = reports.get(unit.lineage_id, {})
        per = filed.get(ReportKind.PERSTAT.value)
        if per is not None:
            row.reported += 1
            row.present += int(per.figures.get("present", 0))
            row.on_leave += int(per.figures.get("on_leave", 0))
            for cat, n in (per.figures.get("casualties") or {}).items():
                row.casualties[cat] = row.casualties.get(cat, 0) + int(n)
        elif unit.strength_authorized > 0:
            row.overdue += 1
        log = filed.get(ReportKind.LOGSTAT.value)
        if log is not None:
            for s in Supply:
                days = (log.figures.get("days_of_supply") or {}).get(s.value)
                if days is not None:
                    low = row.lowest_days_of_supply.get(s.value)
                    row.lowest_days_of_supply[s.value] = days if low is None else min(low, days)
    return sorted(rows.values(), key=lambda r: r.key)


def report_statement(
    viewer: Viewer,
    *,
    unit: int | None = None,
    day: dt.date | None = None,
    kind: ReportKind | None = None,
) -> Select[UnitReport]:
    stmt = visible(UnitReport, viewer)
    if unit is not None:
        stmt = stmt.where(UnitReport.unit_lineage == unit)
    if day is not None:
        stmt = stmt.where(UnitReport.report_date == day)
    if kind is not None:
        stmt = stmt.where(UnitReport.kind == kind.value)
    return stmt.order_by(UnitReport.report_date.desc(), UnitReport.id.desc())
