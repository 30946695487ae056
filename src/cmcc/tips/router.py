"""REST routes of the tips module for officers: the triage queue and rewards."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from cmcc.api.deps import (
    Cursor,
    Limit,
    LoggedIn,
    OptionalRecordId,
    PlatformDep,
    RecordId,
    SessionDep,
)
from cmcc.core.pagination import paginate
from cmcc.core.schemas import ListPublic
from cmcc.tips import rewards, triage
from cmcc.tips.domain import RewardStatus, TipStatus
from cmcc.tips.models import Reward, Tip
from cmcc.tips.schemas import (
    Payout,
    RewardApproval,
    RewardCreate,
    RewardPublic,
    TipLink,
    TipOutcomeIn,
    TipPublic,
    TipUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["tips"])


@router.get("/tips", response_model=ListPublic[TipPublic])
def list_tips(
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
    status: TipStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    """The triage queue, oldest first, with fraud signals."""
    page = paginate(session, triage.tip_statement(principal, status), Tip.id, cursor, limit)
    data = [triage.public(session, principal, platform.settings, tip) for tip in page.items]
    return ListPublic[TipPublic](data=data, count=page.count, next_cursor=page.next_cursor)


@router.get("/tips/{tip_id}", response_model=TipPublic)
def get_tip(
    tip_id: RecordId, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    tip = triage.get_tip(session, principal, tip_id)
    return triage.public(session, principal, platform.settings, tip)


@router.get("/tips/{tip_id}/photo", response_class=Response)
def get_photo(tip_id: RecordId, session: SessionDep, principal: LoggedIn) -> Response:
    """The tip's photo as stored: re-encoded, without any metadata."""
    found = triage.photo(session, principal, tip_id)
    return Response(
        found.data,
        media_type=found.media_type,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.patch("/tips/{tip_id}", response_model=TipPublic)
def update_tip(
    tip_id: RecordId,
    body: TipUpdate,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    tip = triage.update_tip(session, principal, tip_id, body)
    return triage.public(session, principal, platform.settings, tip)


@router.post("/tips/{tip_id}/links", response_model=TipPublic, status_code=201)
def link_tip(
    tip_id: RecordId, body: TipLink, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    tip = triage.link(session, principal, tip_id, body)
    return triage.public(session, principal, platform.settings, tip)


@router.post("/tips/{tip_id}/outcome", response_model=TipPublic)
def record_outcome(
    tip_id: RecordId,
    body: TipOutcomeIn,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    tip = triage.record_outcome(session, principal, tip_id, body)
    return triage.public(session, principal, platform.settings, tip)


@router.get("/rewards", response_model=ListPublic[RewardPublic])
def list_rewards(
    session: SessionDep,
    principal: LoggedIn,
    status: RewardStatus | None = None,
    tip_id: OptionalRecordId = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    stmt = rewards.reward_statement(principal, status, tip_id)
    page = paginate(session, stmt, Reward.id, cursor, limit)
    data = [RewardPublic.model_validate(r) for r in page.items]
    return ListPublic[RewardPublic](data=data, count=page.count, next_cursor=page.next_cursor)


@router.post("/rewards", response_model=RewardPublic, status_code=status.HTTP_201_CREATED)
def nominate_reward(body: RewardCreate, session: SessionDep, principal: LoggedIn) -> Any:
    return RewardPublic.model_validate(rewards.nominate(session, principal, body))


@router.get("/rewards/{reward_id}", response_model=RewardPublic)
def get_reward(reward_id: RecordId, session: SessionDep, principal: LoggedIn) -> Any:
    return RewardPublic.model_validate(rewards.get_reward(session, principal, reward_id))


@router.post("/rewards/{reward_id}/approval", response_model=RewardPublic)
def approve_reward(
    reward_id: RecordId, body: RewardApproval, session: SessionDep, principal: LoggedIn
) -> Any:
    """Approve a nominated reward; never by the officer who nominated it (403)."""
    return RewardPublic.model_validate(rewards.approve(session, principal, reward_id, body))


@router.post("/rewards/{reward_id}/payout", response_model=RewardPublic)
def pay_reward(
    reward_id: RecordId,
    body: Payout,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    """Pay an approved reward against the claim code the tipster presents; once only."""
    reward = rewards.pay(session, principal, platform.settings, reward_id, body)
    return RewardPublic.model_validate(reward)
