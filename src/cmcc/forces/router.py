"""REST routes of force generation under /api/v1."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from cmcc.api.deps import CurrentPrincipal, Cursor, Limit, LoggedIn, RecordId, SessionDep
from cmcc.api.responses import page_response
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic
from cmcc.forces import reports, service
from cmcc.forces.domain import Capability, ReadinessLevel, StateStatus
from cmcc.forces.models import Contribution, Pledge, Requirement
from cmcc.forces.schemas import (
    Candidate,
    ContributionCreate,
    ContributionPublic,
    ContributionTotal,
    ContributionUpdate,
    GapReport,
    MatchCreate,
    PledgeCreate,
    PledgePublic,
    PledgeUpdate,
    ProjectionPublic,
    ReadinessChange,
    ReadinessVisitPublic,
    Renewal,
    RequirementCreate,
    RequirementPublic,
    RequirementUpdate,
    StatePublic,
    StateUpdate,
    TargetCreate,
    TargetPublic,
    TargetUpdate,
    TransitionCreate,
    TransitionPublic,
)

router = APIRouter(prefix="/api/v1", tags=["force generation"])


# --- states -----------------------------------------------------------------------------------


@router.get("/states", response_model=ListPublic[StatePublic])
def list_states(
    session: SessionDep,
    principal: CurrentPrincipal,
    status: StateStatus | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains, or ISO3")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    page = service.list_states(
        session, principal.viewer, status=status, q=q, cursor=cursor, limit=limit
    )
    return page_response(StatePublic, page)


@router.get("/states/{iso3}", response_model=StatePublic)
def get_state(iso3: str, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return StatePublic.model_validate(service.state_by_iso3(session, iso3, principal.viewer))


@router.patch("/states/{iso3}", response_model=StatePublic)
def update_state(iso3: str, body: StateUpdate, session: SessionDep, principal: LoggedIn) -> Any:
    return StatePublic.model_validate(service.update_state(session, principal, iso3, body))


@router.get("/states/{iso3}/transitions", response_model=list[TransitionPublic])
def list_transitions(iso3: str, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return [
        TransitionPublic.model_validate(t)
        for t in service.list_transitions(session, principal.viewer, iso3)
    ]


@router.post(
    "/states/{iso3}/transitions",
    response_model=TransitionPublic,
    status_code=201,
    responses={409: {"description": "The step skips or reverses the pipeline"}},
)
def transition_state(
    iso3: str, body: TransitionCreate, session: SessionDep, principal: LoggedIn
) -> Any:
    return TransitionPublic.model_validate(service.transition_state(session, principal, iso3, body))


# --- pledges ----------------------------------------------------------------------------------


@router.get("/pledges", response_model=ListPublic[PledgePublic])
def list_pledges(
    session: SessionDep,
    principal: CurrentPrincipal,
    state: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$")] = None,
    capability: Capability | None = None,
    readiness: ReadinessLevel | None = None,
    matched: bool | None = None,
    renewal_overdue: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = service.pledge_statement(
        principal.viewer,
        state=state,
        capability=capability,
        readiness=readiness,
        matched=matched,
        renewal_overdue=renewal_overdue,
    )
    return page_response(PledgePublic, paginate(session, stmt, Pledge.id, cursor, limit))


@router.post("/pledges", response_model=PledgePublic, status_code=status.HTTP_201_CREATED)
def create_pledge(body: PledgeCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return PledgePublic.model_validate(service.create_pledge(session, principal, body))


@router.get("/pledges/{pledge_id}", response_model=PledgePublic)
def get_pledge(pledge_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return PledgePublic.model_validate(service.get_pledge(session, principal.viewer, pledge_id))


@router.patch("/pledges/{pledge_id}", response_model=PledgePublic)
def update_pledge(
    pledge_id: RecordId, body: PledgeUpdate, session: SessionDep, principal: LoggedIn
) -> Any:
    return PledgePublic.model_validate(service.update_pledge(session, principal, pledge_id, body))


@router.get("/pledges/{pledge_id}/readiness", response_model=list[ReadinessVisitPublic])
def list_readiness(pledge_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    visits = service.list_visits(session, principal.viewer, pledge_id)
    return [ReadinessVisitPublic.model_validate(v) for v in visits]


@router.post("/pledges/{pledge_id}/readiness", response_model=ReadinessVisitPublic, status_code=201)
def change_readiness(
    pledge_id: RecordId, body: ReadinessChange, session: SessionDep, principal: LoggedIn
) -> Any:
    visit = service.change_readiness(session, principal, pledge_id, body)
    return ReadinessVisitPublic.model_validate(visit)


@router.post("/pledges/{pledge_id}/renewal", response_model=PledgePublic)
def renew_pledge(
    pledge_id: RecordId, body: Renewal, session: SessionDep, principal: LoggedIn
) -> Any:
    return PledgePublic.model_validate(service.renew_pledge(session, principal, pledge_id, body))


# --- requirements -----------------------------------------------------------------------------


@router.get("/requirements", response_model=ListPublic[RequirementPublic])
def list_requirements(
    session: SessionDep,
    principal: CurrentPrincipal,
    capability: Capability | None = None,
    sector: Annotated[str | None, Query(max_length=80)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = service.requirement_statement(principal.viewer, capability=capability, sector=sector)
    return page_response(RequirementPublic, paginate(session, stmt, Requirement.id, cursor, limit))


@router.post("/requirements", response_model=RequirementPublic, status_code=201)
def create_requirement(body: RequirementCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return RequirementPublic.model_validate(service.create_requirement(session, principal, body))


@router.get("/requirements/{req_id}", response_model=RequirementPublic)
def get_requirement(req_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    req = service.get_requirement(session, principal.viewer, req_id)
    return RequirementPublic.model_validate(req)


@router.patch("/requirements/{req_id}", response_model=RequirementPublic)
def update_requirement(
    req_id: RecordId, body: RequirementUpdate, session: SessionDep, principal: LoggedIn
) -> Any:
    req = service.update_requirement(session, principal, req_id, body)
    return RequirementPublic.model_validate(req)


@router.get("/requirements/{req_id}/candidates", response_model=list[Candidate])
def list_candidates(req_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return [
        Candidate(pledge=PledgePublic.model_validate(p), permitted=not why, reasons=why)
        for p, why in service.candidates(session, principal.viewer, req_id)
    ]


@router.post("/requirements/{req_id}/matches", response_model=PledgePublic, status_code=201)
def match_pledge(
    req_id: RecordId, body: MatchCreate, session: SessionDep, principal: LoggedIn
) -> Any:
    pledge = service.match_pledge(session, principal, req_id, body.pledge_id)
    return PledgePublic.model_validate(pledge)


@router.delete("/requirements/{req_id}/matches/{pledge_id}", status_code=204)
def unmatch_pledge(
    req_id: RecordId, pledge_id: RecordId, session: SessionDep, principal: LoggedIn
) -> Response:
    service.unmatch_pledge(session, principal, req_id, pledge_id)
    return Response(status_code=204)


# --- reports and targets ----------------------------------------------------------------------


@router.get("/forces/gaps", response_model=GapReport)
def gaps(session: SessionDep, principal: CurrentPrincipal) -> Any:
    return reports.gap_report(session, principal.viewer)


@router.get("/forces/projection", response_model=ProjectionPublic)
def projection(
    session: SessionDep,
    principal: CurrentPrincipal,
    start: dt.date | None = None,
    end: dt.date | None = None,
    step_days: Annotated[int, Query(ge=1, le=92)] = 7,
) -> Any:
    result = reports.projection(
        session, principal.viewer, start=start, end=end, step_days=step_days
    )
    first = result.series[0].on if result.series else start
    last = result.series[-1].on if result.series else end
    return {
        "start": first,
        "end": last,
        "series": result.series,
        "committed_targets": result.committed_targets,
        "pledged_targets": result.pledged_targets,
        "rotations": result.rotations,
    }


@router.get("/forces/targets", response_model=list[TargetPublic])
def list_targets(session: SessionDep, principal: CurrentPrincipal) -> Any:
    return [TargetPublic.model_validate(t) for t in service.list_targets(session, principal.viewer)]


@router.post("/forces/targets", response_model=TargetPublic, status_code=201)
def create_target(body: TargetCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return TargetPublic.model_validate(service.create_target(session, principal, body))


@router.patch("/forces/targets/{target_id}", response_model=TargetPublic)
def update_target(
    target_id: RecordId, body: TargetUpdate, session: SessionDep, principal: LoggedIn
) -> Any:
    return TargetPublic.model_validate(service.update_target(session, principal, target_id, body))


# --- contributions ----------------------------------------------------------------------------


@router.get("/contributions", response_model=ListPublic[ContributionPublic])
def list_contributions(
    session: SessionDep,
    principal: CurrentPrincipal,
    state: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$")] = None,
    status: Literal["pledged", "paid"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = service.contribution_statement(principal.viewer, state=state, status=status)
    return page_response(
        ContributionPublic, paginate(session, stmt, Contribution.id, cursor, limit)
    )


@router.get("/contributions/totals", response_model=list[ContributionTotal])
def contribution_totals(session: SessionDep, principal: CurrentPrincipal) -> Any:
    return reports.contribution_totals(session, principal.viewer)


@router.post("/contributions", response_model=ContributionPublic, status_code=201)
def create_contribution(body: ContributionCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return ContributionPublic.model_validate(service.create_contribution(session, principal, body))


@router.get("/contributions/{item_id}", response_model=ContributionPublic)
def get_contribution(item_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    item = service.get_contribution(session, principal.viewer, item_id)
    return ContributionPublic.model_validate(item)


@router.patch("/contributions/{item_id}", response_model=ContributionPublic)
def update_contribution(
    item_id: RecordId, body: ContributionUpdate, session: SessionDep, principal: LoggedIn
) -> Any:
    item = service.update_contribution(session, principal, item_id, body)
    return ContributionPublic.model_validate(item)
