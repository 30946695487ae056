"""REST routes of the audit log (auditors and admins): the entries about records the reader may
see (cmcc.audit.visibility), and the check of the whole chain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from cmcc.access.domain import Permission, require
from cmcc.api.deps import Cursor, Limit, LoggedIn, SessionDep
from cmcc.audit import service

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    record_id: str
    changes: str
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    data: list[AuditEntryPublic]
    next_cursor: str | None


class VerifyPublic(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None


@router.get("", response_model=AuditPage)
def list_entries(
    session: SessionDep,
    principal: LoggedIn,
    entity: str | None = None,
    record_id: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    require(principal, Permission.READ_AUDIT)
    entries, next_cursor = service.list_entries(
        session, principal.viewer, entity=entity, record_id=record_id, cursor=cursor, limit=limit
    )
    return {"data": entries, "next_cursor": next_cursor}


@router.get("/verify", response_model=VerifyPublic)
def verify(session: SessionDep, principal: LoggedIn) -> Any:
    require(principal, Permission.READ_AUDIT)
    return service.verify(session).__dict__
