"""The public tip routes (/public/tips): no login, and nothing that identifies the tipster.

Each route answers JSON to programs and HTML to the page's own form posts (a form body with
`Accept: text/html`). The claim code travels only in request bodies, never in a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from cmcc.api.deps import PlatformDep, SessionDep
from cmcc.api.errors import problem
from cmcc.config import Settings
from cmcc.core.errors import DomainError, InvalidInput, NotFound
from cmcc.tips import claimcode, page, service
from cmcc.tips.anonymity import PublicRoute
from cmcc.tips.schemas import (
    ChallengePublic,
    StatusQuery,
    TipReceipt,
    TipStatusPublic,
    TipSubmission,
)

router = APIRouter(prefix="/public/tips", tags=["public tips"], route_class=PublicRoute)
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
FORM_OVERHEAD = 65_536


def body_limits(settings: Settings) -> dict[str, int]:
    """The tip route takes a photo: its body limit is the photo's, whatever the global one."""
    return {"/public/tips": settings.tip_photo_max_bytes + FORM_OVERHEAD}


@dataclass(frozen=True)
class Posted:
    fields: dict[str, Any]
    photo: bytes | None
    html: bool


def _first_error(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in ("body", *first["loc"]))
    return InvalidInput.field(loc, first["msg"])


async def read_post(request: Request) -> Posted:
    """A JSON body, or a form (with at most one file, `photo`)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            return Posted(dict(await request.json()), None, False)
        except (ValueError, TypeError):
            raise InvalidInput.field("body", "malformed JSON") from None
    if ctype not in FORMS:
        raise InvalidInput.field("body", "send JSON or multipart/form-data")
    limit = request.app.state.platform.settings.tip_photo_max_bytes
    form = await request.form(max_files=1, max_fields=20)
    fields: dict[str, Any] = {}
    photo = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key == "photo" and value.filename:
                photo = await value.read(limit + 1)
            await value.close()
        elif value != "":
            fields[key] = value
    html = "text/html" in request.headers.get("accept", "")
    return Posted(fields, photo or None, html)


PostedDep = Annotated[Posted, Depends(read_post)]


def _model(schema: type[BaseModel], fields: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(fields)
    except ValidationError as exc:
        raise _first_error(exc) from None


def _posted(model: type[BaseModel]) -> dict[str, Any]:
    """The request body of a public POST (read by `posted`): JSON, or the page's form."""
    return {
        "requestBody": {
            "content": {
                "application/json": {"schema": model.model_json_schema()},
                "multipart/form-data": {"schema": {"type": "object"}},
            }
        }
    }


@router.get("", include_in_schema=True, response_class=Response)
def tip_page() -> Response:
    """The page for the public: Arabic first, the map, the form, the claim code check."""
    return page.form_page()


@router.get("/challenge", response_model=ChallengePublic)
def get_challenge(platform: PlatformDep) -> Any:
    made = service.issue_challenge(platform.settings)
    return ChallengePublic(challenge=made.token, bits=made.bits, expires_at=made.expires_at)


@router.post(
    "",
    response_model=TipReceipt,
    status_code=status.HTTP_201_CREATED,
    responses={429: {"description": "Too many tips this hour, from everyone together"}},
    openapi_extra=_posted(TipSubmission),
)
def submit_tip(posted: PostedDep, session: SessionDep, platform: PlatformDep) -> Any:
    """Send a tip; the answer holds the claim code, shown once (20 digits, grouped by 4)."""
    try:
        data = _model(TipSubmission, posted.fields)
        sent = service.Submitted(
            data.text, data.place, data.lon, data.lat, posted.photo, data.challenge, data.counter
        )
        with session.begin_nested():  # a refusal stores nothing, even when answered as HTML
            tip, code = service.submit_tip(session, platform.settings, sent)
    except DomainError as exc:
        if posted.html:
            return page.error_page(exc.http_status, exc.detail)
        raise
    if posted.html:
        return page.receipt_page(code, tip.text, tip.place)
    return TipReceipt(claim_code=claimcode.grouped(code), status=tip.status)


@router.post(
    "/status",
    response_model=TipStatusPublic,
    responses={404: {"description": "No tip opens with this claim code"}},
    openapi_extra=_posted(StatusQuery),
)
def tip_status(posted: PostedDep, session: SessionDep, platform: PlatformDep) -> Any:
    """The state of the tip a claim code opens, and a reward ready to collect. A wrong code and
    an unknown code get the same 404."""
    try:
        query = _model(StatusQuery, posted.fields)
        found = service.tip_status(
            session, platform.settings, query.code, query.challenge, query.counter
        )
    except DomainError as exc:
        if posted.html:
            return page.error_page(exc.http_status, exc.detail)
        raise
    if found is None:  # answered, not raised: the spent challenge is committed
        if posted.html:
            return page.error_page(404, service.NO_MATCH)
        gone = NotFound(service.NO_MATCH)
        return problem(404, gone.code, gone.title, gone.detail, "/public/tips/status", [])
    return page.status_page(found) if posted.html else found
