"""The force's vocabulary and the pure rules of command and control: echelons, command
relationships and their agreement, task statuses, the acceptance checks of a task, and the
thresholds of unit reports (domain.md: ORBAT, OPCON/TACON, PERSTAT/LOGSTAT, red card)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cmcc.forces.domain import Caveats, ReadinessLevel, Task, caveats_permit


class Echelon(StrEnum):
    """APP-6 / MIL-STD-2525 echelons, team to corps (with their amplifier code in a SIDC)."""

    TEAM = "team"
    SQUAD = "squad"
    SECTION = "section"
    PLATOON = "platoon"
    COMPANY = "company"
    BATTALION = "battalion"
    REGIMENT = "regiment"
    BRIGADE = "brigade"
    DIVISION = "division"
    CORPS = "corps"


ECHELON_ORDER = tuple(Echelon)
# MIL-STD-2525C (15-character SIDC) echelon amplifier, position 12.
ECHELON_2525C = dict(zip(ECHELON_ORDER, "ABCDEFGHIJ", strict=True))


class UnitKind(StrEnum):
    HEADQUARTERS = "headquarters"  # force HQ, the CMCC, sector or task-force HQ: may task
    CONTINGENT = "contingent"  # a nation's contingent (national command)
    UNIT = "unit"  # units and sub-units


# MIL-STD-2525C function IDs by capability (friendly, ground, unit): what milsymbol draws.
CAPABILITY_FUNCTION: dict[str, str] = {
    "infantry_battalion": "UCI---",
    "engineers": "UCE---",
    "explosive_ordnance_disposal": "UCEN--",  # engineer, EOD
    "medical_level_1": "USM---",
    "medical_level_2": "USMT--",
    "military_police": "UULM--",
    "logistics": "USS---",
    "aviation": "UCV---",
    "staff_officers": "UH----",  # headquarters element
    "formed_police_unit": "UULC--",  # civilian law enforcement
    "police_trainers": "UULC--",
}
HEADQUARTERS_FUNCTION = "UH----"


def default_sidc(kind: UnitKind, echelon: Echelon, capability: str | None) -> str:
    """A 15-character MIL-STD-2525C SIDC: friend, ground, present, the unit's function and
    echelon (milsymbol draws it; position 11 `A` marks a headquarters)."""
    if kind is UnitKind.HEADQUARTERS:
        function, modifier = HEADQUARTERS_FUNCTION, "A"
    else:
        function, modifier = CAPABILITY_FUNCTION.get(capability or "", "U-----"), "-"
    return f"SFGP{function}{modifier}{ECHELON_2525C[echelon]}---"


class Relationship(StrEnum):
    """NATO/UN command arrangements over a unit, from the transfer of authority on."""

    OPCON = "opcon"  # operational control: assign tasks, deploy, retain or reassign
    TACON = "tacon"  # tactical control: local direction of assigned tasks
    ADCON = "adcon"  # administrative control: support, not tasking
    NATIONAL = "national"  # national command only: the nation keeps it all


TASKING_RELATIONSHIPS = frozenset({Relationship.OPCON, Relationship.TACON})


class RelationshipStatus(StrEnum):
    PROPOSED = "proposed"
    AGREED = "agreed"  # the contributing nation agreed
    EFFECTIVE = "effective"  # in force from its transfer of authority
    ENDED = "ended"


RELATIONSHIP_STEPS: dict[RelationshipStatus, frozenset[RelationshipStatus]] = {
    RelationshipStatus.PROPOSED: frozenset({RelationshipStatus.AGREED, RelationshipStatus.ENDED}),
    RelationshipStatus.AGREED: frozenset({RelationshipStatus.EFFECTIVE, RelationshipStatus.ENDED}),
    RelationshipStatus.EFFECTIVE: frozenset({RelationshipStatus.ENDED}),
    RelationshipStatus.ENDED: frozenset(),
}


def relationship_caveat(
    caveats: Caveats, kind: Relationship, area_kinds: Iterable[str]
) -> str | None:
    """The caveat that forbids placing a unit under `kind` of a headquarters whose area of
    responsibility touches `area_kinds`, named; None when none does. National command only is
    never refused: the nation keeps it."""
    if kind is Relationship.NATIONAL:
        return None
    if kind.value in caveats.forbidden_relationships:
        return f"caveat forbids placing the unit under {kind.value.upper()}"
    if kind in TASKING_RELATIONSHIPS:
        kinds = set(area_kinds)
        if kinds:
            decision = caveats_permit(caveats, kinds)
            if not decision:
                return "; ".join(decision.reasons) + " (the headquarters' area of responsibility)"
    return None


class TaskStatus(StrEnum):
    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    REFUSED_BY_NATION = "refused_by_nation"  # a national red card: recorded, never overridden
    CANCELLED = "cancelled"


OPEN_TASK_STATUSES = frozenset({TaskStatus.ISSUED, TaskStatus.ACKNOWLEDGED, TaskStatus.IN_PROGRESS})
TASK_STEPS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.ISSUED: frozenset(
        {
            TaskStatus.ACKNOWLEDGED,
            TaskStatus.IN_PROGRESS,
            TaskStatus.REFUSED_BY_NATION,
            TaskStatus.CANCELLED,
        }
    ),
    TaskStatus.ACKNOWLEDGED: frozenset(
        {TaskStatus.IN_PROGRESS, TaskStatus.REFUSED_BY_NATION, TaskStatus.CANCELLED}
    ),
    TaskStatus.IN_PROGRESS: frozenset(
        {TaskStatus.COMPLETE, TaskStatus.REFUSED_BY_NATION, TaskStatus.CANCELLED}
    ),
    TaskStatus.COMPLETE: frozenset(),
    TaskStatus.REFUSED_BY_NATION: frozenset(),  # never overridden
    TaskStatus.CANCELLED: frozenset(),
}


def task_step_problem(current: TaskStatus, target: TaskStatus) -> str | None:
    if target in TASK_STEPS[current]:
        return None
    if current is TaskStatus.REFUSED_BY_NATION:
        return "the nation refused this task; a national refusal is never overridden"
    return f"a task that is {current.value} cannot become {target.value}"


class Priority(StrEnum):
    ROUTINE = "routine"
    PRIORITY = "priority"
    IMMEDIATE = "immediate"


# Readiness that lets a unit be tasked: its pledge verified at level 2 or better.
TASKABLE_READINESS = frozenset(
    {ReadinessLevel.LEVEL_2, ReadinessLevel.LEVEL_3, ReadinessLevel.RAPID_DEPLOYMENT}
)
MIN_PRESENT_SHARE = 0.5  # a unit below half its authorized strength present is not ready


@dataclass(frozen=True)
class TaskCheck:
    """What the acceptance checks of a task need to know, gathered by the service."""

    task: Task
    authority: Relationship | None  # the issuer's effective relationship over the unit
    caveats: Caveats
    zone_kinds: frozenset[str]  # every zone kind the task's area or point touches
    readiness: ReadinessLevel | None  # the unit's pledge's readiness; None: no pledge
    authorized: int
    present: int
    phase: str | None = None  # the deployment phase in force at the start, if any
    phase_kinds: frozenset[str] = frozenset()  # where that phase lets the force deploy
    readiness_shown: bool = True  # may the issuer see the pledge (and so its level)?


def task_refusals(check: TaskCheck) -> list[str]:
    """Every reason the task is refused; empty when it is accepted."""
    reasons: list[str] = []
    if check.authority not in TASKING_RELATIONSHIPS:
        held = (
            "no effective command relationship"
            if check.authority is None
            else (f"only {check.authority.value.upper()}")
        )
        reasons.append(f"no authority: the issuing headquarters holds {held} over the unit")
    decision = caveats_permit(check.caveats, check.zone_kinds, check.task)
    reasons.extend(decision.reasons)
    if check.readiness is not None and check.readiness not in TASKABLE_READINESS:
        level = f"is at {check.readiness.value}" if check.readiness_shown else "is not ready"
        reasons.append(
            f"not ready: the unit's pledge {level} "
            f"(tasking needs {ReadinessLevel.LEVEL_2.value} or better)"
        )
    if check.authorized > 0 and check.present < MIN_PRESENT_SHARE * check.authorized:
        reasons.append(
            f"not ready: {check.present} present of {check.authorized} authorized "
            f"(below {int(MIN_PRESENT_SHARE * 100)} %)"
        )
    if check.phase is not None and check.phase_kinds and not (check.zone_kinds & check.phase_kinds):
        reasons.append(
            f"outside the deployment phase: {check.phase} deploys only in "
            + ", ".join(sorted(check.phase_kinds))
        )
    return reasons


class ReportKind(StrEnum):
    PERSTAT = "perstat"
    LOGSTAT = "logstat"


class CasualtyCategory(StrEnum):
    """PERSTAT casualty categories (counts only, never names)."""

    KILLED = "killed"
    WOUNDED = "wounded"
    INJURED = "injured"
    SICK = "sick"
    MISSING = "missing"


class Supply(StrEnum):
    """LOGSTAT classes reported in days of supply."""

    WATER = "water"
    RATIONS = "rations"
    FUEL = "fuel"
    AMMUNITION = "ammunition"


def supplies_below(days: dict[str, float], threshold: float) -> list[str]:
    """The supplies under `threshold` days, in the Supply order."""
    return [s.value for s in Supply if s.value in days and days[s.value] < threshold]


def report_due(on: dt.date, last: dt.date | None) -> bool:
    """Is a daily report for `on` overdue when the newest on file is `last`?"""
    return last is None or last < on
