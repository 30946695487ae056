"""Every write is audited here: a session hook appends one hash-chained entry per changed row.

Services do not call the audit log themselves; the unit of work names the actor
(`session.info["actor"]`) and the hook records what each flush created, changed or deleted,
in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.orm import Session

from cmcc.audit.chain import canonical_json, entry_hash
from cmcc.audit.models import GENESIS_HASH, NOT_AUDITED, AuditEntry, AuditHead
from cmcc.audit.visibility import entry_filter
from cmcc.core.clock import utcnow
from cmcc.core.pagination import decode_cursor, encode_cursor
from cmcc.core.releasability import Viewer

REDACTED = "<redacted>"
SECRET_COLUMNS = frozenset({"password_hash", "token_hash"})


def _row_changes(obj: Any, action: str) -> dict[str, Any]:
    """The row's values (create, delete) or [old, new] of the changed columns (update). Secret
    columns, and the columns a model lists in `__audit_redact__` (personal data, tip texts),
    are recorded as changed without their values."""
    state = inspect(obj)
    redact = SECRET_COLUMNS | getattr(type(obj), "__audit_redact__", frozenset())
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        hist = state.attrs[key].history
        if action == "update":
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            value: Any = [old, new]
        else:
            value = getattr(obj, key)
        changes[key] = REDACTED if key in redact else value
    return changes


def _pending(session: Session) -> Iterator[tuple[str, Any]]:
    for obj in session.new:
        yield "create", obj
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            yield "update", obj
    for obj in session.deleted:
        yield "delete", obj


def _lock_head(session: Session) -> tuple[int, str]:
    conn = session.connection()
    row = conn.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    ).one_or_none()
    if row is None:
        conn.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS_HASH))
        return 0, GENESIS_HASH
    return row.seq, row.hash


def record_flush(session: Session, _flush_context: Any) -> None:
    """after_flush hook: append one entry per created, changed or deleted row."""
    entries = []
    for action, obj in _pending(session):
        state = inspect(obj)
        entity = state.mapper.local_table.name
        if entity in NOT_AUDITED:
            continue
        ident = state.mapper.primary_key_from_instance(obj)
        record_id = ",".join(str(part) for part in ident)
        entries.append((action, entity, record_id, _row_changes(obj, action)))
    record_entries(session, entries)


def record_entries(session: Session, entries: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    """Append hash-chained entries (action, entity, record id, changes) under the session's
    actor, in its transaction. For writes the ORM hook cannot see, such as bulk imports."""
    if not entries:
        return
    actor = str(session.info.get("actor", "unknown"))
    seq, prev = _lock_head(session)
    rows = []
    now = utcnow()
    for action, entity, record_id, changes_doc in entries:
        changes = canonical_json(changes_doc)
        seq += 1
        digest = entry_hash(
            seq=seq,
            at=now,
            actor=actor,
            action=action,
            entity=entity,
            record_id=record_id,
            changes=changes,
            prev_hash=prev,
        )
        rows.append(
            {
                "seq": seq,
                "at": now,
                "actor": actor,
                "action": action,
                "entity": entity,
                "record_id": record_id,
                "changes": changes,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    conn = session.connection()
    conn.execute(insert(AuditEntry), rows)
    conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; name the first entry that was changed, removed or reordered."""
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    last_seq = 0
    stmt = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    for entry in session.scalars(stmt):
        if entry.seq != expected_seq:
            return VerifyResult(
                False,
                count,
                prev,
                expected_seq,
                f"entry {expected_seq} is missing (next present is {entry.seq})",
            )
        if entry.prev_hash != prev:
            return VerifyResult(
                False,
                count,
                prev,
                entry.seq,
                f"entry {entry.seq} does not follow entry {entry.seq - 1} "
                "(removed, inserted or reordered)",
            )
        digest = entry_hash(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            entity=entry.entity,
            record_id=entry.record_id,
            changes=entry.changes,
            prev_hash=entry.prev_hash,
        )
        if digest != entry.hash:
            return VerifyResult(
                False, count, prev, entry.seq, f"entry {entry.seq} was changed after it was written"
            )
        prev, last_seq, count, expected_seq = digest, entry.seq, count + 1, expected_seq + 1
    head = session.execute(select(AuditHead.seq, AuditHead.hash)).one_or_none()
    if head is not None and (head.seq != last_seq or head.hash != prev):
        return VerifyResult(
            False,
            count,
            prev,
            last_seq + 1,
            f"entries after {last_seq} were removed (the head records {head.seq})",
        )
    return VerifyResult(True, count, prev)


def list_entries(
    session: Session,
    viewer: Viewer,
    *,
    entity: str | None = None,
    record_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[AuditEntry], str | None]:
    """The entries the viewer may see (`cmcc.audit.visibility`), newest first; the cursor is
    the last sequence number seen."""
    dialect = session.get_bind().dialect.name
    stmt = (
        select(AuditEntry)
        .where(entry_filter(viewer, dialect))
        .order_by(AuditEntry.seq.desc())
        .limit(limit + 1)
    )
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if record_id:
        stmt = stmt.where(AuditEntry.record_id == record_id)
    if cursor:
        stmt = stmt.where(AuditEntry.seq < decode_cursor(cursor))
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].seq) if more and rows else None
