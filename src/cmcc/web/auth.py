"""Who is looking at a page: the session cookie, or a redirect to the login form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal, SessionLimit
from cmcc.access.service import authenticate
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.api.session import SESSION_COOKIE, csrf_token
from cmcc.core.errors import Unauthorized


class LoginRequired(Exception):
    """Raised by a page whose visitor has no valid session (or a session that must change its
    password or enrol a second factor first); answered with a redirect."""

    def __init__(self, next_path: str, location: str | None = None) -> None:
        self.location = location or "/login?next=" + quote(next_path, safe="/")


# Where a limited session is sent, whatever page it asks for.
LIMIT_PAGES = {
    SessionLimit.CHANGE_PASSWORD: "/account/password",
    SessionLimit.ENROL_TOTP: "/account",
}


@dataclass(frozen=True)
class Visitor:
    principal: Principal
    csrf: str


def visitor_of(request: Request, session: Session, secret: str) -> Visitor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal = authenticate(session, token, secret)
    except Unauthorized:
        return None
    session.info["actor"] = principal.actor
    return Visitor(principal, csrf_token(token, secret))


def require_account_visitor(
    request: Request, session: SessionDep, platform: PlatformDep
) -> Visitor:
    """The visitor, also with a session that must change its password or enrol a second
    factor first: for the pages of the own account."""
    visitor = visitor_of(request, session, platform.settings.secret_key.get_secret_value())
    if visitor is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return visitor


AccountVisitor = Annotated[Visitor, Depends(require_account_visitor)]


def require_visitor(visitor: AccountVisitor) -> Visitor:
    limit = visitor.principal.limited_to
    if limit is not None:
        raise LoginRequired("", LIMIT_PAGES[limit])
    return visitor


SignedIn = Annotated[Visitor, Depends(require_visitor)]
