"""Request and response schemas of tips (public and triage) and rewards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from cmcc.core.schemas import Input, RecordIdField, RecordPublic
from cmcc.tips.domain import MAX_PLACE, MAX_TEXT, RewardStatus, TipOutcome, TipStatus

CodeText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=60,
        description="The claim code, 20 digits; spaces and dashes are ignored",
        examples=["4821 0937 5512 0046 7713"],
    ),
]


class ProofOfWork(Input):
    challenge: str = Field(max_length=200, description="From GET /public/tips/challenge")
    counter: str = Field(max_length=20, description="SHA-256(challenge + counter) meets bits")


class TipSubmission(ProofOfWork):
    """A tip as JSON (the photo needs multipart/form-data with the same field names)."""

    text: str = Field(max_length=MAX_TEXT + 100, description="What was seen")
    place: str = Field("", max_length=MAX_PLACE + 100, description="The place in words")
    lon: float | None = Field(None, description="Longitude (WGS84) of the clicked place")
    lat: float | None = Field(None, description="Latitude (WGS84) of the clicked place")


class ChallengePublic(BaseModel):
    challenge: str
    bits: int = Field(description="Leading zero bits SHA-256(challenge + counter) must have")
    expires_at: dt.datetime


class TipReceipt(BaseModel):
    claim_code: str = Field(description="Shown once: the platform keeps only a hash of it")
    status: TipStatus


class StatusQuery(ProofOfWork):
    code: CodeText


class RewardForTipster(BaseModel):
    amount: Decimal
    currency: str
    state: str = Field(description="ready_to_collect or paid")
    paid_on: dt.date | None = None


class TipStatusPublic(BaseModel):
    status: TipStatus
    reward: RewardForTipster | None = None


class Location(BaseModel):
    lon: float
    lat: float


class FraudSignals(BaseModel):
    nearby_tips: list[int] = Field(description="Other tips near it in place and time")
    recoveries_nearby: int = Field(description="How many recoveries near it predate the tip")
    same_photo_tips: list[int] = Field(description="Other tips with the very same photo")


class TipPublic(RecordPublic):
    """A tip as officers see it: never the code, its hash or its locator."""

    status: TipStatus
    outcome: TipOutcome | None
    outcome_note: str
    duplicate_of: int | None = Field(validation_alias="duplicate_of_id")
    text: str
    place: str
    location: Location | None
    photo_url: str | None
    triage_note: str
    claim_redeemed: bool
    search_task_ids: list[int]
    recovery_ids: list[int]
    signals: FraudSignals


class TipUpdate(Input):
    version: int = Field(ge=1)
    status: TipStatus | None = Field(None, description="received or under_review")
    triage_note: str | None = Field(None, max_length=4000)


class TipLink(Input):
    search_task_id: RecordIdField | None = None
    recovery_id: RecordIdField | None = None


class TipOutcomeIn(Input):
    version: int = Field(ge=1)
    outcome: TipOutcome
    duplicate_of: RecordIdField | None = Field(None, description="The earlier tip, for duplicate")
    note: str = Field("", max_length=4000)


Amount = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]


class RewardCreate(Input):
    tip_id: RecordIdField
    amount: Amount
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")
    note: str = Field("", max_length=4000)


class RewardApproval(Input):
    version: int = Field(ge=1)


class Payout(Input):
    version: int = Field(ge=1)
    code: CodeText


class RewardPublic(RecordPublic):
    model_config = ConfigDict(from_attributes=True)

    tip_id: int
    amount: Decimal
    currency: str
    status: RewardStatus
    note: str
    nominated_by: str
    approved_by: str | None
    approved_at: dt.datetime | None
    paid_by: str | None
    paid_at: dt.datetime | None
    paid_amount: Decimal | None
