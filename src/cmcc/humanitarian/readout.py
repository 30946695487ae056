"""Notifications as each caller may see them: the public shape, with the contact only where
its marking allows (the submitting organization and the centre) and the crossing by code."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cmcc.core.releasability import Viewer
from cmcc.humanitarian import notifications
from cmcc.humanitarian.models import Notification
from cmcc.humanitarian.rules import Rules
from cmcc.humanitarian.schemas import ContactPublic, NotificationPublic


def public(
    session: Session, viewer: Viewer, notes: list[Notification], rules: Rules
) -> list[NotificationPublic]:
    lineages = [n.lineage_id for n in notes]
    contacts = notifications.contacts(session, viewer, lineages)
    codes = notifications.crossing_codes(
        session, viewer, {n.crossing_id for n in notes if n.crossing_id is not None}
    )
    counts = notifications.advisory_counts(session, [n.id for n in notes])
    out = []
    for n in notes:
        item = NotificationPublic.model_validate(n)
        contact = contacts.get(n.lineage_id)
        out.append(
            item.model_copy(
                update={
                    "crossing": codes.get(n.crossing_id) if n.crossing_id else None,
                    "contact": ContactPublic.model_validate(contact) if contact else None,
                    "short_notice": notifications.short_notice(n, rules.notice_hours),
                    "advisories": counts.get(n.id, 0),
                }
            )
        )
    return out


def one(session: Session, viewer: Viewer, n: Notification, rules: Rules) -> NotificationPublic:
    return public(session, viewer, [n], rules)[0]
