"""Hashing of audit entries: pure functions, shared by the writer and the verifier."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

import orjson


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):  # geometries (WKB): exact, so a changed shape is provable
        return value.hex()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not serializable in the audit log: {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return orjson.dumps(value, default=_default, option=orjson.OPT_SORT_KEYS).decode()


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    record_id: str,
    changes: str,
    prev_hash: str,
) -> str:
    body = canonical_json(
        [seq, at.astimezone(dt.UTC).isoformat(), actor, action, entity, record_id, changes]
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()
