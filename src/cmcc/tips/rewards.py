"""Rewards: nominated for a tip that led to a recovery, approved by a second officer, paid once
against the claim code the tipster presents (never against an identity). Every step is a
change of the reward row, so the audit log has it."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.config import Settings
from cmcc.core.clock import utcnow
from cmcc.core.codes import is_currency_code
from cmcc.core.crud import check_version
from cmcc.core.errors import Conflict, Forbidden, InvalidInput
from cmcc.core.releasability import Marking, MarkingKind
from cmcc.tips import claimcode
from cmcc.tips.domain import (
    ClaimCodeMismatch,
    RewardStatus,
    TipOutcome,
    TipStatus,
    check_approval,
    check_nomination,
    check_payout,
)
from cmcc.tips.models import Reward, Tip
from cmcc.tips.schemas import Payout, RewardApproval, RewardCreate

READERS = (
    Permission.TRIAGE_TIPS,
    Permission.NOMINATE_REWARDS,
    Permission.APPROVE_REWARDS,
    Permission.PAY_REWARDS,
)


def _may_read(principal: Principal) -> None:
    if not any(principal.can(p) for p in READERS):
        raise Forbidden(f"the role {principal.role or 'anonymous'} may not read rewards")


def reward_statement(
    principal: Principal, status: RewardStatus | None = None, tip_id: int | None = None
) -> Select[Reward]:
    _may_read(principal)
    stmt = visible(Reward, principal.viewer)
    if status is not None:
        stmt = stmt.where(Reward.status == status.value)
    if tip_id is not None:
        stmt = stmt.where(Reward.tip_id == tip_id)
    return stmt


def get_reward(session: Session, principal: Principal, reward_id: int) -> Reward:
    _may_read(principal)
    return get_visible(session, Reward, reward_id, principal.viewer)


def nominate(session: Session, principal: Principal, data: RewardCreate) -> Reward:
    require(principal, Permission.NOMINATE_REWARDS)
    if principal.user_id is None:
        raise Forbidden("a reward is nominated by a named officer")
    tip = get_visible(session, Tip, data.tip_id, principal.viewer)
    outcome = TipOutcome(tip.outcome) if tip.outcome else None
    check_nomination(TipStatus(tip.status), outcome)
    if not is_currency_code(data.currency):
        raise InvalidInput.field("body.currency", f"{data.currency} is not an ISO 4217 currency")
    if session.scalar(select(Reward.id).where(Reward.tip_id == tip.id)) is not None:
        raise Conflict(f"tip {tip.id} already has a reward")
    reward = Reward(
        tip_id=tip.id,
        amount=data.amount,
        currency=data.currency,
        note=data.note,
        nominated_by=principal.actor,
        nominated_by_user_id=principal.user_id,
        owner_org_id=tip.owner_org_id,
    )
    reward.marking = Marking(MarkingKind.OWNER)
    session.add(reward)
    session.flush()
    return reward


def approve(session: Session, principal: Principal, reward_id: int, data: RewardApproval) -> Reward:
    require(principal, Permission.APPROVE_REWARDS)
    reward = get_reward(session, principal, reward_id)
    check_version(reward, data.version)
    check_approval(RewardStatus(reward.status), reward.nominated_by_user_id, principal.user_id)
    reward.status = RewardStatus.APPROVED.value
    reward.approved_by = principal.actor
    reward.approved_by_user_id = principal.user_id
    reward.approved_at = utcnow()
    session.flush()
    return reward


def pay(
    session: Session, principal: Principal, settings: Settings, reward_id: int, data: Payout
) -> Reward:
    """Pay an approved reward to whoever presents the tip's claim code; the code then stops
    working for payouts, and a replayed payout changes nothing."""
    require(principal, Permission.PAY_REWARDS)
    reward = get_reward(session, principal, reward_id)
    check_version(reward, data.version)
    deciders = {reward.nominated_by_user_id, reward.approved_by_user_id or -1}
    check_payout(RewardStatus(reward.status), principal.user_id, deciders)
    code = claimcode.normalize(data.code)
    tip = session.get_one(Tip, reward.tip_id)
    if tip.claim_redeemed_at is not None:
        raise Conflict("this claim code was already used for a payout")
    secret = settings.secret_key.get_secret_value()
    if claimcode.locator(code) != tip.locator or not claimcode.verify_code(
        tip.claim_hash, code, secret
    ):
        raise ClaimCodeMismatch("the claim code does not match this reward's tip")
    now = utcnow()
    tip.claim_redeemed_at = now
    reward.status = RewardStatus.PAID.value
    reward.paid_by = principal.actor
    reward.paid_by_user_id = principal.user_id
    reward.paid_at = now
    reward.paid_amount = reward.amount
    session.flush()
    return reward
