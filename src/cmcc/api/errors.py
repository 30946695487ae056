"""One error handler: every failure leaves as RFC 9457 problem+json with field paths."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from cmcc.api.limits import StartTracking
from cmcc.bootstrap import integrity_message
from cmcc.core.dbfaults import database_fault, fault_seen, watching
from cmcc.core.errors import Conflict, DomainError, FieldError, VersionConflict

PROBLEM = "application/problem+json"
TYPE_BASE = "https://cmcc.example/problems/"  # a name, never fetched
log = logging.getLogger(__name__)


def problem(
    status: int, code: str, title: str, detail: str, instance: str, errors: list[FieldError]
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _domain(request: Request, exc: DomainError) -> JSONResponse:
    return _problem_of(exc, request.url.path)


def _problem_of(exc: DomainError, instance: str) -> JSONResponse:
    response = problem(exc.http_status, exc.code, exc.title, exc.detail, instance, exc.errors)
    retry_after = getattr(exc, "retry_after", None)  # a database fault, too many failures
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


class DatabaseFaults:
    """ASGI middleware: a request that met a database fault (down, busy, full) is answered
    with it, 503 or 507 problem+json with Retry-After, whatever error the fault became on its
    way up (`cmcc.core.dbfaults`); any other error goes on to the server's 500 and its log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracking = StartTracking(send)
        with watching():
            try:
                await self.app(scope, receive, tracking)
            except Exception as exc:
                fault = database_fault(exc) or fault_seen()
                if fault is None or tracking.started:
                    raise  # a streamed answer is cut short: the client sees it incomplete
                # neither the path nor the client: a public path may carry a claim code
                log.warning("%s answered %s: %s", scope["method"], fault.http_status, fault.code)
                await _problem_of(fault, scope["path"])(scope, receive, send)


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    malformed = False
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        if err.get("type") == "json_invalid":
            malformed = True
            ctx = err.get("ctx") or {}
            errors.append(FieldError("body", f"malformed JSON: {ctx.get('error', err['msg'])}"))
        else:
            errors.append(FieldError(loc, err.get("msg", "invalid")))
    if malformed:
        return problem(
            400,
            "malformed-json",
            "Malformed JSON",
            "the body is not valid JSON",
            request.url.path,
            errors,
        )
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return problem(422, "invalid-input", "Invalid input", detail, request.url.path, errors)


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(
        exc.status_code, "http-error"
    )
    return problem(exc.status_code, code, str(exc.detail), str(exc.detail), request.url.path, [])


def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
    return _domain(request, VersionConflict("the record was changed by someone else; reload it"))


def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
    return _domain(request, Conflict(integrity_message(exc)))


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(StaleDataError, _stale)  # type: ignore[arg-type]
    app.add_exception_handler(IntegrityError, _integrity)  # type: ignore[arg-type]
