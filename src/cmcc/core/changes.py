"""A change to the operational picture that other modules follow in the same transaction.

A service that writes a record others are checked against (a zone, a hazard area, an
incident's verification, a crossing's status, a task) calls `picture_changed`; each listener
registered by the composition root (`cmcc.bootstrap`) runs then, inside the writer's unit of
work, so what it derives (the humanitarian deconfliction advisories) commits or rolls back
with the change itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class PictureChange:
    source: str  # "zone", "hazard", "incident", "crossing_status", "task"
    record_id: int


Listener = Callable[[Session, PictureChange], None]
PICTURE_LISTENERS: list[Listener] = []


def on_picture_change(listener: Listener) -> None:
    """Register a listener once (registering it again does nothing)."""
    if listener not in PICTURE_LISTENERS:
        PICTURE_LISTENERS.append(listener)


def picture_changed(session: Session, source: str, record_id: int) -> None:
    """Tell every listener that this record changed (flush first: they query it)."""
    if not PICTURE_LISTENERS:
        return
    session.flush()
    change = PictureChange(source, record_id)
    for listener in PICTURE_LISTENERS:
        listener(session, change)
