"""Public tips with rewards: the vocabulary and the rules, pure.

A member of the public sends a tip (what was seen, where) and gets a claim code, shown once.
Officers triage the tip (received -> under review -> closed with an outcome), link it to the
search tasks and recoveries it led to, and may nominate a reward; a second officer approves it;
a payout officer pays it against the claim code the tipster presents, never against a name.
"""

from __future__ import annotations

import math
from enum import StrEnum

from cmcc.core.errors import DomainError, Forbidden, InvalidInput, TransitionRefused

MAX_TEXT = 2000  # characters of "what was seen"
MAX_PLACE = 500  # characters of the place description
MAX_PIXELS = 40_000_000  # an image with more pixels is refused as a decompression bomb
MAX_SIDE = 2560  # longer photos are scaled down before they are stored


class TipStatus(StrEnum):
    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    CLOSED = "closed"


class TipOutcome(StrEnum):
    LED_TO_RECOVERY = "led_to_recovery"
    NO_RESULT = "no_result"
    FALSE = "false"
    DUPLICATE = "duplicate"


class RewardStatus(StrEnum):
    NOMINATED = "nominated"
    APPROVED = "approved"
    PAID = "paid"


# What the tipster reads about a tip (Arabic first); officers' words stay internal.
STATUS_TEXT: dict[TipStatus, tuple[str, str]] = {
    TipStatus.RECEIVED: ("وصل البلاغ", "received"),
    TipStatus.UNDER_REVIEW: ("البلاغ قيد المراجعة", "under review"),
    TipStatus.CLOSED: ("أُغلق البلاغ", "closed"),
}


class TooManyTips(DomainError):
    """The global rate limit (no addresses are kept, so the limit is for everyone at once)."""

    http_status = 429
    code = "too-many-tips"
    title = "Too many tips right now"


class PhotoTooLarge(DomainError):
    http_status = 413
    code = "photo-too-large"
    title = "Photo too large"


class ClaimCodeMismatch(Forbidden):
    code = "claim-code-mismatch"
    title = "The claim code does not match"


def check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput.field("body.text", "say what you saw (ما الذي رأيته؟)")
    if len(text) > MAX_TEXT:
        raise InvalidInput.field("body.text", f"at most {MAX_TEXT} characters")
    return text


def check_place(place: str) -> str:
    place = place.strip()
    if len(place) > MAX_PLACE:
        raise InvalidInput.field("body.place", f"at most {MAX_PLACE} characters")
    return place


def check_location(
    lon: float | None, lat: float | None, place: str, aoi: tuple[float, float, float, float]
) -> tuple[float, float] | None:
    """A point inside the area of interest, or none when the place is described in words."""
    if lon is None and lat is None:
        if not place:
            raise InvalidInput.field(
                "body.place", "click the place on the map or describe it (حدّد المكان أو صِفه)"
            )
        return None
    if lon is None or lat is None:
        raise InvalidInput.field("body.lon", "give both lon and lat, or neither")
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidInput.field("body.lon", "not a coordinate")
    minx, miny, maxx, maxy = aoi
    if not (minx <= lon <= maxx and miny <= lat <= maxy):
        raise InvalidInput.field(
            "body.lon", "the point lies outside the area this service covers; describe the place"
        )
    return lon, lat


def check_outcome(outcome: TipOutcome, duplicate_of: int | None, tip_id: int) -> None:
    if (outcome is TipOutcome.DUPLICATE) != (duplicate_of is not None):
        raise InvalidInput.field(
            "body.duplicate_of", "name the earlier tip exactly when the outcome is duplicate"
        )
    if duplicate_of == tip_id:
        raise InvalidInput.field("body.duplicate_of", "a tip is not a duplicate of itself")


def check_nomination(status: TipStatus, outcome: TipOutcome | None) -> None:
    """A reward is decided from the outcome: only a tip that led to a recovery earns one."""
    if status is not TipStatus.CLOSED or outcome is not TipOutcome.LED_TO_RECOVERY:
        raise TransitionRefused(
            "a reward is nominated only for a tip closed with the outcome led_to_recovery"
        )


def check_approval(status: RewardStatus, nominator_id: int, approver_id: int | None) -> None:
    """Four eyes: the approver is never the person who nominated."""
    if status is not RewardStatus.NOMINATED:
        raise TransitionRefused(f"the reward is {status.value}; only a nominated one is approved")
    if approver_id is None or approver_id == nominator_id:
        raise Forbidden("a reward is approved by a second officer, never by its nominator")


def check_payout(status: RewardStatus, payer_id: int | None, officers: set[int]) -> None:
    """Only an approved reward is paid, and not by the officers who decided it."""
    if status is RewardStatus.PAID:
        raise TransitionRefused("the reward is already paid; a payout is made once")
    if status is not RewardStatus.APPROVED:
        raise TransitionRefused("the reward is not approved yet")
    if payer_id is None or payer_id in officers:
        raise Forbidden("the payout officer is neither the nominator nor the approver")
