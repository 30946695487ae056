"""Organizations, users, passwords (Argon2id) and API tokens (stored only as keyed hashes)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access import last_use, passwords, totp
from cmcc.access.domain import OrgKind, Principal, Role, SessionLimit, SessionLimited
from cmcc.access.models import ApiToken, Organization, User
from cmcc.core.clock import utcnow
from cmcc.core.codes import is_nation_code
from cmcc.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from cmcc.core.releasability import CODE_RE, Marking, MarkingError

if TYPE_CHECKING:
    from cmcc.config import Settings

TOKEN_PREFIX = "cmcc_"  # noqa: S105 - a visible prefix, not a secret
hash_password = passwords.hash_password  # for passwords the platform makes (no policy)


class TokenKind:
    ISSUED = "issued"  # by the operator (`cmcc token create`)
    LOGIN = "login"  # POST /api/v1/auth/login
    WEB = "web"  # a browser's session (the cmcc_session cookie)


SIGN_IN_KINDS = frozenset({TokenKind.LOGIN, TokenKind.WEB})  # made by a password sign-in


class CodeRequired(Unauthorized):
    """The password was right, but the account has a second factor and no code came: not a
    failed guess."""

    code = "totp-code-required"
    title = "A code from the authenticator app is needed"


class WrongPassword(Unauthorized):
    """A wrong password, or a user name unknown or inactive (the same answer for each): a
    failed sign-in."""


class WrongCode(Unauthorized):
    """The password was right and the code wrong or used before: a failed sign-in (a sign-in
    throttle counts it like a wrong password)."""

    code = "totp-code-wrong"
    title = "Wrong code"


def settings_in(session: Session) -> Settings:
    from cmcc.bootstrap import settings_of  # the composition root imports this module

    return settings_of(session)


def chosen_password_hash(session: Session, password: str, username: str, field: str) -> str:
    """The hash of a password a person chose, after the policy (422 on `field` if refused)."""
    min_length = settings_in(session).password_min_length
    return passwords.checked_hash(password, username, min_length, field)


def token_hash(token: str, secret: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def principal_of(user: User) -> Principal:
    org = user.organization
    return Principal(user.id, user.username, org.id, org.code, org.is_member, Role(user.role))


def org_by_code(session: Session, code: str) -> Organization:
    org = session.scalars(select(Organization).where(Organization.code == code.upper())).first()
    if org is None:
        raise NotFound(f"organization {code!r} not found")
    return org


def upsert_organization(
    session: Session, code: str, name: str, kind: OrgKind, *, is_member: bool = True
) -> Organization:
    code = code.upper()
    if not CODE_RE.match(code):
        raise InvalidInput.field(
            "code", "use 2-32 capitals, digits or '-' (ISO alpha-3 for nations)"
        )
    org = session.scalars(select(Organization).where(Organization.code == code)).first()
    if org is None:
        org = Organization(code=code, name=name, kind=kind.value, is_member=is_member)
        session.add(org)
    else:
        if org.name != name:
            org.name = name
        if org.kind != kind.value:
            org.kind = kind.value
        if org.is_member != is_member:
            org.is_member = is_member
    session.flush()
    return org


def create_organization(
    session: Session, code: str, name: str, kind: OrgKind, *, is_member: bool = True
) -> Organization:
    if session.scalars(select(Organization.id).where(Organization.code == code.upper())).first():
        raise Conflict(f"organization {code.upper()!r} already exists")
    return upsert_organization(session, code, name, kind, is_member=is_member)


def add_user(
    session: Session, username: str, org_code: str, role: Role, password: str | None = None
) -> User:
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise Conflict(f"user {username!r} already exists")
    org = org_by_code(session, org_code)
    user = User(
        username=username,
        org_id=org.id,
        role=role.value,
        password_hash=(
            chosen_password_hash(session, password, username, "password") if password else None
        ),
    )
    user.organization = org
    session.add(user)
    session.flush()
    return user


def user_by_name(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"user {username!r} not found")
    return user


def create_token(
    session: Session,
    user: User,
    secret: str,
    *,
    label: str = "",
    ttl_days: int | None = None,
    kind: str = TokenKind.ISSUED,
) -> str:
    """Issue a token; only its keyed hash is stored, the token itself is returned once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_hash(token, secret),
            label=label,
            kind=kind,
            created_at=now,
            expires_at=now + dt.timedelta(days=ttl_days) if ttl_days else None,
        )
    )
    session.flush()
    return token


def session_limit(session: Session, user: User, kind: str) -> SessionLimit | None:
    """What a token of this kind must do first: change the password after an administrator's
    reset (any token); enrol a second factor when the role needs one and a password sign-in
    made the token (tokens the operator issues are not sign-ins)."""
    if user.password_must_change:
        return SessionLimit.CHANGE_PASSWORD
    if (
        kind in SIGN_IN_KINDS
        and user.role in settings_in(session).totp_roles
        and not totp.has_confirmed(session, user.id)
    ):
        return SessionLimit.ENROL_TOTP
    return None


