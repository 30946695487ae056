"""Which records a transaction wrote, announced on the event bus once it has committed.

The composition root listens to every session's flushes (`collect`); after the commit, one
`{"type": "changed", "table": ..., "ids": [...]}` event per table goes on the bus (never for a
rolled-back transaction). That is how the TAK gateway follows the picture and how another
instance's geofence learns of a zone drawn here, without polling the tables. Bulk writes that
bypass the ORM (imports, tracks) announce themselves with `note_written`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from cmcc.core.uow import after_commit

WRITTEN = "written_records"
PUBLISH = "publish_written"  # set in every session's info by the composition root
IDS_PER_EVENT = 1000
QUIET_TABLES = frozenset({"audit_log", "audit_head", "api_tokens", "tracks"})
Publish = Callable[[dict[str, Any]], None]


def collect(session: Session, _flush_context: Any) -> None:
    """`after_flush` hook: note the rows the flush wrote, to publish after the commit."""
    changed = (
        *session.new,
        *(o for o in session.dirty if session.is_modified(o, include_collections=False)),
        *session.deleted,
    )
    for obj in changed:
        mapper = inspect(obj).mapper
        table = mapper.local_table.name
        ident = mapper.primary_key_from_instance(obj)
        if table in QUIET_TABLES or len(ident) != 1 or ident[0] is None:
            continue
        note_written(session, table, [ident[0]])


def note_written(session: Session, table: str, ids: Iterable[Any]) -> None:
    """The table and ids of rows written in this session's transaction; also for writes the
    flush hook does not see (Core inserts of imports)."""
    publish: Publish | None = session.info.get(PUBLISH)
    if publish is None:
        return
    written: dict[str, set[Any]] | None = session.info.get(WRITTEN)
    if written is None:
        written = session.info[WRITTEN] = {}
        after_commit(session, lambda: _announce(publish, session.info.pop(WRITTEN, {})))
    written.setdefault(table, set()).update(ids)


def _announce(publish: Publish, written: dict[str, set[Any]]) -> None:
    for table, ids in written.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), IDS_PER_EVENT):
            chunk = ordered[start : start + IDS_PER_EVENT]
            publish({"type": "changed", "table": table, "ids": chunk})
