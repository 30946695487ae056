"""Who is looking at a page: the session cookie, or a redirect to the login form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.access.service import authenticate
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.api.session import SESSION_COOKIE, csrf_token
from cmcc.core.errors import Unauthorized


class LoginRequired(Exception):
    """Raised by a page whose visitor has no valid session; answered with a redirect."""

    def __init__(self, next_path: str) -> None:
        self.location = "/login?next=" + quote(next_path, safe="/")


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


def require_visitor(request: Request, session: SessionDep, platform: PlatformDep) -> Visitor:
    visitor = visitor_of(request, session, platform.settings.secret_key.get_secret_value())
    if visitor is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return visitor


SignedIn = Annotated[Visitor, Depends(require_visitor)]
