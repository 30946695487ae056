"""Schema pieces every module's API shares: the marking field, record metadata, list pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from cmcc.core.releasability import Marking, MarkingError

T = TypeVar("T")

MAX_ID = 2**31 - 1
"""The largest record id: every id column is an INTEGER, 32 bits on PostgreSQL. A larger id
(in a path, a query or a body) is refused with 422 naming the field; it never reaches SQL."""
RecordIdField = Annotated[int, Field(ge=1, le=MAX_ID, description="A record's id")]


def _marking(value: str) -> str:
    try:
        return str(Marking.parse(value))
    except MarkingError as exc:
        raise ValueError(str(exc)) from None


MarkingText = Annotated[
    str,
    Field(
        max_length=1000,
        description="Releasability: public, mission, owner, or rel:<nation/organization codes>",
        examples=["mission", "rel:GBR,IDN"],
    ),
    AfterValidator(_marking),
]


CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters other than tab and line breaks: PostgreSQL cannot store a NUL, and XML
(the IATI export, Cursor on Target) cannot carry any of them."""


def _without_control(value: object) -> None:
    if isinstance(value, str) and (found := CONTROL.search(value)):
        raise ValueError(f"text may not contain the control character U+{ord(found[0]):04X}")
    if isinstance(value, list | tuple | set):
        for item in value:
            _without_control(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _without_control(key)
            _without_control(item)


class Input(BaseModel):
    """A request body: only the documented fields, text trimmed, and no control character in
    any text (`CONTROL`; found by the API fuzz: a NUL at login was a 500 on PostgreSQL, and a
    plan's description with one broke the IATI export halfway)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control(cls, value: object) -> object:
        _without_control(value)
        return value


class ReleasableCreate(Input):
    releasability: MarkingText = "mission"


class VersionedUpdate(Input):
    version: int = Field(
        ge=1, description="The version you read; a stale version is refused with 409."
    )
    releasability: MarkingText | None = None


class RecordPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner: str = Field(validation_alias="owner_code", description="Owning organization code")
    releasability: str = Field(validation_alias="marking_text")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ListPublic(BaseModel, Generic[T]):
    data: list[T]
    count: int = Field(description="How many records match (all pages)")
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page")
