"""What one caller may export: the records of the plan tree the release policy lets them see,
and the statement of their current flows.

Every read goes through `cmcc.access.policy.visible`. A record the caller may not see is left
out, and so is everything the exports would otherwise copy from it (a title, a DAC code, an
organization): a visible flow to a project the caller may not see still shows, without the
project's title. The ids of the tree (which project belongs to which programme, phase and
plan) are read without the policy: they only place a record the caller sees under its nearest
ancestor the caller also sees, and never appear in an export.

The tree (plans, phases, programmes, projects: thousands of rows at most) is held in memory;
flows (up to hundreds of thousands) are read in chunks by the writers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.access.models import Organization
from cmcc.access.policy import visible
from cmcc.core.errors import NotFound
from cmcc.core.records import Releasable
from cmcc.funding.models import Flow, Phase, Plan, Programme, Project

CHUNK_ROWS = 1000
Level = Literal["plan", "phase", "project"]
ActivityKey = tuple[Level, int]
R = TypeVar("R", bound=Releasable)


@dataclass
class Selection:
    """The visible records of the plan tree (by id), and the tree's structure (all ids)."""

    principal: Principal
    plan_id: int | None  # one plan only, or every plan
    plans: dict[int, Plan] = field(default_factory=dict)
    phases: dict[int, Phase] = field(default_factory=dict)
    programmes: dict[int, Programme] = field(default_factory=dict)
    projects: dict[int, Project] = field(default_factory=dict)
    project_programme: dict[int, int] = field(default_factory=dict)
    programme_phase: dict[int, int] = field(default_factory=dict)
    phase_plan: dict[int, int] = field(default_factory=dict)

    def flows(self, *where: Any) -> Select[Flow]:
        """The current versions of the flows the caller may see (of the plan, if one)."""
        clauses = [Flow.is_current.is_(True), *where]
        if self.plan_id is not None:
            clauses.append(Flow.plan_id == self.plan_id)
        return visible(Flow, self.principal.viewer, *clauses)

    def phase_of(self, project_id: int) -> int | None:
        programme = self.project_programme.get(project_id)
        return None if programme is None else self.programme_phase.get(programme)

    def destination(
        self, plan_id: int, phase_id: int | None, programme_id: int | None, project_id: int | None
    ) -> ActivityKey | None:
        """The IATI activity of a flow: the deepest record of its destination the caller may
        see (project, then phase, then plan), or None if they see none of them."""
        if project_id is not None and project_id in self.projects:
            return ("project", project_id)
        phase = phase_id
        if project_id is not None:
            phase = self.phase_of(project_id) or phase
        if phase is None and programme_id is not None:
            phase = self.programme_phase.get(programme_id)
        if phase is not None and phase in self.phases:
            return ("phase", phase)
        return ("plan", plan_id) if plan_id in self.plans else None

    def parent(self, key: ActivityKey) -> ActivityKey | None:
        """The nearest ancestor the caller may see of a phase or a project."""
        level, record_id = key
        if level == "project":
            phase = self.phase_of(record_id)
            if phase is not None and phase in self.phases:
                return ("phase", phase)
            plan = self.phase_plan.get(phase) if phase is not None else None
            return ("plan", plan) if plan is not None and plan in self.plans else None
        if level == "phase":
            plan = self.phase_plan.get(record_id)
            return ("plan", plan) if plan is not None and plan in self.plans else None
        return None

    def activity_keys(self) -> list[ActivityKey]:
        """Every IATI activity of the export: plans, then phases, then projects."""
        return [
            *(("plan", i) for i in sorted(self.plans)),
            *(("phase", p.id) for p in sorted(self.phases.values(), key=_phase_order)),
            *(("project", i) for i in sorted(self.projects)),
        ]

    def programme_of(self, project: Project) -> Programme | None:
        return self.programmes.get(project.programme_id)

    def phase_record(self, phase_id: int | None) -> Phase | None:
        return self.phases.get(phase_id) if phase_id is not None else None


def _phase_order(phase: Phase) -> tuple[int, int]:
    return (phase.plan_id, phase.number)


def select_tree(session: Session, principal: Principal, plan_code: str | None = None) -> Selection:
    """The caller's view of the plan tree; NotFound if `plan_code` names no plan they see."""
    viewer = principal.viewer
    plan_id = None
    if plan_code is not None:
        plan = session.scalars(visible(Plan, viewer, Plan.code == plan_code)).one_or_none()
        if plan is None:
            raise NotFound(f"plan {plan_code} not found")
        plan_id = plan.id
    sel = Selection(principal, plan_id)
    sel.phase_plan = dict(session.execute(select(Phase.id, Phase.plan_id)).all())
    sel.programme_phase = dict(session.execute(select(Programme.id, Programme.phase_id)).all())
    sel.project_programme = dict(session.execute(select(Project.id, Project.programme_id)).all())
    in_plan: dict[type[Any], Any] = {}
    if plan_id is not None:
        phase_ids = [p for p, owner in sel.phase_plan.items() if owner == plan_id]
        programme_ids = [g for g, p in sel.programme_phase.items() if p in phase_ids]
        in_plan = {
            Plan: Plan.id == plan_id,
            Phase: Phase.plan_id == plan_id,
            Programme: Programme.phase_id.in_(phase_ids),
            Project: Project.programme_id.in_(programme_ids),
        }

    def read(model: type[R]) -> dict[int, R]:
        where = [in_plan[model]] if model in in_plan else []
        return {r.id: r for r in session.scalars(visible(model, viewer, *where))}

    sel.plans, sel.phases = read(Plan), read(Phase)
    sel.programmes, sel.projects = read(Programme), read(Project)
    return sel


def organizations(session: Session, ids: Sequence[int]) -> dict[int, Organization]:
    """Organizations by id (the directory of organizations is not marked)."""
    if not ids:
        return {}
    rows = session.scalars(select(Organization).where(Organization.id.in_(set(ids))))
    return {o.id: o for o in rows}


def flow_chunks(session: Session, stmt: Select[Flow]) -> Iterator[Sequence[Flow]]:
    """The flows of `stmt` by id, CHUNK_ROWS at a time (the export never holds them all)."""
    query = stmt.order_by(Flow.id).execution_options(yield_per=CHUNK_ROWS)
    yield from session.execute(query).scalars().partitions()
