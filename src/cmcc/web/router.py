"""Sign in and out, the front page, and the pages of each module (mounted in create_app)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cmcc.access import service, throttle
from cmcc.access.domain import Principal
from cmcc.api.clients import client_key
from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.api.session import CSRF_FIELD, SESSION_COOKIE, csrf_matches
from cmcc.core.errors import TooManyAttempts, Unauthorized
from cmcc.web.auth import visitor_of
from cmcc.web.templating import render

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "cmcc_login"  # double-submit token of the login form (no session yet)


def _safe_next(path: str | None) -> str:
    """Only a path on this server: never `//host` or a scheme (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/map"
    return path


def _refusal(exc: Unauthorized | TooManyAttempts) -> str:
    if isinstance(exc, TooManyAttempts):
        return exc.detail[0].upper() + exc.detail[1:] + "."
    if isinstance(exc, service.CodeRequired):
        return "Your account needs the code from your authenticator app: type it too."
    if isinstance(exc, service.WrongCode):
        return "Wrong code, or a code already used: wait for the next one and try again."
    return "Wrong user name or password."


@router.get("/")
def index(request: Request, session: SessionDep, platform: PlatformDep) -> Response:
    visitor = visitor_of(request, session, platform.settings.secret_key.get_secret_value())
    return RedirectResponse("/map" if visitor else "/login", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None, error: str | None = None) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, next=_safe_next(next), login_nonce=nonce, error=error
    )
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", max_age=1800)
    return response


@router.post("/login")
def login(
    request: Request,
    platform: PlatformDep,
    username: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=1024)],
    login_nonce: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=2000)] = "/map",
    code: Annotated[str | None, Form(max_length=12)] = None,
) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, login_nonce):
        return login_form(request, next, "The form expired. Please sign in again.")
    settings = platform.settings

    def sign_in() -> str:
        with platform.unit_of_work(Principal.anonymous(), write=True) as session:
            session.info["actor"] = username
            return service.login(
                session,
                username,
                password,
                settings.secret_key.get_secret_value(),
                settings.token_ttl_days,
                code=code,
                kind=service.TokenKind.WEB,
            )

    attempt = throttle.Attempt(username, client_key(request))
    try:
        token = throttle.Throttle(platform).guarded(attempt, sign_in)
    except (Unauthorized, TooManyAttempts) as exc:
        response = login_form(request, next, _refusal(exc))
        response.status_code = exc.http_status
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=settings.token_ttl_days * 86400,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    secret = platform.settings.secret_key.get_secret_value()
    if token and csrf_matches(token, secret, csrf_token):
        service.revoke_token(session, token, secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
