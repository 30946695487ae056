"""Force generation rules: the outreach pipeline, readiness, caveats, renewal, gaps, projection.

Vocabulary from the UN Force Generation Manual and PCRS (see docs/modules/forces.md).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cmcc.core.clock import add_months
from cmcc.core.errors import InvalidInput, TransitionRefused
from cmcc.zones.domain import ZoneKind


class StateStatus(StrEnum):
    NOT_APPROACHED = "not_approached"
    APPROACHED = "approached"
    INTERESTED = "interested"
    PLEDGED = "pledged"
    COMMITTED = "committed"  # MOU or letter of assist signed
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


PIPELINE: tuple[StateStatus, ...] = (
    StateStatus.NOT_APPROACHED,
    StateStatus.APPROACHED,
    StateStatus.INTERESTED,
    StateStatus.PLEDGED,
    StateStatus.COMMITTED,
    StateStatus.DEPLOYING,
    StateStatus.DEPLOYED,
)
DECLINE_FROM = frozenset({StateStatus.APPROACHED, StateStatus.INTERESTED})
WITHDRAW_FROM = frozenset(
    {StateStatus.PLEDGED, StateStatus.COMMITTED, StateStatus.DEPLOYING, StateStatus.DEPLOYED}
)
# Pledges of states at these steps count as "committed" in the projection.
COMMITTED_STEPS = frozenset({StateStatus.COMMITTED, StateStatus.DEPLOYING, StateStatus.DEPLOYED})
INACTIVE_STEPS = frozenset({StateStatus.DECLINED, StateStatus.WITHDRAWN})


def transition_problem(current: StateStatus, target: StateStatus) -> str | None:
    """Why `current -> target` is not a regular pipeline step, or None when it is."""
    if target == current:
        return f"the state is already {current.value}"
    if target is StateStatus.DECLINED:
        return (
            None
            if current in DECLINE_FROM
            else (
                f"only a state that is approached or interested can decline (it is {current.value})"
            )
        )
    if target is StateStatus.WITHDRAWN:
        return (
            None
            if current in WITHDRAW_FROM
            else (f"only a state that has pledged can withdraw (it is {current.value})")
        )
    if target is StateStatus.NOT_APPROACHED:
        return "a state cannot return to not approached"
    if current in INACTIVE_STEPS:
        return f"the state has {current.value}; re-opening it is a forced transition"
    step = PIPELINE.index(target) - PIPELINE.index(current)
    if step < 0:
        return f"{current.value} -> {target.value} goes backwards in the pipeline"
    if step > 1:
        skipped = ", ".join(
            s.value for s in PIPELINE[PIPELINE.index(current) + 1 : PIPELINE.index(target)]
        )
        return f"{current.value} -> {target.value} skips {skipped}"
    return None


def check_transition(
    current: StateStatus,
    target: StateStatus,
    *,
    on: dt.date,
    last_on: dt.date | None,
    force: bool,
) -> None:
    """Raise TransitionRefused (409) unless the step is regular or forced by an admin, and
    InvalidInput (422) when the date goes back before the previous step."""
    problem = transition_problem(current, target)
    if problem is not None and not (force and target != current):
        raise TransitionRefused(problem + ("" if force else "; an admin may force it"))
    if last_on is not None and on < last_on:
        raise InvalidInput.field(
            "body.date",
            f"{on.isoformat()} is before the previous transition ({last_on.isoformat()})",
        )


class Capability(StrEnum):
    INFANTRY_BATTALION = "infantry_battalion"
    ENGINEERS = "engineers"
    EXPLOSIVE_ORDNANCE_DISPOSAL = "explosive_ordnance_disposal"
    MEDICAL_LEVEL_1 = "medical_level_1"
    MEDICAL_LEVEL_2 = "medical_level_2"
    MILITARY_POLICE = "military_police"
    LOGISTICS = "logistics"
    AVIATION = "aviation"
    STAFF_OFFICERS = "staff_officers"
    FORMED_POLICE_UNIT = "formed_police_unit"
    POLICE_TRAINERS = "police_trainers"


class ReadinessLevel(StrEnum):
    LEVEL_1 = "level_1"
    LEVEL_2 = "level_2"
    LEVEL_3 = "level_3"
    RAPID_DEPLOYMENT = "rapid_deployment"


READINESS_ORDER = tuple(ReadinessLevel)
GAP_CLOSING_LEVELS = frozenset({ReadinessLevel.LEVEL_3, ReadinessLevel.RAPID_DEPLOYMENT})


class VisitKind(StrEnum):
    """The PCRS step that moves a pledge to a readiness level."""

    REGISTRATION = "registration"  # note verbale, TO&E, major equipment, self-sustainment lists
    ASSESSMENT_ADVISORY_VISIT = "assessment_advisory_visit"
    SUR_ALIGNMENT = "sur_alignment"
    VERIFICATION_VISIT = "verification_visit"


LEVEL_REACHED_BY: dict[ReadinessLevel, VisitKind] = {
    ReadinessLevel.LEVEL_1: VisitKind.REGISTRATION,
    ReadinessLevel.LEVEL_2: VisitKind.ASSESSMENT_ADVISORY_VISIT,
    ReadinessLevel.LEVEL_3: VisitKind.SUR_ALIGNMENT,
    ReadinessLevel.RAPID_DEPLOYMENT: VisitKind.VERIFICATION_VISIT,
}


def readiness_problem(
    current: ReadinessLevel, target: ReadinessLevel, visit: VisitKind
) -> str | None:
    """A pledge climbs one level at a time, each by its own PCRS step; it may drop any number."""
    cur, new = READINESS_ORDER.index(current), READINESS_ORDER.index(target)
    if new == cur:
        return f"the pledge is already at {current.value}"
    if new > cur + 1:
        return f"{current.value} -> {target.value} skips a level; pledges climb one level at a time"
    if new == cur + 1 and LEVEL_REACHED_BY[target] is not visit:
        return (
            f"{target.value} is reached by a {LEVEL_REACHED_BY[target].value}, not a {visit.value}"
        )
    return None


FIRST_RENEWAL_MONTHS = 12
RENEWAL_MONTHS = 6


def renewal_due(registered_on: dt.date, last_renewed_on: dt.date | None) -> dt.date:
    """PCRS: a pledge is renewed every 6 months after its first 12."""
    if last_renewed_on is None:
        return add_months(registered_on, FIRST_RENEWAL_MONTHS)
    return add_months(last_renewed_on, RENEWAL_MONTHS)


class Task(StrEnum):
    OFFENSIVE_OPERATIONS = "offensive_operations"
    BORDER_SECURITY = "border_security"
    PROTECTION_OF_CIVILIANS = "protection_of_civilians"
    AID_CORRIDOR_SECURITY = "aid_corridor_security"
    DEMILITARIZATION = "demilitarization"
    POLICE_TRAINING = "police_training"
    TRAINING = "training"
    CROSSING_POLICING = "crossing_policing"
    ENGINEERING = "engineering"
    EXPLOSIVE_ORDNANCE_DISPOSAL = "explosive_ordnance_disposal"
    MEDICAL_SUPPORT = "medical_support"
    LOGISTICS = "logistics"
    COORDINATION = "coordination"


@dataclass(frozen=True)
class Caveats:
    """National caveats on where and how a contingent may serve.

    only_zone_kinds: if not empty, the unit may serve only where one of these kinds applies
      (e.g. area_under_idf_control: "only in areas under Israeli control");
    forbidden_zone_kinds: never where one of these applies (gaza_strip: "not inside Gaza");
    only_tasks / forbidden_tasks: the same for tasks ("training only", "no offensive operations");
    forbidden_relationships: command relationships the nation will not grant over its units
      ("opcon": "the contingent stays under national command, TACON at most").
    """

    only_zone_kinds: frozenset[ZoneKind] = frozenset()
    forbidden_zone_kinds: frozenset[ZoneKind] = frozenset()
    only_tasks: frozenset[Task] = frozenset()
    forbidden_tasks: frozenset[Task] = frozenset()
    notes: str = ""
    forbidden_relationships: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, object]:
        return {
            "only_zone_kinds": sorted(self.only_zone_kinds),
            "forbidden_zone_kinds": sorted(self.forbidden_zone_kinds),
            "only_tasks": sorted(self.only_tasks),
            "forbidden_tasks": sorted(self.forbidden_tasks),
            "forbidden_relationships": sorted(self.forbidden_relationships),
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> Caveats:
        data = data or {}

        def kinds(key: str) -> frozenset[ZoneKind]:
            return frozenset(ZoneKind(v) for v in data.get(key) or [])  # type: ignore[attr-defined]

        def tasks(key: str) -> frozenset[Task]:
            return frozenset(Task(v) for v in data.get(key) or [])  # type: ignore[attr-defined]

        return cls(
            kinds("only_zone_kinds"),
            kinds("forbidden_zone_kinds"),
            tasks("only_tasks"),
            tasks("forbidden_tasks"),
            str(data.get("notes") or ""),
            frozenset(str(v) for v in data.get("forbidden_relationships") or []),  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class CaveatDecision:
    permitted: bool
    reasons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.permitted


def caveats_permit(
    caveats: Caveats,
    zone_kind: ZoneKind | str | Iterable[ZoneKind | str] | None,
    task: Task | str | None = None,
) -> CaveatDecision:
    """May a unit with these caveats serve where `zone_kind` applies (one kind, or every kind
    that applies at a place), on `task`? Returns the decision with the reasons for a refusal."""
    if zone_kind is None:
        kinds: set[ZoneKind] = set()
    elif isinstance(zone_kind, str):
        kinds = {ZoneKind(zone_kind)}
    else:
        kinds = {ZoneKind(k) for k in zone_kind}
    reasons: list[str] = []
    banned = kinds & caveats.forbidden_zone_kinds
    if banned:
        reasons.append("caveat forbids " + ", ".join(sorted(banned)))
    if caveats.only_zone_kinds and not (kinds & caveats.only_zone_kinds):
        reasons.append("caveat allows only " + ", ".join(sorted(caveats.only_zone_kinds)))
    if task is not None:
        t = Task(task)
        if t in caveats.forbidden_tasks:
            reasons.append(f"caveat forbids the task {t.value}")
        if caveats.only_tasks and t not in caveats.only_tasks:
            reasons.append("caveat allows only the tasks " + ", ".join(sorted(caveats.only_tasks)))
    return CaveatDecision(not reasons, tuple(reasons))


# --- projection -------------------------------------------------------------------------------

_MAX_LEVEL = 2**62


@dataclass(frozen=True)
class Deployment:
    """One pledge as it enters the projection."""

    pledge_id: int
    strength: int
    start: dt.date
    end: dt.date | None  # None: open-ended
    tour_months: int
    committed: bool  # the state is committed, deploying or deployed


@dataclass(frozen=True)
class Target:
    name: str
    strength: int
    due: dt.date


@dataclass(frozen=True)
class TargetResult:
    name: str
    strength: int
    due: dt.date
    met_on: dt.date | None  # first day the strength reaches the target
    met_by_due: bool
    strength_on_due: int
    shortfall_on_due: int


@dataclass(frozen=True)
class SeriesPoint:
    on: dt.date
    committed: int
    pledged: int


@dataclass
class Projection:
    series: list[SeriesPoint]
    committed_targets: list[TargetResult]
    pledged_targets: list[TargetResult]
    rotations: list[RotationMonth] = field(default_factory=list)


@dataclass(frozen=True)
class RotationMonth:
    """Reliefs in place due in one month: how many contingents and how many troops rotate."""

    month: dt.date
    contingents: int
    strength: int


def _step_function(deps: Sequence[Deployment]) -> list[tuple[dt.date, int]]:
    """Strength as a step function: (day, strength from that day on), in date order."""
    deltas: dict[dt.date, int] = {}
    for d in deps:
        deltas[d.start] = deltas.get(d.start, 0) + d.strength
        if d.end is not None:
            deltas[d.end] = deltas.get(d.end, 0) - d.strength
    steps, level = [], 0
    for day in sorted(deltas):
        level += deltas[day]
        steps.append((day, level))
    return steps


def _strength_on(steps: list[tuple[dt.date, int]], day: dt.date) -> int:
    i = bisect_right(steps, (day, _MAX_LEVEL))
    return steps[i - 1][1] if i else 0


def _targets(steps: list[tuple[dt.date, int]], targets: Sequence[Target]) -> list[TargetResult]:
    out = []
    for t in targets:
        met_on = next((when for when, value in steps if value >= t.strength), None)
        on_due = _strength_on(steps, t.due)
        out.append(
            TargetResult(
                t.name,
                t.strength,
                t.due,
                met_on,
                met_on is not None and met_on <= t.due,
                on_due,
                max(0, t.strength - on_due),
            )
        )
    return out


def project(
    deployments: Sequence[Deployment],
    targets: Sequence[Target],
    start: dt.date,
    end: dt.date,
    step_days: int = 7,
) -> Projection:
    """Deployed strength over time. Contingents are relieved in place at the end of each tour,
    so strength holds across rotations until the pledge's duration ends."""
    committed = _step_function([d for d in deployments if d.committed])
    pledged = _step_function(deployments)
    series, day = [], start
    while day <= end:
        series.append(SeriesPoint(day, _strength_on(committed, day), _strength_on(pledged, day)))
        day += dt.timedelta(days=step_days)
    per_month: dict[dt.date, list[int]] = {}
    for d in deployments:
        if d.tour_months <= 0:
            continue
        k, when = 1, add_months(d.start, d.tour_months)
        while when <= end and (d.end is None or when < d.end):
            if when >= start:
                slot = per_month.setdefault(when.replace(day=1), [0, 0])
                slot[0] += 1
                slot[1] += d.strength
            k += 1
            when = add_months(d.start, d.tour_months * k)
    rotations = [RotationMonth(m, c, s) for m, (c, s) in sorted(per_month.items())]
    return Projection(series, _targets(committed, targets), _targets(pledged, targets), rotations)
