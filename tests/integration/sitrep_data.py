"""Records of one day for the SITREP tests: for each of two nations (IDN, AZE) incidents,
a unit, a refused task, a PERSTAT and tips, each marked owner (released to its nation only),
plus one mission-wide incident both see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import shapely

from cmcc.access.domain import Principal
from cmcc.access.service import org_by_code
from cmcc.bootstrap import Platform
from cmcc.command.models import Unit, UnitReport, UnitTask
from cmcc.core.releasability import Marking, MarkingKind
from cmcc.incidents.models import Incident
from cmcc.tips.models import Tip

OWNER = Marking(MarkingKind.OWNER)


@dataclass(frozen=True)
class Nation:
    code: str
    unit: str  # the unit's name (must not appear in the other nation's report)
    present: int
    incidents: int
    task: str
    reason: str
    tips: int
    incident_type: str


A = Nation(
    "IDN",
    "Garuda Alpha Battalion",
    701,
    3,
    "Escort Alpha convoy",
    "Alpha red card",
    2,
    "ceasefire_violation_fire",
)
B = Nation(
    "AZE",
    "Caspian Bravo Battalion",
    4321,
    5,
    "Bravo patrol north",
    "Bravo red card",
    1,
    "violence_against_civilians",
)
TIP_TEXT = "Remains under the blue gate, ask for Samir"
TIP_PLACE = "Beside the bakery on Omar Mukhtar street"


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _incident(org_id: int, kind: str, when: dt.datetime, marking: Marking, lon: float) -> Incident:
    inc = Incident(
        type=kind,
        occurred_at=when,
        reported_at=when,
        severity=3,
        killed_civilian=1,
        status="verified",
        owner_org_id=org_id,
    )
    inc.marking = marking
    inc.geometry = shapely.Point(lon, 31.45)
    return inc


def seed(platform: Platform, day: dt.date) -> None:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        cmcc = org_by_code(s, "CMCC")
        shared = _incident(cmcc.id, "demonstration", at(day, 9), Marking(MarkingKind.MISSION), 34.4)
        s.add(shared)
        for n, nation in enumerate((A, B)):
            org = org_by_code(s, nation.code)
            for i in range(nation.incidents):
                s.add(_incident(org.id, nation.incident_type, at(day, 8 + i), OWNER, 34.3 + n / 10))
            s.add(
                _incident(
                    org.id, nation.incident_type, at(day, 8) - dt.timedelta(days=1), OWNER, 34.3
                )
            )  # the day before: not in the period
            unit = Unit(
                name=nation.unit,
                short_name=nation.unit.split()[1],
                nation=nation.code,
                kind="unit",
                echelon="battalion",
                sidc="SFGPUCI----F---",
                strength_authorized=nation.present + 100,
                strength_assigned=nation.present + 50,
                strength_present=nation.present,
                lon=34.35 + n / 20,
                lat=31.4,
                valid_from=at(day, 0) - dt.timedelta(days=30),
                owner_org_id=org.id,
            )
            unit.marking = OWNER
            s.add(unit)
            s.flush()
            task = UnitTask(
                title=nation.task,
                task="patrol",
                unit_lineage=unit.id,
                issuer_lineage=unit.id,
                starts_at=at(day, 10),
                ends_at=at(day, 18),
                status="refused_by_nation",
                status_reason=nation.reason,
                status_at=at(day, 11),
                issued_by="staff",
                owner_org_id=org.id,
            )
            task.marking = OWNER
            report = UnitReport(
                unit_lineage=unit.id,
                report_date=day,
                kind="perstat",
                figures={
                    "present": nation.present - 2,
                    "on_leave": 7,
                    "casualties": {"wounded": 1},
                },
                submitted_by="lo",
                owner_org_id=org.id,
            )
            report.marking = OWNER
            s.add_all([task, report])
            for t in range(nation.tips):
                tip = Tip(
                    locator=f"{nation.code}{t:05d}",
                    claim_hash="x",
                    text=TIP_TEXT,
                    place=TIP_PLACE,
                    created_at=at(day, 12),
                    owner_org_id=org.id,
                )
                tip.marking = OWNER
                s.add(tip)
