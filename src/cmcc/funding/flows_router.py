"""REST routes of funding flows and the funding summary: /api/v1/flows,
/api/v1/funding/summary."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.api.deps import (
    CurrentPrincipal,
    Cursor,
    Limit,
    LoggedIn,
    OptionalRecordId,
    RecordId,
    SessionDep,
)
from cmcc.api.responses import page_response
from cmcc.core.errors import InvalidInput
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic
from cmcc.funding import flows, reports
from cmcc.funding.domain import FlowStatus
from cmcc.funding.models import Flow
from cmcc.funding.schemas import (
    FlowCreate,
    FlowPublic,
    FlowRevision,
    SummaryPublic,
    SummaryRowPublic,
)
from cmcc.funding.service import organization

router = APIRouter(prefix="/api/v1", tags=["funding"])
DonorQuery = Annotated[
    str | None, Query(description="Donor organization code, or `me` for the caller's own")
]
MonthQuery = Annotated[
    str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM (the flow date)")
]


def _donor(
    session: Session, principal: Principal, donor: str | None
) -> tuple[int | None, str | None]:
    if donor is None:
        return None, None
    if donor.lower() == "me":
        if principal.org_id is None:
            raise InvalidInput.field("query.donor", "`me` needs a caller of an organization")
        return principal.org_id, principal.org_code
    org = organization(session, donor, "query.donor")
    return org.id, org.code


def _month(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value + "-01")
    except ValueError:
        raise InvalidInput.field("query.month", "expected YYYY-MM") from None


@router.get("/flows", response_model=ListPublic[FlowPublic])
def list_flows(
    session: SessionDep,
    principal: CurrentPrincipal,
    donor: DonorQuery = None,
    status: FlowStatus | None = None,
    plan_id: OptionalRecordId = None,
    phase_id: OptionalRecordId = None,
    project_id: OptionalRecordId = None,
    month: MonthQuery = None,
    history: Annotated[bool, Query(description="Every version, not only current ones")] = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    donor_id, _ = _donor(session, principal, donor)
    stmt = flows.flow_statement(
        principal,
        donor_org_id=donor_id,
        status=status,
        plan_id=plan_id,
        phase_id=phase_id,
        project_id=project_id,
        month=_month(month),
        history=history,
    )
    return page_response(FlowPublic, paginate(session, stmt, Flow.id, cursor, limit))


@router.post("/flows", response_model=FlowPublic, status_code=status.HTTP_201_CREATED)
def create_flow(body: FlowCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return FlowPublic.model_validate(flows.create_flow(session, principal, body))


@router.get("/flows/{flow_id}", response_model=FlowPublic)
def get_flow(flow_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return FlowPublic.model_validate(flows.get_flow(session, principal, flow_id))


@router.get("/flows/{flow_id}/versions", response_model=list[FlowPublic])
def flow_versions(flow_id: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return [FlowPublic.model_validate(f) for f in flows.versions(session, principal, flow_id)]


@router.post(
    "/flows/{flow_id}/revisions", response_model=FlowPublic, status_code=status.HTTP_201_CREATED
)
def revise_flow(
    flow_id: RecordId, body: FlowRevision, session: SessionDep, principal: LoggedIn
) -> Any:
    """A new version of the flow; the old one is kept (is_current false)."""
    return FlowPublic.model_validate(flows.revise_flow(session, principal, flow_id, body))


def summary_public(summary: reports.Summary) -> SummaryPublic:
    def row(r: reports.Row) -> SummaryRowPublic:
        return SummaryRowPublic(
            key=r.key,
            label=r.label,
            pledged_usd=r.pledged_usd,
            committed_usd=r.committed_usd,
            paid_usd=r.paid_usd,
            outstanding_pledges_usd=r.outstanding_pledges_usd,
            unpaid_commitments_usd=r.unpaid_commitments_usd,
            funded_usd=r.funded_usd,
            total_usd=r.total_usd,
            disbursement_rate=r.disbursement_rate,
            budget_usd=r.budget_usd,
            gap_usd=r.gap_usd,
        )

    return SummaryPublic(
        by=summary.by.value,
        donor=summary.donor,
        rows=[row(r) for r in summary.rows],
        total=row(summary.total),
    )


@router.get("/funding/summary", response_model=SummaryPublic)
def funding_summary(
    session: SessionDep,
    principal: CurrentPrincipal,
    by: reports.GroupBy = reports.GroupBy.DONOR,
    donor: DonorQuery = None,
    plan_id: OptionalRecordId = None,
) -> Any:
    """Pledged, committed, paid, outstanding and the no-double-count total per donor, phase
    (with budget and gap), sector or month, as the caller may see them. `donor=me`: a donor's
    own view."""
    donor_id, donor_code = _donor(session, principal, donor)
    result = reports.summary(
        session,
        principal.viewer,
        by,
        donor_org_id=donor_id,
        donor_code=donor_code,
        plan_id=plan_id,
    )
    return summary_public(result)
