"""create_app(): mounts each module's router behind one error handler and the body limit."""

from __future__ import annotations

from fastapi import FastAPI

from cmcc import __version__
from cmcc.access.router import router as access_router
from cmcc.api import errors
from cmcc.api.limits import BodyLimit
from cmcc.audit.router import router as audit_router
from cmcc.bootstrap import Platform, bootstrap
from cmcc.forces.router import router as forces_router

DESCRIPTION = """Coordination platform of the International Stabilization Force and the
Civil-Military Coordination Centre. Every record carries a releasability marking; a record the
caller may not see answers 404, like one that does not exist. Errors are RFC 9457 problem+json."""


def create_app(platform: Platform | None = None) -> FastAPI:
    platform = platform or bootstrap()
    app = FastAPI(
        title="CMCC",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # the interactive docs load scripts from a CDN: not in an air-gapped build
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.platform = platform
    errors.install(app)
    for router in (access_router, forces_router, audit_router):
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=platform.settings.max_body_bytes)
    return app
