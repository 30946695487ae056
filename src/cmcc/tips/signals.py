"""Fraud signals shown beside a tip in the triage queue.

- nearby tips: other tips within the distance and the time window (several people saw the same
  thing, or one person sent it several times under several codes);
- recoveries near the place recorded before the tip (remains already recovered: a counted
  signal only, the recoveries themselves are not shown, whoever may see them);
- the very same photo in another tip (the stored photos are compared by their SHA-256).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.policy import release_filter
from cmcc.config import Settings
from cmcc.core.releasability import Viewer
from cmcc.geo.measure import degrees_around, distance_m
from cmcc.remains.service import recoveries_near
from cmcc.tips.models import Tip, TipPhoto
from cmcc.tips.schemas import FraudSignals


def nearby_tips(
    session: Session, viewer: Viewer, tip: Tip, metres: float, window: dt.timedelta
) -> list[int]:
    if tip.lon is None or tip.lat is None:
        return []
    dlon, dlat = degrees_around(tip.lat, metres)
    rows = session.execute(
        select(Tip.id, Tip.lon, Tip.lat).where(
            release_filter(Tip, viewer),
            Tip.id != tip.id,
            Tip.lat.between(tip.lat - dlat, tip.lat + dlat),
            Tip.lon.between(tip.lon - dlon, tip.lon + dlon),
            Tip.created_at.between(tip.created_at - window, tip.created_at + window),
        )
    ).all()
    return sorted(
        row.id
        for row in rows
        if row.lon is not None
        and row.lat is not None
        and distance_m(row.lon, row.lat, tip.lon, tip.lat) <= metres
    )


def recoveries_before(session: Session, tip: Tip, metres: float) -> int:
    if tip.lon is None or tip.lat is None:
        return 0
    found = recoveries_near(session, tip.lon, tip.lat, metres)
    return sum(1 for r in found if r.recovered_at <= tip.created_at)


def same_photo(session: Session, viewer: Viewer, tip_id: int, digest: str | None) -> list[int]:
    if digest is None:
        return []
    stmt = (
        select(TipPhoto.tip_id)
        .join(Tip, Tip.id == TipPhoto.tip_id)
        .where(release_filter(Tip, viewer), TipPhoto.sha256 == digest, TipPhoto.tip_id != tip_id)
    )
    return sorted(session.scalars(stmt))


def signals(
    session: Session, viewer: Viewer, settings: Settings, tip: Tip, photo_digest: str | None
) -> FraudSignals:
    metres = settings.tip_duplicate_distance_m
    window = dt.timedelta(hours=settings.tip_duplicate_window_hours)
    return FraudSignals(
        nearby_tips=nearby_tips(session, viewer, tip, metres, window),
        recoveries_nearby=recoveries_before(session, tip, metres),
        same_photo_tips=same_photo(session, viewer, tip.id, photo_digest),
    )
