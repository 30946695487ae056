"""Reported facts of the loaded scenarios (figures as sources report them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cmcc.access.policy import visible
from cmcc.core.releasability import Viewer
from cmcc.scenarios.models import ReportedFact


def facts(session: Session, viewer: Viewer, topic: str | None = None) -> list[ReportedFact]:
    stmt = visible(ReportedFact, viewer)
    if topic:
        stmt = stmt.where(ReportedFact.topic == topic)
    return list(session.scalars(stmt.order_by(ReportedFact.as_of, ReportedFact.key)))
