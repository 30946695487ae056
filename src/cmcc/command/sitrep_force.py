"""The SITREP's force picture: laydown and strength (present / assigned / authorized) by nation
and by sector against the force targets, and the roll-up of the day's unit reports.

Only unit versions the reader may see count, as they stood at the end of the day; a unit's
sector is its own area, else its headquarters' assigned area, else its parent's (only through
parents the reader may see)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmcc.access.policy import release_filter
from cmcc.command import reports
from cmcc.command.domain import ReportKind, Supply
from cmcc.command.models import AreaAssignment, Unit, UnitReport, unit_lineage_col
from cmcc.command.orbat import orbat_statement, valid_at
from cmcc.core.releasability import Viewer
from cmcc.forces.models import ForceTarget
from cmcc.zones.models import Zone

NO_SECTOR = "no sector"
MULTINATIONAL = "multinational"
LOW_SUPPLY_DAYS = 3.0  # the default of CMCC_LOGSTAT_MIN_DAYS: fewer days of a supply are low


@dataclass(frozen=True)
class UnitRow:
    lineage: int
    parent: int | None
    name: str
    short_name: str
    nation: str
    kind: str
    echelon: str
    sidc: str
    authorized: int
    assigned: int
    present: int
    lon: float | None
    lat: float | None
    area: int | None


@dataclass
class UnitsOnDay:
    """The unit versions valid at one moment that the reader may see, by lineage."""

    at: dt.datetime
    units: dict[int, UnitRow]

    @classmethod
    def load(cls, session: Session, viewer: Viewer, at: dt.datetime) -> UnitsOnDay:
        moment = at - dt.timedelta(microseconds=1)  # the last instant of the day
        stmt = orbat_statement(viewer, moment).with_only_columns(
            unit_lineage_col(Unit),
            Unit.parent_lineage,
            Unit.name,
            Unit.short_name,
            Unit.nation,
            Unit.kind,
            Unit.echelon,
            Unit.sidc,
            Unit.strength_authorized,
            Unit.strength_assigned,
            Unit.strength_present,
            Unit.lon,
            Unit.lat,
            Unit.area_zone_lineage,
        )
        return cls(at, {row[0]: UnitRow(*row) for row in session.execute(stmt)})  # type: ignore[call-arg]

    def name(self, lineage: int) -> str:
        unit = self.units.get(lineage)
        return unit.name if unit else f"unit {lineage}"

    def sectors(self, session: Session, viewer: Viewer) -> dict[int, str]:
        """Each unit's sector name (own area, its headquarters' assignment, or inherited)."""
        moment = self.at - dt.timedelta(microseconds=1)
        assigned: dict[int, int] = {}
        stmt = select(AreaAssignment.hq_lineage, AreaAssignment.zone_lineage).where(
            release_filter(AreaAssignment, viewer), valid_at(AreaAssignment, moment)
        )
        for hq, zone in session.execute(stmt.order_by(AreaAssignment.valid_from)):
            assigned.setdefault(hq, zone)
        zones = zone_names(session, viewer, moment)
        resolved: dict[int, str] = {}

        def sector(lineage: int, depth: int = 0) -> str:
            if lineage in resolved:
                return resolved[lineage]
            unit = self.units[lineage]
            area = unit.area if unit.area is not None else assigned.get(lineage)
            if area is not None and area in zones:
                name = zones[area]
            elif unit.parent in self.units and depth < 64:
                name = sector(unit.parent, depth + 1)
            else:
                name = NO_SECTOR
            resolved[lineage] = name
            return name

        return {lineage: sector(lineage) for lineage in self.units}


def zone_names(session: Session, viewer: Viewer, moment: dt.datetime) -> dict[int, str]:
    """Zone lineage -> name, of the zone versions the reader may see at `moment`."""
    stmt = select(func.coalesce(Zone.lineage, Zone.id), Zone.name).where(
        release_filter(Zone, viewer), valid_at(Zone, moment)
    )
    return {k: v for k, v in session.execute(stmt)}  # noqa: C416 - rows, not pairs


@dataclass
class Strength:
    units: int = 0
    authorized: int = 0
    assigned: int = 0
    present: int = 0

    def add(self, unit: UnitRow) -> None:
        self.units += 1
        self.authorized += unit.authorized
        self.assigned += unit.assigned
        self.present += unit.present


@dataclass(frozen=True)
class TargetRow:
    name: str
    strength: int
    due: dt.date
    present: int

    @property
    def shortfall(self) -> int:
        return max(0, self.strength - self.present)


@dataclass
class ReportRollup:
    """The day's PERSTAT and LOGSTAT, summed (personnel) or at their lowest (supplies)."""

    perstat: int = 0
    logstat: int = 0
    present: int = 0
    on_leave: int = 0
    casualties: dict[str, int] = field(default_factory=dict)
    lowest_days: dict[str, float] = field(default_factory=dict)
    low_supply_units: list[tuple[str, str, float]] = field(default_factory=list)  # nation
    by_nation: dict[str, dict[str, int]] = field(default_factory=dict)
    units_due: int = 0  # units (kind unit) the reader may see
    units_reported: int = 0  # of which filed a PERSTAT for the day


