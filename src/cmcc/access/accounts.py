"""Accounts: deactivation and reactivation, the own password and an administrator's reset, the
second factor's reset, tokens listed and revoked.

An administrator (`manage_access`) manages the users of their own organization; the centre's
administrators (an organization of kind `cmcc`) manage every user. Other users are not found
(404), as a hidden record is. The operator at the command line manages everyone. Each action
of an administrator is an audit entry on the user (`deactivate`, `reactivate`,
`reset_password`, `reset_totp`) naming the reason, besides the entries of the rows it changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access import passwords, totp
from cmcc.access.domain import OrgKind, Permission, Principal, require
from cmcc.access.models import ApiToken, Organization, SignInThrottle, User
from cmcc.access.service import SIGN_IN_KINDS, chosen_password_hash
from cmcc.audit.service import record_entries
from cmcc.core.errors import Conflict, InvalidInput, NotFound

MAX_REASON = 500


@dataclass(frozen=True)
class TokenRow:
    id: int
    label: str
    kind: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked: bool
    current: bool = False


def _reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise InvalidInput.field("body.reason", "say why (it goes into the audit log)")
    if len(text) > MAX_REASON:
        raise InvalidInput.field("body.reason", f"at most {MAX_REASON} characters")
    return text


def manages_all(session: Session, actor: Principal) -> bool:
    """An administrator of the CMCC (or the operator) manages every organization's users; an
    organization's administrator only its own."""
    require(actor, Permission.MANAGE_ACCESS)
    if actor.system:
        return True
    kind = session.scalar(select(Organization.kind).where(Organization.id == actor.org_id))
    return kind == OrgKind.CMCC.value


def managed_user(session: Session, actor: Principal, username: str) -> User:
    """The user an administrator may manage, or 403 (the role) / 404 (another organization)."""
    all_users = manages_all(session, actor)
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is not None and not all_users and user.org_id != actor.org_id:
        user = None
    if user is None:
        raise NotFound(f"user {username!r} not found")
    return user


def _revoke(session: Session, user: User, kinds: frozenset[str] | None, keep: int | None) -> int:
    stmt = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    if kinds is not None:
        stmt = stmt.where(ApiToken.kind.in_(kinds))
    if keep is not None:
        stmt = stmt.where(ApiToken.id != keep)
    tokens = session.scalars(stmt).all()
    for token in tokens:
        token.revoked = True
    session.flush()
    return len(tokens)


def _audit(session: Session, action: str, user: User, **changes: object) -> None:
    record_entries(session, [(action, User.__tablename__, str(user.id), dict(changes))])


def _not_self(actor: Principal, user: User, what: str) -> None:
    if actor.user_id == user.id:
        raise Conflict(f"you may not {what} your own account; ask another administrator")


def deactivate(session: Session, actor: Principal, username: str, reason: str) -> int:
    """Shut the account off: no sign-in, and every token and web session ends now (their
    next request gets 401; open event streams end). Returns how many tokens were revoked."""
    user = managed_user(session, actor, username)
    why = _reason(reason)
    _not_self(actor, user, "deactivate")
    if not user.active:
        raise Conflict(f"user {username!r} is already deactivated")
    user.active = False
    count = _revoke(session, user, None, None)
    _audit(session, "deactivate", user, reason=why, tokens_revoked=count)
    return count


def reactivate(session: Session, actor: Principal, username: str, reason: str) -> None:
    """The account may sign in again (its old tokens stay revoked)."""
    user = managed_user(session, actor, username)
    why = _reason(reason)
    if user.active:
        raise Conflict(f"user {username!r} is active")
    user.active = True
    session.flush()
    _audit(session, "reactivate", user, reason=why)


def reset_password(session: Session, actor: Principal, username: str, reason: str) -> str:
    """A one-time password (returned once, stored as a hash) that the user must change at the
    next sign-in; every token and session of the user ends."""
    user = managed_user(session, actor, username)
    why = _reason(reason)
    _not_self(actor, user, "reset the password of")
    password = passwords.one_time_password()
    user.password_hash = passwords.hash_password(password)
    user.password_must_change = True
    count = _revoke(session, user, None, None)
    for row in session.scalars(select(SignInThrottle).where(SignInThrottle.user_id == user.id)):
        session.delete(row)  # a lockout ends with the reset

    _audit(session, "reset_password", user, reason=why, tokens_revoked=count)
    return password


def reset_totp(session: Session, actor: Principal, username: str, reason: str) -> None:
    """Remove the user's second factor (a lost phone); the user's sign-in sessions end, so the
    next sign-in enrols again where the role needs it. Tokens issued by the operator stay."""
    user = managed_user(session, actor, username)
    why = _reason(reason)
    if not totp.remove(session, user):
        raise Conflict(f"user {username!r} has no second factor")
    count = _revoke(session, user, SIGN_IN_KINDS, None)
    _audit(session, "reset_totp", user, reason=why, tokens_revoked=count)


def change_password(
    session: Session, principal: Principal, current: str, new: str, secret: str
) -> int:
    """The signed-in user's new password (the current one is needed). The user's other
    sign-in sessions end (this one stays); tokens issued for programs stay. Returns how many
    sessions ended."""
    user = session.get(User, principal.user_id) if principal.user_id else None
    if user is None:
        raise NotFound("no such user")
    if not passwords.verify(user.password_hash, current):
        raise InvalidInput.field("body.current_password", "this is not your current password")
    if current == new:
        raise InvalidInput.field("body.new_password", "the new password must differ")
    user.password_hash = chosen_password_hash(session, new, user.username, "body.new_password")
    user.password_must_change = False
    return _revoke(session, user, SIGN_IN_KINDS, principal.token_id)


def tokens_of(session: Session, user: User, current: int | None = None) -> list[TokenRow]:
    """The user's tokens, newest first, revoked and expired ones included."""
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    )
    return [
        TokenRow(
            t.id,
            t.label,
            t.kind,
            t.created_at,
            t.last_used_at,
            t.expires_at,
            t.revoked,
            t.id == current,
        )
        for t in rows
    ]


def own_user(session: Session, principal: Principal) -> User:
    user = session.get(User, principal.user_id) if principal.user_id else None
    if user is None:
        raise NotFound("no such user")
    return user


def revoke_own_token(session: Session, principal: Principal, token_id: int) -> None:
    """Revoke one of the caller's tokens by id (404 for another user's)."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != principal.user_id:
        raise NotFound(f"token {token_id} not found")
    if token.revoked:
        raise Conflict(f"token {token_id} is already revoked")
    token.revoked = True
    session.flush()
