from __future__ import annotations

import datetime as dt

import pytest

from cmcc.core.clock import add_months
from cmcc.core.errors import InvalidInput, TransitionRefused
from cmcc.forces.domain import (
    Caveats,
    Deployment,
    ReadinessLevel,
    StateStatus,
    Target,
    Task,
    VisitKind,
    caveats_permit,
    check_transition,
    project,
    readiness_problem,
    renewal_due,
    transition_problem,
)
from cmcc.zones.domain import ZoneKind

S = StateStatus
D = dt.date


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (S.NOT_APPROACHED, S.APPROACHED),
        (S.APPROACHED, S.INTERESTED),
        (S.INTERESTED, S.PLEDGED),
        (S.PLEDGED, S.COMMITTED),
        (S.COMMITTED, S.DEPLOYING),
        (S.DEPLOYING, S.DEPLOYED),
        (S.APPROACHED, S.DECLINED),
        (S.INTERESTED, S.DECLINED),
        (S.PLEDGED, S.WITHDRAWN),
        (S.DEPLOYED, S.WITHDRAWN),
    ],
)
def test_regular_steps(a: StateStatus, b: StateStatus) -> None:
    assert transition_problem(a, b) is None


@pytest.mark.parametrize(
    ("a", "b", "words"),
    [
        (S.APPROACHED, S.PLEDGED, "skips interested"),
        (S.PLEDGED, S.INTERESTED, "backwards"),
        (S.PLEDGED, S.DECLINED, "only a state"),
        (S.INTERESTED, S.WITHDRAWN, "only a state"),
        (S.DECLINED, S.INTERESTED, "forced"),
        (S.PLEDGED, S.PLEDGED, "already"),
        (S.APPROACHED, S.NOT_APPROACHED, "cannot return"),
    ],
)
def test_irregular_steps(a: StateStatus, b: StateStatus, words: str) -> None:
    problem = transition_problem(a, b)
    assert problem is not None
    assert words in problem
    with pytest.raises(TransitionRefused):
        check_transition(a, b, on=D(2026, 1, 1), last_on=None, force=False)


def test_force_allows_irregular_but_not_a_null_step_or_time_travel() -> None:
    check_transition(S.APPROACHED, S.DEPLOYED, on=D(2026, 1, 1), last_on=None, force=True)
    with pytest.raises(TransitionRefused):
        check_transition(S.PLEDGED, S.PLEDGED, on=D(2026, 1, 1), last_on=None, force=True)
    with pytest.raises(InvalidInput):
        check_transition(
            S.APPROACHED, S.INTERESTED, on=D(2025, 1, 1), last_on=D(2025, 2, 1), force=False
        )


def test_readiness_ladder() -> None:
    L, V = ReadinessLevel, VisitKind
    assert readiness_problem(L.LEVEL_1, L.LEVEL_2, V.ASSESSMENT_ADVISORY_VISIT) is None
    assert readiness_problem(L.LEVEL_2, L.LEVEL_3, V.SUR_ALIGNMENT) is None
    assert readiness_problem(L.LEVEL_3, L.RAPID_DEPLOYMENT, V.VERIFICATION_VISIT) is None
    assert "skips" in (readiness_problem(L.LEVEL_1, L.LEVEL_3, V.SUR_ALIGNMENT) or "")
    assert "reached by" in (readiness_problem(L.LEVEL_1, L.LEVEL_2, V.SUR_ALIGNMENT) or "")
    assert readiness_problem(L.RAPID_DEPLOYMENT, L.LEVEL_1, V.VERIFICATION_VISIT) is None


def test_caveats() -> None:
    us = Caveats(
        forbidden_zone_kinds=frozenset({ZoneKind.GAZA_STRIP}),
        forbidden_tasks=frozenset({Task.OFFENSIVE_OPERATIONS}),
    )
    assert not caveats_permit(us, ZoneKind.GAZA_STRIP)
    assert caveats_permit(us, [])
    assert caveats_permit(us, "crossing", "logistics")
    refused = caveats_permit(us, [ZoneKind.ISF_SECTOR, ZoneKind.GAZA_STRIP], "offensive_operations")
    assert not refused
    assert len(refused.reasons) == 2
    idf_only = Caveats(only_zone_kinds=frozenset({ZoneKind.AREA_UNDER_IDF_CONTROL}))
    assert caveats_permit(idf_only, ["gaza_strip", "area_under_idf_control"])
    assert not caveats_permit(idf_only, ["gaza_strip", "isf_sector"])
    trainers = Caveats(only_tasks=frozenset({Task.POLICE_TRAINING}))
    assert caveats_permit(trainers, None, "police_training")
    assert not caveats_permit(trainers, None, "border_security")
    assert Caveats.from_dict(us.to_dict()) == us
    with pytest.raises(ValueError):
        caveats_permit(us, "moon")


def test_renewal_and_months() -> None:
    assert renewal_due(D(2026, 2, 19), None) == D(2027, 2, 19)
    assert renewal_due(D(2026, 2, 19), D(2027, 2, 1)) == D(2027, 8, 1)
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2028, 1, 31), 1) == D(2028, 2, 29)
    assert add_months(D(2026, 11, 30), 14) == D(2028, 1, 30)


def test_projection_relieves_in_place_and_ends_with_the_pledge() -> None:
    deps = [
        Deployment(1, 1000, D(2026, 1, 1), D(2027, 1, 1), 6, committed=True),
        Deployment(2, 4500, D(2026, 4, 1), None, 12, committed=False),
    ]
    result = project(deps, [Target("t", 5000, D(2026, 3, 31))], D(2026, 1, 1), D(2027, 6, 1), 1)
    by_day = {p.on: p for p in result.series}
    assert (by_day[D(2026, 1, 1)].committed, by_day[D(2026, 1, 1)].pledged) == (1000, 1000)
    assert by_day[D(2026, 7, 15)].pledged == 5500  # strength holds across the July rotation
    assert by_day[D(2027, 1, 1)].committed == 0
    (pledged,) = result.pledged_targets
    assert pledged.met_on == D(2026, 4, 1)
    assert not pledged.met_by_due
    assert pledged.shortfall_on_due == 4000
    months = {r.month: r for r in result.rotations}
    assert months[D(2026, 7, 1)].contingents == 1
    assert months[D(2026, 7, 1)].strength == 1000
    assert set(months) == {D(2026, 7, 1), D(2027, 4, 1)}  # none when pledge 1 ends
