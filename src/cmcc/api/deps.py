"""Typed dependencies, defined once: the platform, the unit of work, the caller, page params."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal, SessionLimited
from cmcc.access.service import authenticate
from cmcc.api.session import CSRF_HEADER, SESSION_COOKIE, csrf_matches
from cmcc.bootstrap import Platform
from cmcc.core.errors import Forbidden, InvalidInput, Unauthorized
from cmcc.core.schemas import CONTROL, MAX_ID

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def plain_parameters(request: Request) -> None:
    """No control character in a query or path parameter, as in bodies (`Input`): 422 naming
    it (found by the API fuzz: `?sector=` with a NUL was a 500 on PostgreSQL). Every route."""
    for where, params in (
        ("query", request.query_params.multi_items()),
        ("path", list(request.path_params.items())),
    ):
        for name, value in params:
            if isinstance(value, str) and (found := CONTROL.search(value)):
                message = f"may not contain the control character U+{ord(found[0]):04X}"
                raise InvalidInput.field(f"{where}.{name}", message)


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_session(request: Request, platform: PlatformDep) -> Iterator[Session]:
    """One transaction per request; writes take the write lock on SQLite up front."""
    write = request.method not in READ_METHODS
    with platform.unit_of_work(Principal.anonymous(), write=write) as session:
        yield session


# scope="function": the transaction commits before the response is sent. FastAPI's default
# ends a dependency with yield after the response has gone, so a client could read the old
# state right after a write's 200 (and a failed commit would never reach it).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _bearer(request: Request, secret: str) -> str | None:
    """The caller's token: `Authorization: Bearer <token>`, or the browser's session cookie,
    whose writes must carry the CSRF token (`cmcc.api.session`)."""
    header = request.headers.get("authorization")
    if not header:
        token = request.cookies.get(SESSION_COOKIE)
        write = request.method not in READ_METHODS
        if token and write and not csrf_matches(token, secret, request.headers.get(CSRF_HEADER)):
            raise Forbidden("a write from the browser needs the X-CSRF-Token header")
        return token or None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use Authorization: Bearer <token>")
    return token.strip()


BEARER = HTTPBearer(
    auto_error=False,
    description="An API token (`cmcc token create`); without one, the caller sees public records",
)
Declared = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
"""The bearer scheme, declared in the OpenAPI description of each operation that reads the
token; `_bearer` reads the header itself (and the browser's session cookie)."""


def get_account_principal(
    request: Request, session: SessionDep, platform: PlatformDep, _declared: Declared
) -> Principal:
    """The caller named by `Authorization: Bearer <token>` (or the session cookie), also when
    the session must first change its password or enrol a second factor: for the routes of
    the own account alone."""
    secret = platform.settings.secret_key.get_secret_value()
    token = _bearer(request, secret)
    if token is None:
        return Principal.anonymous()
    principal = authenticate(session, token, secret)
    session.info["actor"] = principal.actor
    return principal


AccountPrincipal = Annotated[Principal, Depends(get_account_principal)]


async def get_principal(principal: AccountPrincipal) -> Principal:
    """The caller named by `Authorization: Bearer <token>`; anonymous callers see public
    records. A session that must change its password or enrol a second factor gets 403."""
    if principal.limited_to is not None:
        raise SessionLimited(principal.limited_to)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def require_account_login(principal: AccountPrincipal) -> Principal:
    if principal.user_id is None:
        raise Unauthorized("this resource needs a token: Authorization: Bearer <token>")
    return principal


AccountHolder = Annotated[Principal, Depends(require_account_login)]
"""The signed-in user on the routes of their own account (limited sessions included)."""


async def require_login(principal: CurrentPrincipal) -> Principal:
    if principal.user_id is None:
        raise Unauthorized("this resource needs a token: Authorization: Bearer <token>")
    return principal


LoggedIn = Annotated[Principal, Depends(require_login)]

RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="The record's id")]
"""Every id in a path: 1 to 2^31-1 (what the INTEGER columns hold); 422 otherwise."""
OptionalRecordId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="A record's id")]
"""An id in a query filter, bounded like `RecordId`."""

Cursor = Annotated[str | None, Query(description="Cursor from the previous page's next_cursor")]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size (1-500)")]


def get_principal_briefly(
    request: Request, platform: PlatformDep, _declared: Declared
) -> Principal:
    """The caller, authenticated in a unit of work of its own that ends at once: for long
    responses (event streams) that must not hold a database session open."""
    secret = platform.settings.secret_key.get_secret_value()
    token = _bearer(request, secret)
    if token is None:
        return Principal.anonymous()
    with platform.unit_of_work(Principal.anonymous()) as session:
        principal = authenticate(session, token, secret)
    if principal.limited_to is not None:
        raise SessionLimited(principal.limited_to)
    return principal


StreamPrincipal = Annotated[Principal, Depends(get_principal_briefly)]


def still_signed_in(request: Request, platform: Platform) -> bool:
    """Whether the token of an open event stream is still good (not revoked, its user still
    active): streams ask at each keep-alive, and at once when the user's row changes."""
    secret = platform.settings.secret_key.get_secret_value()
    try:
        token = _bearer(request, secret)
        if token is None:
            return True
        with platform.unit_of_work(Principal.anonymous()) as session:
            authenticate(session, token, secret)
    except (Unauthorized, Forbidden):
        return False
    return True


def about_caller(event: dict[str, object], principal: Principal) -> bool:
    """A bus event after which an open stream of this caller checks its token again: a
    change of the caller's user row (deactivated, password reset)."""
    ids = event.get("ids")
    return (
        event.get("type") == "changed"
        and event.get("table") == "users"
        and isinstance(ids, list)
        and principal.user_id in ids
    )
