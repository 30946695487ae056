"""REST routes of accounts: the caller's own (password, tokens, second factor; also for a
session that must change its password or enrol a second factor first), and an
administrator's on a user (deactivate, reactivate, reset the password or the second factor,
list the tokens) and on the sign-in throttle (list, clear)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Response

from cmcc.access import accounts, passwords, throttle, totp
from cmcc.access.schemas import (
    PasswordChange,
    PasswordChanged,
    PasswordReset,
    Reason,
    ThrottleListed,
    TokenListed,
    TotpCode,
    TotpEnrolment,
    TotpRemoval,
    UserStatus,
)
from cmcc.api.deps import AccountHolder, LoggedIn, PlatformDep, RecordId, SessionDep
from cmcc.core.errors import Conflict, InvalidInput

router = APIRouter(prefix="/api/v1", tags=["accounts"])
Username = Annotated[
    str,
    Path(
        min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$", description="The user's name"
    ),
]


def _tokens(rows: list[accounts.TokenRow]) -> list[TokenListed]:
    return [TokenListed.model_validate(r) for r in rows]


@router.post("/account/password", response_model=PasswordChanged)
def change_password(
    body: PasswordChange, session: SessionDep, principal: AccountHolder, platform: PlatformDep
) -> PasswordChanged:
    """Change your password (the current one is needed). Your other sign-in sessions end;
    this one and the tokens issued for programs stay."""
    ended = accounts.change_password(
        session,
        principal,
        body.current_password,
        body.new_password,
        platform.settings.secret_key.get_secret_value(),
    )
    return PasswordChanged(sessions_ended=ended)


@router.get("/account/tokens", response_model=list[TokenListed])
def own_tokens(session: SessionDep, principal: AccountHolder) -> list[TokenListed]:
    """Your tokens and sessions, newest first: label, kind, created, last use, expiry."""
    user = accounts.own_user(session, principal)
    return _tokens(accounts.tokens_of(session, user, principal.token_id))


@router.delete("/account/tokens/{token_id}", status_code=204)
def revoke_own_token(token_id: RecordId, session: SessionDep, principal: LoggedIn) -> Response:
    """Revoke one of your tokens (not the one of this request: sign out for that)."""
    if token_id == principal.token_id:
        raise Conflict("this is the token of this request: sign out, or use another token")
    accounts.revoke_own_token(session, principal, token_id)
    return Response(status_code=204)


@router.post("/account/totp", response_model=TotpEnrolment, status_code=201)
def enrol_totp(
    session: SessionDep, principal: AccountHolder, platform: PlatformDep
) -> TotpEnrolment:
    """Start enrolling an authenticator app: its secret, shown only now, as text, as an
    otpauth URI and as a QR code. Confirm with a first code (`/account/totp/confirm`)."""
    made = totp.enrol(
        session,
        accounts.own_user(session, principal),
        platform.settings.secret_key.get_secret_value(),
    )
    return TotpEnrolment(secret=made.secret, otpauth_uri=made.uri, qr_svg=made.qr_svg)


@router.post("/account/totp/confirm", status_code=204)
def confirm_totp(
    body: TotpCode, session: SessionDep, principal: AccountHolder, platform: PlatformDep
) -> Response:
    """Confirm the app with the code it shows: from now on, sign-in needs a code."""
    totp.confirm(
        session,
        accounts.own_user(session, principal),
        body.code,
        platform.settings.secret_key.get_secret_value(),
    )
    return Response(status_code=204)


@router.post("/account/totp/remove", status_code=204)
def remove_totp(body: TotpRemoval, session: SessionDep, principal: LoggedIn) -> Response:
    """Remove your second factor (your password is needed). Where your role needs one, your
    next sign-in enrols a new one."""
    user = accounts.own_user(session, principal)
    if not passwords.verify(user.password_hash, body.password):
        raise InvalidInput.field("body.password", "this is not your current password")
    if not totp.remove(session, user):
        raise Conflict("you have no second factor")
    return Response(status_code=204)


@router.post("/users/{username}/deactivate", response_model=UserStatus)
def deactivate(
    username: Username, body: Reason, session: SessionDep, principal: LoggedIn
) -> UserStatus:
    """Shut an account off: it may not sign in, and every token and session ends now."""
    count = accounts.deactivate(session, principal, username, body.reason)
    return UserStatus(username=username, active=False, tokens_revoked=count)


@router.post("/users/{username}/reactivate", response_model=UserStatus)
def reactivate(
    username: Username, body: Reason, session: SessionDep, principal: LoggedIn
) -> UserStatus:
    """Let a deactivated account sign in again (its old tokens stay revoked)."""
    accounts.reactivate(session, principal, username, body.reason)
    return UserStatus(username=username, active=True)


@router.post("/users/{username}/reset-password", response_model=PasswordReset)
def reset_password(
    username: Username, body: Reason, session: SessionDep, principal: LoggedIn
) -> PasswordReset:
    """A one-time password, shown only now, that the user changes at the next sign-in; the
    user's tokens and sessions end."""
    password = accounts.reset_password(session, principal, username, body.reason)
    return PasswordReset(username=username, one_time_password=password)


@router.post("/users/{username}/reset-totp", status_code=204)
def reset_totp(
    username: Username, body: Reason, session: SessionDep, principal: LoggedIn
) -> Response:
    """Remove a user's second factor (a lost phone); the user's sign-in sessions end."""
    accounts.reset_totp(session, principal, username, body.reason)
    return Response(status_code=204)


@router.get("/users/{username}/tokens", response_model=list[TokenListed])
def user_tokens(username: Username, session: SessionDep, principal: LoggedIn) -> list[TokenListed]:
    """A user's tokens and sessions (administrators)."""
    user = accounts.managed_user(session, principal, username)
    return _tokens(accounts.tokens_of(session, user))


@router.get("/auth/throttles", response_model=list[ThrottleListed])
def list_throttles(
    session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> list[ThrottleListed]:
    """Account names and client addresses whose failed sign-ins still count, locked ones first
    (administrators: the CMCC's see all, an organization's those of its own users)."""
    memory = dt.timedelta(minutes=platform.settings.signin_lockout_minutes)
    rows = throttle.listing(session, principal, memory)
    return [ThrottleListed.model_validate(row) for row in rows]


@router.delete("/auth/throttles/{throttle_id}", status_code=204)
def clear_throttle(throttle_id: RecordId, session: SessionDep, principal: LoggedIn) -> Response:
    """Clear a delay or a lockout now (audited): the name or address may sign in again."""
    throttle.clear(session, principal, throttle_id)
    return Response(status_code=204)
