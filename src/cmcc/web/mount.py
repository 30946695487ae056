"""Mount the web interface on the API's application: static files, pages, the login redirect."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from cmcc.web import (
    access,
    account,
    aidflow,
    alerts,
    basemap,
    forces,
    funding,
    icon,
    incidents,
    map,
    notification_form,
    notifications,
    orbat,
    recovery,
    router,
    sitrep,
    tak,
    tasks,
    units,
)
from cmcc.web.auth import LoginRequired
from cmcc.web.templating import HERE

PAGE_ROUTERS = (
    router.router,
    account.router,
    map.router,
    basemap.router,
    incidents.router,
    alerts.router,
    access.router,
    notification_form.router,  # /notifications/new before /notifications/{lineage}
    notifications.router,
    forces.router,
    funding.router,
    aidflow.router,
    recovery.router,
    orbat.router,
    units.router,
    tasks.router,
    sitrep.router,
    tak.router,
    icon.router,
)


async def _to_login(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(exc.location, status_code=303)


def mount(app: FastAPI) -> None:
    for page_router in PAGE_ROUTERS:
        app.include_router(page_router)
    app.add_exception_handler(LoginRequired, _to_login)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
