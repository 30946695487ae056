"""Jinja2 rendering with the page's security headers, the navigation and the CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cmcc import __version__
from cmcc.core.releasability import Marking, MarkingError, MarkingKind
from cmcc.web.auth import Visitor
from cmcc.web.nav import nav_for
from cmcc.web.words import incident_ref, label, table

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

# Everything from this server; no inline script, no inline style, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def marking_label(text: str | None) -> str:
    """How a releasability marking reads on a record: PUBLIC, MISSION, OWNER, REL TO A, B."""
    if not text:
        return "UNMARKED"
    try:
        marking = Marking.parse(text)
    except MarkingError:
        return text.upper()
    if marking.kind is MarkingKind.REL:
        return "REL TO " + ", ".join(sorted(marking.release_to))
    return marking.kind.value.upper()


templates.env.filters["marking"] = marking_label
templates.env.globals["label"] = label
templates.env.globals["incident_ref"] = incident_ref
templates.env.globals["words_json"] = orjson.dumps(table()).decode()
templates.env.globals["version"] = __version__


def render(
    request: Request,
    name: str,
    visitor: Visitor | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    principal = visitor.principal if visitor else None
    response = templates.TemplateResponse(
        request,
        name,
        {
            "visitor": visitor,
            "principal": principal,
            "nav": nav_for(principal) if principal and not principal.limited_to else [],
            "csrf": visitor.csrf if visitor else "",
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )
    response.headers.update(SECURITY_HEADERS)
    return response
