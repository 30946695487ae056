"""Triage of tips by officers (`triage_tips`): the queue, review, links to search tasks and
recoveries, duplicates and outcomes. Reads go through the release policy like any record."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import get_visible, visible
from cmcc.config import Settings
from cmcc.core.clock import utcnow
from cmcc.core.crud import apply_changes, check_version
from cmcc.core.errors import Conflict, InvalidInput, NotFound, TransitionRefused
from cmcc.remains.models import Recovery
from cmcc.remains.service import get_task
from cmcc.tips.domain import TipStatus, check_outcome
from cmcc.tips.models import Reward, Tip, TipPhoto, TipRecovery, TipSearchTask
from cmcc.tips.schemas import Location, TipLink, TipOutcomeIn, TipPublic, TipUpdate
from cmcc.tips.signals import signals


def tip_statement(principal: Principal, status: TipStatus | None = None) -> Select[Tip]:
    require(principal, Permission.TRIAGE_TIPS)
    stmt = visible(Tip, principal.viewer)
    if status is not None:
        stmt = stmt.where(Tip.status == status.value)
    return stmt


def get_tip(session: Session, principal: Principal, tip_id: int) -> Tip:
    require(principal, Permission.TRIAGE_TIPS)
    return get_visible(session, Tip, tip_id, principal.viewer)


def photo(session: Session, principal: Principal, tip_id: int) -> TipPhoto:
    tip = get_tip(session, principal, tip_id)
    found = session.scalars(select(TipPhoto).where(TipPhoto.tip_id == tip.id)).first()
    if found is None:
        raise NotFound(f"tip {tip_id} has no photo")
    return found


def public(session: Session, principal: Principal, settings: Settings, tip: Tip) -> TipPublic:
    """The tip as officers see it, with its links and fraud signals (never the code hash)."""
    digest = session.scalar(select(TipPhoto.sha256).where(TipPhoto.tip_id == tip.id))
    tasks = select(TipSearchTask.search_task_id).where(TipSearchTask.tip_id == tip.id)
    recs = select(TipRecovery.recovery_id).where(TipRecovery.tip_id == tip.id)
    data: dict[str, Any] = {
        "id": tip.id,
        "owner_code": tip.owner_code,
        "marking_text": tip.marking_text,
        "version": tip.version,
        "created_at": tip.created_at,
        "updated_at": tip.updated_at,
        "status": tip.status,
        "outcome": tip.outcome,
        "outcome_note": tip.outcome_note,
        "duplicate_of_id": tip.duplicate_of_id,
        "text": tip.text,
        "place": tip.place,
        "location": (
            Location(lon=tip.lon, lat=tip.lat)
            if tip.lon is not None and tip.lat is not None
            else None
        ),
        "photo_url": f"/api/v1/tips/{tip.id}/photo" if digest else None,
        "triage_note": tip.triage_note,
        "claim_redeemed": tip.claim_redeemed_at is not None,
        "search_task_ids": sorted(session.scalars(tasks)),
        "recovery_ids": sorted(session.scalars(recs)),
        "signals": signals(session, principal.viewer, settings, tip, digest),
    }
    return TipPublic.model_validate(data)


def update_tip(session: Session, principal: Principal, tip_id: int, data: TipUpdate) -> Tip:
    """Put a tip under review (or back to received) and keep the triage note."""
    tip = get_tip(session, principal, tip_id)
    check_version(tip, data.version)
    if data.status is TipStatus.CLOSED:
        raise InvalidInput.field("body.status", "a tip is closed by recording its outcome")
    if data.status is not None and tip.status == TipStatus.CLOSED.value:
        raise TransitionRefused("the tip is closed with an outcome; it is not reopened")
    changes: dict[str, Any] = {}
    if data.status is not None:
        changes["status"] = data.status.value
    if data.triage_note is not None:
        changes["triage_note"] = data.triage_note
    apply_changes(tip, changes)
    session.flush()
    return tip


def link(session: Session, principal: Principal, tip_id: int, data: TipLink) -> Tip:
    """Link the tip to a search task or a recovery the officer may see; a received tip is
    then under review."""
    tip = get_tip(session, principal, tip_id)
    if (data.search_task_id is None) == (data.recovery_id is None):
        raise InvalidInput.field("body", "give either search_task_id or recovery_id")
    now, actor = utcnow(), principal.actor
    if data.search_task_id is not None:
        task = get_task(session, principal, data.search_task_id)
        if session.get(TipSearchTask, (tip.id, task.id)) is not None:
            raise Conflict(f"tip {tip.id} is already linked to search task {task.id}")
        session.add(
            TipSearchTask(tip_id=tip.id, search_task_id=task.id, linked_at=now, linked_by=actor)
        )
    else:
        assert data.recovery_id is not None
        rec = get_visible(session, Recovery, data.recovery_id, principal.viewer)
        if session.get(TipRecovery, (tip.id, rec.id)) is not None:
            raise Conflict(f"tip {tip.id} is already linked to recovery {rec.id}")
        session.add(TipRecovery(tip_id=tip.id, recovery_id=rec.id, linked_at=now, linked_by=actor))
    if tip.status == TipStatus.RECEIVED.value:
        tip.status = TipStatus.UNDER_REVIEW.value
    session.flush()
    return tip


def record_outcome(session: Session, principal: Principal, tip_id: int, data: TipOutcomeIn) -> Tip:
    """Close the tip with its outcome (a duplicate names the earlier tip)."""
    tip = get_tip(session, principal, tip_id)
    check_version(tip, data.version)
    check_outcome(data.outcome, data.duplicate_of, tip.id)
    if data.duplicate_of is not None:
        get_visible(session, Tip, data.duplicate_of, principal.viewer)
    if session.scalar(select(Reward.id).where(Reward.tip_id == tip.id)) is not None:
        raise TransitionRefused("a reward rests on this tip's outcome; it is not changed")
    apply_changes(
        tip,
        {
            "status": TipStatus.CLOSED.value,
            "outcome": data.outcome.value,
            "duplicate_of_id": data.duplicate_of,
            "outcome_note": data.note,
        },
    )
    session.flush()
    return tip
