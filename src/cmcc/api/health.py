"""Health, for a load balancer or an orchestrator in front of several instances. Open to all
and naming no record: whether this instance answers, and whether what it depends on does.

- `GET /api/v1/health`: ready to serve: its database answers and, when CMCC_NATS_URL is set,
  its broker is connected; 503 otherwise, with what is missing (take it out of rotation).
- `GET /api/v1/health/live`: the process answers (restart it when it does not)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from cmcc import __version__
from cmcc.api.deps import PlatformDep
from cmcc.bootstrap import Platform

router = APIRouter(prefix="/api/v1/health", tags=["health"])


class Health(BaseModel):
    status: str  # ok, unavailable
    database: str  # the backend: sqlite, postgresql
    version: str
    database_ok: bool
    database_ms: float | None
    broker: dict[str, Any]  # kind (in-process, nats), ok, and for NATS its state and servers


@router.get(
    "",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database or the broker is down"}},
)
def ready(platform: PlatformDep) -> JSONResponse:
    """Whether this instance can serve (503 when not, with what is missing)."""
    ok_db, ms = database_answers(platform)
    broker = platform.bus.status()
    ok = ok_db and bool(broker["ok"])
    body = Health(
        status="ok" if ok else "unavailable",
        database=platform.engine.dialect.name,
        version=__version__,
        database_ok=ok_db,
        database_ms=ms,
        broker=broker,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@router.get("/live")
def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


def database_answers(platform: Platform) -> tuple[bool, float | None]:
    started = time.perf_counter()
    try:
        with platform.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False, None
    return True, round((time.perf_counter() - started) * 1000, 1)
