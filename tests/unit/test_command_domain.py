"""The pure rules of command and control: SIDCs, relationship caveats, task refusals, task
statuses, supplies."""

from __future__ import annotations

import pytest

from cmcc.command.domain import (
    Echelon,
    Relationship,
    TaskCheck,
    TaskStatus,
    UnitKind,
    default_sidc,
    relationship_caveat,
    supplies_below,
    task_refusals,
    task_step_problem,
)
from cmcc.forces.domain import Caveats, ReadinessLevel, Task
from cmcc.zones.domain import ZoneKind


def test_default_sidc_is_a_2525c_code_of_function_and_echelon() -> None:
    assert default_sidc(UnitKind.UNIT, Echelon.BATTALION, "infantry_battalion") == "SFGPUCI----F---"
    assert default_sidc(UnitKind.UNIT, Echelon.COMPANY, "military_police") == "SFGPUULM---E---"
    hq = default_sidc(UnitKind.HEADQUARTERS, Echelon.CORPS, None)
    assert hq == "SFGPUH----AJ---" and len(hq) == 15


def test_relationship_caveats() -> None:
    us = Caveats(forbidden_zone_kinds=frozenset({ZoneKind.GAZA_STRIP}))
    inside = {"isf_sector", "gaza_strip"}
    assert relationship_caveat(us, Relationship.OPCON, inside) == (
        "caveat forbids gaza_strip (the headquarters' area of responsibility)"
    )
    assert relationship_caveat(us, Relationship.ADCON, inside) is None  # support, not tasking
    assert relationship_caveat(us, Relationship.NATIONAL, inside) is None
    assert relationship_caveat(us, Relationship.TACON, set()) is None  # no area yet
    no_opcon = Caveats(forbidden_relationships=frozenset({"opcon"}))
    assert "OPCON" in (relationship_caveat(no_opcon, Relationship.OPCON, set()) or "")
    assert relationship_caveat(no_opcon, Relationship.TACON, set()) is None


def check(**over: object) -> TaskCheck:
    base: dict[str, object] = {
        "task": Task.PROTECTION_OF_CIVILIANS,
        "authority": Relationship.OPCON,
        "caveats": Caveats(),
        "zone_kinds": frozenset({"isf_sector"}),
        "readiness": ReadinessLevel.LEVEL_2,
        "authorized": 800,
        "present": 700,
    }
    base.update(over)
    return TaskCheck(**base)  # type: ignore[arg-type]


def test_task_accepted_when_every_check_holds() -> None:
    assert task_refusals(check()) == []
    assert task_refusals(check(authority=Relationship.TACON)) == []


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"authority": None}, "no authority: the issuing headquarters holds no effective"),
        (
            {"authority": Relationship.ADCON},
            "no authority: the issuing headquarters holds only ADCON",
        ),
        ({"readiness": ReadinessLevel.LEVEL_1}, "not ready: the unit's pledge is at level_1"),
        ({"present": 399}, "not ready: 399 present of 800 authorized"),
        (
            {"caveats": Caveats(forbidden_tasks=frozenset({Task.PROTECTION_OF_CIVILIANS}))},
            "caveat forbids the task protection_of_civilians",
        ),
        (
            {"caveats": Caveats(forbidden_zone_kinds=frozenset({ZoneKind.ISF_SECTOR}))},
            "caveat forbids isf_sector",
        ),
        (
            {"phase": "Phase 1", "phase_kinds": frozenset({"area_under_idf_control"})},
            "outside the deployment phase: Phase 1 deploys only in area_under_idf_control",
        ),
    ],
)
def test_each_refusal_names_its_reason(over: dict[str, object], reason: str) -> None:
    reasons = task_refusals(check(**over))
    assert len(reasons) == 1 and reasons[0].startswith(reason), reasons


def test_refusals_are_all_listed() -> None:
    assert len(task_refusals(check(authority=None, present=0, readiness=None))) == 2


def test_a_national_refusal_is_final() -> None:
    assert task_step_problem(TaskStatus.ISSUED, TaskStatus.REFUSED_BY_NATION) is None
    assert task_step_problem(TaskStatus.IN_PROGRESS, TaskStatus.COMPLETE) is None
    for target in TaskStatus:
        problem = task_step_problem(TaskStatus.REFUSED_BY_NATION, target)
        assert problem is not None and "never overridden" in problem
    assert task_step_problem(TaskStatus.COMPLETE, TaskStatus.CANCELLED) is not None


def test_supplies_below_threshold() -> None:
    days = {"water": 1.5, "fuel": 3.0, "rations": 10.0, "ammunition": 2.9}
    assert supplies_below(days, 3.0) == ["water", "ammunition"]
