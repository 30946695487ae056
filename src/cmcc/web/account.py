"""Web pages of the own account: the second factor (enrol, confirm, remove), the tokens and
sessions (with revoke), and the password change, which is also the page a session is sent
to after an administrator's reset. A session that must enrol a second factor first is sent to
/account. The forms write through the JSON API (/api/v1/account/...), except the enrolment,
which shows its secret once on the page that made it (nothing is kept in the browser)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from cmcc.access import accounts, passwords, totp
from cmcc.access.domain import SessionLimit
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.core.clock import utcnow
from cmcc.core.errors import DomainError
from cmcc.web.auth import AccountVisitor
from cmcc.web.templating import render

router = APIRouter(include_in_schema=False)


def _account_page(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    visitor: AccountVisitor,
    *,
    status_code: int = 200,
    enrolment: totp.Enrolment | None = None,
    error: str | None = None,
) -> Response:
    principal = visitor.principal
    user = accounts.own_user(session, principal)
    factor = totp.factor_of(session, user.id)
    return render(
        request,
        "account.html",
        visitor,
        status_code=status_code,
        tokens=accounts.tokens_of(session, user, principal.token_id),
        factor=factor,
        confirmed=factor is not None and factor.confirmed_at is not None,
        required=user.role in platform.settings.totp_roles,
        must_enrol=principal.limited_to is SessionLimit.ENROL_TOTP,
        enrolment=enrolment,
        error=error,
        now=utcnow(),
    )


@router.get("/account")
def account_page(
    request: Request, session: SessionDep, platform: PlatformDep, visitor: AccountVisitor
) -> Response:
    if visitor.principal.limited_to is SessionLimit.CHANGE_PASSWORD:
        return password_page(request, platform, visitor)
    return _account_page(request, session, platform, visitor)


@router.post("/account/totp")
def enrol_totp(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    visitor: AccountVisitor,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A new secret, shown on this page only, with the form to confirm it with a code."""
    if not hmac.compare_digest(visitor.csrf, csrf_token):
        return _account_page(
            request,
            session,
            platform,
            visitor,
            status_code=403,
            error="The form expired. Reload the page and try again.",
        )
    try:
        with session.begin_nested():
            made = totp.enrol(
                session,
                accounts.own_user(session, visitor.principal),
                platform.settings.secret_key.get_secret_value(),
            )
    except DomainError as exc:
        return _account_page(
            request, session, platform, visitor, status_code=exc.http_status, error=exc.detail
        )
    return _account_page(request, session, platform, visitor, enrolment=made)


@router.get("/account/password")
def password_page(request: Request, platform: PlatformDep, visitor: AccountVisitor) -> Response:
    forced = visitor.principal.limited_to is SessionLimit.CHANGE_PASSWORD
    return render(
        request,
        "account_password.html",
        visitor,
        forced=forced,
        min_length=platform.settings.password_min_length,
        max_length=passwords.MAX_LENGTH,
    )
