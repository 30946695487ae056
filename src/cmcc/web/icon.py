"""The platform's icon at `/favicon.ico`, where browsers that ignore the pages' `<link rel="icon">`
(`/static/icon.svg`) ask for it anyway. Without it they would get a 404 for every page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from cmcc.web.templating import HERE

router = APIRouter(include_in_schema=False)
ICO = HERE / "static" / "favicon.ico"


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(
        ICO,
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
