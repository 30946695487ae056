"""Web pages: the force generation dashboard (outreach funnel, strength projection against the
targets, gaps by capability, PCRS readiness of pledges)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cmcc.api.deps import SessionDep
from cmcc.core.pagination import paginate
from cmcc.core.releasability import Viewer
from cmcc.forces import reports, service
from cmcc.forces.domain import PIPELINE, ReadinessLevel, StateStatus
from cmcc.forces.models import Pledge
from cmcc.forces.schemas import PledgePublic
from cmcc.web import charts
from cmcc.web.auth import SignedIn
from cmcc.web.templating import render
from cmcc.web.words import label

router = APIRouter(include_in_schema=False)

FUNNEL_STEPS = PIPELINE[1:]  # approached ... deployed
OUT_OF_PIPELINE = (StateStatus.DECLINED, StateStatus.WITHDRAWN)


@dataclass(frozen=True)
class FunnelStep:
    status: StateStatus
    label: str
    now: int  # states now at this step
    reached: int  # states now at this step or further along


def funnel(session: Session, viewer: Viewer) -> tuple[list[FunnelStep], dict[str, int]]:
    """States per pipeline step, counted through the same service as GET /api/v1/states."""

    def count(status: StateStatus) -> int:
        return service.list_states(session, viewer, status=status, limit=1).count

    now = {s: count(s) for s in FUNNEL_STEPS}
    steps = []
    for i, status in enumerate(FUNNEL_STEPS):
        reached = sum(now[s] for s in FUNNEL_STEPS[i:])
        steps.append(FunnelStep(status, label(status.value), now[status], reached))
    return steps, {label(s.value): count(s) for s in OUT_OF_PIPELINE}


def visible_pledges(session: Session, viewer: Viewer) -> list[PledgePublic]:
    """Every pledge the visitor may see, as GET /api/v1/pledges lists them."""
    out: list[PledgePublic] = []
    cursor: str | None = None
    while True:
        page = paginate(session, service.pledge_statement(viewer), Pledge.id, cursor, 500)
        out.extend(PledgePublic.model_validate(p) for p in page.items)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


@router.get("/forces")
def forces_page(request: Request, session: SessionDep, visitor: SignedIn) -> Response:
    viewer = visitor.principal.viewer
    steps, out_of_pipeline = funnel(session, viewer)
    projection = reports.projection(session, viewer)
    gaps = reports.gap_report(session, viewer)
    pledges = visible_pledges(session, viewer)
    readiness = [
        (label(lvl), sum(1 for p in pledges if p.readiness is lvl)) for lvl in ReadinessLevel
    ]
    overdue = sum(1 for p in pledges if p.renewal_overdue)

    funnel_chart = charts.hbar(
        "funnel",
        "Outreach funnel",
        "States at each step of the outreach pipeline or further along, from approached to "
        "deployed.",
        [(s.label, s.reached) for s in steps],
    )
    targets = [
        (f"{t.name}, due {t.due.isoformat()}", t.strength) for t in projection.committed_targets
    ]
    projection_chart = charts.line_chart(
        "projection",
        "Strength projection against the targets",
        "Projected strength of committed and of all pledged contingents over time; dashed "
        "lines are the force targets.",
        [
            ("Committed", [(p.on, p.committed) for p in projection.series]),
            ("Pledged (all)", [(p.on, p.pledged) for p in projection.series]),
        ],
        targets=targets,
    )
    gap_chart = charts.grouped_bars(
        "gaps",
        "Required and ready strength by capability",
        "Troops required by the Statements of Unit Requirements, matched by pledges, and "
        "matched by pledges at Level 3 or better, per capability.",
        [label(r.capability.value) for r in gaps.rows],
        [
            ("Required", [r.required_strength for r in gaps.rows]),
            ("Matched", [r.matched_strength for r in gaps.rows]),
            ("Ready (Level 3+)", [r.ready_strength for r in gaps.rows]),
        ],
    )
    readiness_chart = charts.hbar(
        "readiness",
        "Pledges by PCRS readiness level",
        "Number of pledges at each level of the PCRS readiness ladder.",
        readiness,
    )
    return render(
        request,
        "forces.html",
        visitor,
        steps=steps,
        out_of_pipeline=out_of_pipeline,
        projection=projection,
        gaps=gaps,
        pledges=pledges,
        readiness=readiness,
        overdue=overdue,
        words=label,
        funnel_chart=funnel_chart,
        projection_chart=projection_chart,
        gap_chart=gap_chart,
        readiness_chart=readiness_chart,
    )
