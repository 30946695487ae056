"""create_app(): mounts each module's router behind one error handler and the body limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from cmcc import __version__
from cmcc.access.account_router import router as account_router
from cmcc.access.router import router as access_router
from cmcc.api import errors, health, openapi
from cmcc.api.clients import ClientAddresses
from cmcc.api.deps import plain_parameters
from cmcc.api.limits import BodyLimit
from cmcc.audit.router import router as audit_router
from cmcc.bootstrap import Platform, bootstrap
from cmcc.command.exchange_router import router as orbat_exchange_router
from cmcc.command.ogc import UnitCollection
from cmcc.command.router import router as command_router
from cmcc.command.sitrep_router import router as sitrep_router
from cmcc.command.tasking_router import router as tasking_router
from cmcc.cot.ogc import TrackCollection
from cmcc.forces.router import router as forces_router
from cmcc.funding.exports.router import router as funding_export_router
from cmcc.funding.flows_router import router as funding_flows_router
from cmcc.funding.ogc import ProjectCollection
from cmcc.funding.router import router as funding_router
from cmcc.hazards.ogc import HazardCollection
from cmcc.hazards.router import router as hazards_router
from cmcc.humanitarian.access_router import router as access_constraints_router
from cmcc.humanitarian.aidflow_router import router as aidflow_router
from cmcc.humanitarian.exchange_router import router as humanitarian_exchange_router
from cmcc.humanitarian.ogc import MovementCollection, SiteCollection
from cmcc.humanitarian.router import router as humanitarian_router
from cmcc.incidents.exchange_router import router as incidents_exchange_router
from cmcc.incidents.ogc import IncidentCollection
from cmcc.incidents.router import router as incidents_router
from cmcc.interop.ogcapi import registry
from cmcc.interop.ogcapi.router import router as ogcapi_router
from cmcc.remains.ogc import SearchTaskCollection
from cmcc.remains.router import router as remains_router
from cmcc.tips.public_router import body_limits as public_tip_body_limits
from cmcc.tips.public_router import router as public_tips_router
from cmcc.tips.router import router as tips_router
from cmcc.web.mount import mount as mount_web
from cmcc.zones.ogc import ZoneCollection
from cmcc.zones.router import router as zones_router

# The routes that sign in with a password: their requests keep a keyed hash of the client's
# address, for the sign-in throttle (cmcc.api.clients, cmcc.access.throttle).
SIGN_IN_PATHS = frozenset({"/api/v1/auth/login", "/login"})
DESCRIPTION = """Coordination platform of the International Stabilization Force and the
Civil-Military Coordination Centre. Every record carries a releasability marking; a record the
caller may not see answers 404, like one that does not exist. Errors are RFC 9457 problem+json."""


def create_app(platform: Platform | None = None) -> FastAPI:
    platform = platform or bootstrap()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await platform.bus.start()  # NATS, when CMCC_NATS_URL is set
        try:
            yield
        finally:
            await platform.bus.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="CMCC",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # the interactive docs load scripts from a CDN: not in an air-gapped build
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(plain_parameters)],
    )
    app.state.platform = platform
    errors.install(app)
    for collection in (
        ZoneCollection(),
        IncidentCollection(),
        HazardCollection(),
        SearchTaskCollection(),
        ProjectCollection(),
        TrackCollection(),
        UnitCollection(),
        SiteCollection(),
        MovementCollection(),
    ):
        registry.register(collection)
    for router in (
        health.router,
        access_router,
        account_router,
        forces_router,
        orbat_exchange_router,  # before the command router: /orbat/{...} would catch /export
        zones_router,
        incidents_exchange_router,  # before /incidents/{incident_id}, which would catch /export
        incidents_router,
        access_constraints_router,
        hazards_router,
        remains_router,
        tips_router,
        funding_router,
        funding_flows_router,
        funding_export_router,
        aidflow_router,
        command_router,
        tasking_router,
        sitrep_router,
        humanitarian_exchange_router,  # before /notifications/{lineage}, which catches /export
        humanitarian_router,
        public_tips_router,
        audit_router,
        ogcapi_router,
    ):
        app.include_router(router)
    mount_web(app)  # the pages at /, after the API so that /api and /public come first
    openapi.install(app)  # links from each create to the operations on what it created
    app.add_middleware(errors.DatabaseFaults)  # inside the others: they never see a fault
    app.add_middleware(
        BodyLimit,
        max_bytes=platform.settings.max_body_bytes,
        per_path=public_tip_body_limits(platform.settings),
    )
    app.add_middleware(  # the outermost: no request keeps its address
        ClientAddresses,
        trusted_proxies=platform.settings.trusted_proxies,
        secret=platform.settings.secret_key.get_secret_value(),
        sign_in_paths=SIGN_IN_PATHS,
    )
    return app
