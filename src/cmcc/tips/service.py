"""The public side of tips: challenges, submission, and the status a claim code opens.

These functions receive what the tipster sent and nothing about the sender: no address, no
headers. The unit of work runs as `anonymous`, so the audit log names no one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from cmcc.access.service import org_by_code
from cmcc.config import Settings
from cmcc.core.clock import utcnow
from cmcc.core.releasability import Marking, MarkingKind
from cmcc.tips import challenge, claimcode, photos
from cmcc.tips.domain import (
    RewardStatus,
    TipStatus,
    TooManyTips,
    check_location,
    check_place,
    check_text,
)
from cmcc.tips.models import Reward, Tip, TipPhoto, UsedChallenge
from cmcc.tips.schemas import RewardForTipster, TipStatusPublic

HOME_ORG = "CMCC"  # tips belong to the coordination centre (created by `cmcc init`)
NO_MATCH = "no tip matches this claim code"


@dataclass(frozen=True)
class Submitted:
    text: str
    place: str
    lon: float | None
    lat: float | None
    photo: bytes | None
    challenge: str
    counter: str


def _secret(settings: Settings) -> str:
    return settings.secret_key.get_secret_value()


def issue_challenge(settings: Settings) -> challenge.Challenge:
    ttl = dt.timedelta(seconds=settings.tip_challenge_ttl_seconds)
    return challenge.issue(_secret(settings), settings.tip_pow_bits, ttl, utcnow())


def check_work(settings: Settings, token: str, counter: str) -> tuple[str, dt.datetime]:
    """The proof of work, checked without the database: the challenge's digest and expiry."""
    return challenge.verify(token, counter, _secret(settings), settings.tip_pow_bits, utcnow())


def spend_challenge(session: Session, digest: str, expires: dt.datetime) -> None:
    """Remember the challenge until it expires, refusing a replay (plain SQL: abuse-control
    state, not a record, so it stays out of the audit log)."""
    session.execute(delete(UsedChallenge).where(UsedChallenge.expires_at <= utcnow()))
    used = session.scalar(select(UsedChallenge.digest).where(UsedChallenge.digest == digest))
    if used is not None:
        raise challenge.ChallengeReplayed("this challenge was already used; ask for a new one")
    session.execute(insert(UsedChallenge).values(digest=digest, expires_at=expires))


def _check_rate(session: Session, settings: Settings) -> None:
    since = utcnow() - dt.timedelta(hours=1)
    count = session.scalar(select(func.count()).select_from(Tip).where(Tip.created_at >= since))
    if (count or 0) >= settings.tip_rate_per_hour:
        raise TooManyTips(
            "the service is receiving many tips right now; try again in a few minutes "
            "(الخدمة مشغولة الآن؛ حاول بعد دقائق)"
        )


def _new_code(session: Session, secret: str) -> tuple[str, str]:
    """A claim code whose locator no tip has yet, and its hash."""
    for _ in range(50):
        code = claimcode.new_code()
        if session.scalar(select(Tip.id).where(Tip.locator == claimcode.locator(code))) is None:
            return code, claimcode.hash_code(code, secret)
    raise TooManyTips("no claim code is free right now; try again")  # pragma: no cover


def submit_tip(session: Session, settings: Settings, data: Submitted) -> tuple[Tip, str]:
    """Validate everything, then store the tip; answer it with its claim code (20 digits).
    The costly checks (proof of work, photo) run before the first statement, so a write
    transaction is not held open while a photo is decoded."""
    digest, expires = check_work(settings, data.challenge, data.counter)
    text = check_text(data.text)
    place = check_place(data.place)
    point = check_location(data.lon, data.lat, place, settings.aoi_bbox)
    photo = photos.clean(data.photo, settings.tip_photo_max_bytes) if data.photo else None
    spend_challenge(session, digest, expires)
    _check_rate(session, settings)
    code, claim_hash = _new_code(session, _secret(settings))
    tip = Tip(
        locator=claimcode.locator(code),
        claim_hash=claim_hash,
        text=text,
        place=place,
        lon=point[0] if point else None,
        lat=point[1] if point else None,
        owner_org_id=org_by_code(session, HOME_ORG).id,
    )
    tip.marking = Marking(MarkingKind.OWNER)
    session.add(tip)
    session.flush()
    if photo is not None:
        session.add(
            TipPhoto(
                tip_id=tip.id,
                media_type=photo.media_type,
                width=photo.width,
                height=photo.height,
                sha256=photo.sha256,
                data=photo.data,
            )
        )
        session.flush()
    return tip, code


def tip_by_code(session: Session, settings: Settings, code: str) -> Tip | None:
    """The tip this code opens, or None; one Argon2 verification either way."""
    tip = session.scalars(select(Tip).where(Tip.locator == claimcode.locator(code))).first()
    ok = claimcode.verify_code(tip.claim_hash if tip else None, code, _secret(settings))
    return tip if ok else None


def tip_status(
    session: Session, settings: Settings, typed: str, token: str, counter: str
) -> TipStatusPublic | None:
    """What the claim code opens: the tip's state and a reward to collect; None for a wrong
    code and an unknown code alike, after the same work. The challenge is spent either way
    (the caller lets the transaction commit), so one proof of work buys one guess."""
    digest, expires = check_work(settings, token, counter)
    code = claimcode.normalize(typed)
    spend_challenge(session, digest, expires)
    tip = tip_by_code(session, settings, code)
    if tip is None:
        return None
    reward = session.scalars(select(Reward).where(Reward.tip_id == tip.id)).first()
    shown = None
    if reward is not None and reward.status != RewardStatus.NOMINATED.value:
        paid = reward.status == RewardStatus.PAID.value
        shown = RewardForTipster(
            amount=reward.paid_amount if paid and reward.paid_amount else reward.amount,
            currency=reward.currency,
            state="paid" if paid else "ready_to_collect",
            paid_on=reward.paid_at.date() if reward.paid_at else None,
        )
    return TipStatusPublic(status=TipStatus(tip.status), reward=shown)