@dataclass
class ForceSection:
    total: Strength
    by_nation: dict[str, Strength]
    by_sector: dict[str, Strength]
    targets: list[TargetRow]
    laydown: list[tuple[float, float, str, str]]  # lon, lat, short name, SIDC
    reports: ReportRollup


def force(
    session: Session,
    viewer: Viewer,
    day: dt.date,
    units: UnitsOnDay,
    low_days: float = LOW_SUPPLY_DAYS,
) -> ForceSection:
    total = Strength()
    by_nation: dict[str, Strength] = defaultdict(Strength)
    by_sector: dict[str, Strength] = defaultdict(Strength)
    sectors = units.sectors(session, viewer)
    laydown = []
    for lineage, unit in units.units.items():
        total.add(unit)
        by_nation[unit.nation or MULTINATIONAL].add(unit)
        by_sector[sectors[lineage]].add(unit)
        if unit.lon is not None and unit.lat is not None:
            laydown.append((unit.lon, unit.lat, unit.short_name or unit.name, unit.sidc))
    targets = [
        TargetRow(t.name, t.strength, t.due, total.present)
        for t in session.scalars(
            select(ForceTarget).where(release_filter(ForceTarget, viewer)).order_by(ForceTarget.due)
        )
    ]
    return ForceSection(
        total=total,
        by_nation=dict(sorted(by_nation.items())),
        by_sector=dict(sorted(by_sector.items())),
        targets=targets,
        laydown=laydown,
        reports=rollup(session, viewer, day, low_days),
    )


def rollup(
    session: Session, viewer: Viewer, day: dt.date, low_days: float = LOW_SUPPLY_DAYS
) -> ReportRollup:
    """The day's unit reports the reader may see, from `cmcc.command.reports.rollup` (by
    nation), summed over the nations; LOGSTATs counted through the release policy."""
    out = ReportRollup()
    lowest: dict[str, float] = {}
    for row in reports.rollup(session, viewer, day, "nation"):
        out.perstat += row.reported
        out.units_due += row.units
        out.units_reported += row.reported
        out.present += row.present
        out.on_leave += row.on_leave
        for category, n in row.casualties.items():
            out.casualties[category] = out.casualties.get(category, 0) + n
        for supply, days in row.lowest_days_of_supply.items():
            lowest[supply] = min(days, lowest.get(supply, days))
            if days < low_days:
                out.low_supply_units.append((row.key, supply, days))
        out.by_nation[row.key] = {
            "present": row.present,
            "on_leave": row.on_leave,
            "casualties": sum(row.casualties.values()),
        }
    out.lowest_days = {s.value: lowest[s.value] for s in Supply if s.value in lowest}
    logstat = select(func.count(UnitReport.id)).where(
        release_filter(UnitReport, viewer),
        UnitReport.report_date == day,
        UnitReport.kind == ReportKind.LOGSTAT.value,
    )
    out.logstat = int(session.scalar(logstat) or 0)
    return out
