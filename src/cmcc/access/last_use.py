"""When each token was last used, to within RESOLUTION, without making reads into writes.

A request that authenticates with a token whose `last_used_at` is older than RESOLUTION
(or unset) writes the new time after its own transaction has ended (`after_commit`), in a short
transaction of its own: a read request never turns its read transaction into a write (on
SQLite, a read transaction whose snapshot is older than the last write cannot take the write
lock), and the write is conditional, so that concurrent requests and several server processes
write it once. So a token used all day costs one small write every RESOLUTION, not one per
request. If the database is busy, the time is written by a later request instead.

Not audited: it records that a read happened, and reads are not in the audit log; it changes
nothing anyone decided (security.md, "Tokens").
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import or_, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cmcc.access.models import ApiToken
from cmcc.core.clock import utcnow
from cmcc.core.db import WRITE_OPTION
from cmcc.core.uow import after_commit

RESOLUTION = dt.timedelta(minutes=5)
log = logging.getLogger(__name__)


def due(last_used_at: dt.datetime | None, now: dt.datetime) -> bool:
    return last_used_at is None or last_used_at <= now - RESOLUTION


def note_use(session: Session, token: ApiToken) -> None:
    """Have the token's last use written after this transaction, when it is due."""
    now = utcnow()
    if not due(token.last_used_at, now):
        return
    engine = session.get_bind().engine
    token_id = token.id

    def write() -> None:
        stmt = (
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - RESOLUTION),
            )
            .values(last_used_at=now)
        )
        try:
            with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
                conn.execute(stmt)
                conn.commit()
        except OperationalError as exc:  # busy: a later request writes it
            log.debug("last use of token %s not written: %s", token_id, exc)

    after_commit(session, write)
