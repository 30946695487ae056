"""Organizations, users, passwords (Argon2id) and API tokens (stored only as keyed hashes)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.models import ApiToken, Organization, User
from cmcc.core.clock import utcnow
from cmcc.core.codes import is_nation_code
from cmcc.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from cmcc.core.releasability import CODE_RE, Marking, MarkingError

TOKEN_PREFIX = "cmcc_"  # noqa: S105 - a visible prefix, not a secret
_hasher = PasswordHasher()  # Argon2id with the library's recommended parameters


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user has none (or does not exist), so that a failed
    sign-in takes as long either way; made on first use, not at import."""
    return _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InvalidInput.field("password", "must be at least 8 characters")
    return _hasher.hash(password)


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
        password_hash=hash_password(password) if password else None,
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
    session: Session, user: User, secret: str, *, label: str = "", ttl_days: int | None = None
) -> str:
    """Issue a token; only its keyed hash is stored, the token itself is returned once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_hash(token, secret),
            label=label,
            created_at=now,
            expires_at=now + dt.timedelta(days=ttl_days) if ttl_days else None,
        )
    )
    session.flush()
    return token


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
    return principal_of(user)


def check_password(session: Session, username: str, password: str) -> User:
    """The active user with this name and password, or 401. Unknown users, users without a
    password and wrong passwords get the same answer, and take as long."""
    user = session.scalars(select(User).where(User.username == username)).first()
    stored = user.password_hash if user is not None and user.active else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
        ok = stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        raise Unauthorized("wrong user name or password")
    return user


def login(session: Session, username: str, password: str, secret: str, ttl_days: int) -> str:
    """Exchange a password for a new token."""
    user = check_password(session, username, password)
    return create_token(session, user, secret, label="login", ttl_days=ttl_days)


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
