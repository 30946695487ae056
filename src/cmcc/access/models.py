"""Tables of organizations, users and API tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Timestamped


class Organization(Timestamped, Base):
    __tablename__ = "organizations"
    __audit_everyone__ = True  # who reads the audit log sees organizations' entries

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # ISO alpha-3 for nations
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    is_member: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class User(Timestamped, Base):
    __tablename__ = "users"
    __audit_org__ = "org_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set by an administrator's reset: the user's tokens may only change the password.
    password_must_change: Mapped[bool] = mapped_column(Boolean, default=False)

    organization: Mapped[Organization] = relationship(lazy="joined")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __audit_parent__ = "user_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC-SHA-256, hex
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # issued (by the operator or the user), login (API sign-in), web (a browser's session)
    kind: Mapped[str] = mapped_column(String(16), default="issued")
    # Bookkeeping, not audited: written at most every few minutes (cmcc.access.last_use).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class TotpFactor(Base):
    """A user's TOTP second factor: the secret (encrypted with a key derived from the secret
    key), whether the user confirmed it with a code, and the last time step accepted (a code
    is never accepted twice)."""

    __tablename__ = "user_totp"
    __audit_parent__ = "user_id"
    __audit_redact__ = frozenset({"secret"})

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(200))  # Fernet token of the base32 secret
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SignInThrottle(Base):
    """Failed sign-ins in a row under one key: an account name, or a client address, each
    kept only as a keyed hash (`cmcc.access.throttle`). A row lives while its failures count
    (CMCC_SIGNIN_LOCKOUT_MINUTES after the last one), then it is deleted. A row for the name of
    an existing user names it (`user_id`), and its audit entries are seen with that user."""

    __tablename__ = "sign_in_throttles"
    __audit_parent__ = "user_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC-SHA-256, hex
    kind: Mapped[str] = mapped_column(String(16))  # account | address
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    # No attempt is tried before this time (a delay, or a lockout when `locked`).
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
