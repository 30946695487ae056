"""Schemas of the access API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from cmcc.access.domain import OrgKind, Role
from cmcc.core.schemas import Input


class OrganizationCreate(Input):
    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$", description="ISO alpha-3 for nations")
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind
    is_member: bool = True


class OrganizationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: OrgKind
    is_member: bool


class Login(Input):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)


class TokenPublic(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: dt.datetime | None


class Me(BaseModel):
    username: str
    organization: str | None
    role: Role | None
    member: bool
