"""REST routes of access: health, login, the caller, organizations."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, status

from cmcc.access import service, throttle, totp
from cmcc.access.domain import Permission, Principal, require
from cmcc.access.schemas import (
    Login,
    Me,
    OrganizationCreate,
    OrganizationPublic,
    TokenPublic,
)
from cmcc.api.clients import client_key
from cmcc.api.deps import AccountPrincipal, LoggedIn, PlatformDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["access"])


@router.post(
    "/auth/login",
    response_model=TokenPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        401: {"description": "Wrong user name or password, or a code wrong or missing"},
        429: {"description": "Too many failed sign-ins for this user name or address"},
    },
)
def login(body: Login, request: Request, platform: PlatformDep) -> TokenPublic:
    """Sign in for a token. Failed sign-ins are throttled per user name and per client address
    (429 with Retry-After; docs/security.md, "Sign-in throttling")."""
    ttl = platform.settings.token_ttl_days

    def sign_in() -> str:
        with platform.unit_of_work(Principal.anonymous(), write=True) as session:
            session.info["actor"] = body.username
            return service.login(
                session,
                body.username,
                body.password,
                platform.settings.secret_key.get_secret_value(),
                ttl,
                code=body.code,
            )

    attempt = throttle.Attempt(body.username, client_key(request))
    token = throttle.Throttle(platform).guarded(attempt, sign_in)
    return TokenPublic(token=token, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=ttl))


@router.get("/auth/me", response_model=Me)
def me(principal: AccountPrincipal, session: SessionDep) -> Me:
    """The caller; `must` says what a limited session must do first."""
    return Me(
        username=principal.username,
        organization=principal.org_code,
        role=principal.role,
        member=principal.org_is_member,
        must=principal.limited_to,
        second_factor=bool(principal.user_id)
        and totp.has_confirmed(session, principal.user_id or 0),
    )


@router.get("/organizations", response_model=list[OrganizationPublic])
def list_organizations(session: SessionDep, _principal: LoggedIn) -> list[OrganizationPublic]:
    return [OrganizationPublic.model_validate(o) for o in service.list_organizations(session)]


@router.post("/organizations", response_model=OrganizationPublic, status_code=201)
def create_organization(
    body: OrganizationCreate, session: SessionDep, principal: LoggedIn
) -> OrganizationPublic:
    require(principal, Permission.MANAGE_ACCESS)
    org = service.create_organization(
        session, body.code, body.name, body.kind, is_member=body.is_member
    )
    return OrganizationPublic.model_validate(org)
