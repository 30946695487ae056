"""Work to do once the unit of work has committed (never for a rolled-back one)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

AFTER_COMMIT = "after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` after this session's transaction commits (e.g. refresh an in-memory index,
    publish an event). Actions run in the order they were added."""
    session.info.setdefault(AFTER_COMMIT, []).append(action)


def pop_after_commit(session: Session) -> list[Callable[[], None]]:
    actions: list[Callable[[], None]] = session.info.pop(AFTER_COMMIT, [])
    return actions