def authenticate(session: Session, token: str, secret: str) -> Principal:
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash(token, secret))
    ).first()
    if row is None:
        raise Unauthorized("the token is not valid")
    api_token, user = row
    if api_token.revoked or not user.active:
        raise Unauthorized("the token has been revoked")
    if api_token.expires_at is not None and api_token.expires_at <= utcnow():
        raise Unauthorized("the token has expired")
    last_use.note_use(session, api_token)
    limit = session_limit(session, user, api_token.kind)
    return dataclasses.replace(principal_of(user), limited_to=limit, token_id=api_token.id)


def check_password(session: Session, username: str, password: str) -> User:
    """The active user with this name and password, or 401. Unknown users, users without a
    password and wrong passwords get the same answer, and take as long."""
    user = session.scalars(select(User).where(User.username == username)).first()
    stored = user.password_hash if user is not None and user.active else None
    if not passwords.verify(stored, password) or user is None:
        raise WrongPassword("wrong user name or password")
    return user


def check_code(session: Session, user: User, code: str | None, secret: str) -> None:
    """The second step of a sign-in, for a user with a confirmed second factor: the current
    code, never one used before (it is spent here). CodeRequired (no code: not a failure) or
    WrongCode (a failed sign-in)."""
    if not totp.has_confirmed(session, user.id):
        return
    if not code:
        raise CodeRequired("this account signs in with a code from its authenticator app too")
    if not totp.accept(session, user.id, code.strip(), secret, spend=True):
        raise WrongCode("wrong code, or a code already used: wait for the next one")


def check_device_sign_in(
    session: Session, username: str, password: str, secret: str, *, spend: bool
) -> User:
    """A sign-in from a device that can send only a user name and a password (HTTP Basic: TAK
    enrollment). A user with a second factor types the current code right after the password
    (`password123456`); with `spend`, the request that issues a credential uses the code up,
    the others of the same enrollment only check it. 401 as `check_password`, WrongCode, or
    403 for an account that must first change its password or enrol a second factor (on the
    web)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    code = None
    if user is not None and totp.has_confirmed(session, user.id):
        password, code = password[:-6], password[-6:]
    user = check_password(session, username, password)
    if code is not None:
        ok = (
            totp.accept(session, user.id, code, secret, spend=True)
            if spend
            else totp.accept_again(session, user.id, code, secret)
        )
        if not ok:
            raise WrongCode("wrong code after the password, or a code already used")
    limit = session_limit(session, user, TokenKind.LOGIN)
    if limit is not None:
        raise SessionLimited(limit)
    return user


def login(
    session: Session,
    username: str,
    password: str,
    secret: str,
    ttl_days: int,
    *,
    code: str | None = None,
    kind: str = TokenKind.LOGIN,
) -> str:
    """Exchange a password (and, for a user with a second factor, its current code) for a
    new token. Refusals are Unauthorized: a wrong password or unknown user, WrongCode (both
    failed sign-ins), or CodeRequired (the password was right)."""
    user = check_password(session, username, password)
    check_code(session, user, code, secret)
    return create_token(session, user, secret, label=kind, ttl_days=ttl_days, kind=kind)


def list_organizations(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.code)))


def resolve_marking(session: Session, text: str) -> Marking:
    """Parse a marking and check that every code in a rel: list names a known organization
    or an ISO 3166 alpha-3 nation."""
    try:
        marking = Marking.parse(text)
    except MarkingError as exc:
        raise InvalidInput.field("body.releasability", str(exc)) from None
    if marking.release_to:
        known = set(
            session.scalars(
                select(Organization.code).where(Organization.code.in_(marking.release_to))
            )
        )
        unknown = sorted(c for c in marking.release_to - known if not is_nation_code(c))
        if unknown:
            raise InvalidInput.field(
                "body.releasability", f"unknown nation or organization: {', '.join(unknown)}"
            )
    return marking


def revoke_tokens(session: Session, user: User, label: str | None = None) -> int:
    """Revoke the user's live tokens (those with `label`, or all); return how many."""
    stmt = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    if label is not None:
        stmt = stmt.where(ApiToken.label == label)
    tokens = session.scalars(stmt).all()
    for token in tokens:
        token.revoked = True
    session.flush()
    return len(tokens)


def revoke_token(session: Session, token: str, secret: str) -> bool:
    """Revoke one token (a browser signing out); False if it was unknown or already revoked."""
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_hash(token, secret))
    ).first()
    if row is None or row.revoked:
        return False
    row.revoked = True
    session.flush()
    return True
