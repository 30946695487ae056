"""Schemas of the access API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from cmcc.access.domain import OrgKind, Role, SessionLimit
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
    model_config = ConfigDict(extra="forbid")  # a password is taken as typed

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)
    code: str | None = Field(
        None,
        max_length=12,
        description="The current 6-digit code of the authenticator app, for an account with "
        "a second factor (TOTP)",
    )


class TokenPublic(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: dt.datetime | None


class Me(BaseModel):
    username: str
    organization: str | None
    role: Role | None
    member: bool
    must: SessionLimit | None = Field(
        None,
        description="What this session must do before anything else: change_password (after "
        "an administrator's reset) or enrol_totp (the role needs a second factor)",
    )
    second_factor: bool = Field(False, description="The account signs in with a TOTP code")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")  # passwords are taken as typed

    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)


class PasswordChanged(BaseModel):
    sessions_ended: int = Field(description="Your other sign-in sessions, signed out")


class TokenListed(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str
    kind: str = Field(description="issued (by the operator), login (API sign-in), web (browser)")
    created_at: dt.datetime
    last_used_at: dt.datetime | None = Field(description="To within five minutes")
    expires_at: dt.datetime | None
    revoked: bool
    current: bool = Field(description="The token of this request")


class ThrottleListed(BaseModel):
    """Failed sign-ins in a row under one account name or client address (never the name
    typed, unless it is an existing user's, nor the address)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str = Field(description="account (a user name) or address (a client address)")
    username: str | None = Field(description="The user, when the name is an existing user's")
    key: str = Field(description="The start of the keyed hash: tells rows apart, names nothing")
    failures: int = Field(description="Failed sign-ins in a row")
    last_failure_at: dt.datetime
    blocked_until: dt.datetime | None = Field(description="No attempt is tried before this")
    locked: bool = Field(description="Locked out (not merely delayed) now")


class TotpEnrolment(BaseModel):
    secret: str = Field(description="Base32; shown only now")
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code (SVG)")


class TotpCode(Input):
    code: str = Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")


class TotpRemoval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1000, description="Your current password")


class Reason(Input):
    reason: str = Field(min_length=1, max_length=500, description="Why (kept in the audit log)")


class UserStatus(BaseModel):
    username: str
    active: bool
    tokens_revoked: int = 0


class PasswordReset(BaseModel):
    username: str
    one_time_password: str = Field(
        description="Shown only now; the user must change it at the next sign-in"
    )
