"""The settings the humanitarian services apply, read once from the platform's settings."""

from __future__ import annotations

from dataclasses import dataclass

from cmcc.config import Settings
from cmcc.geo.geometry import BBox


@dataclass(frozen=True)
class Rules:
    """The settings the notification services apply."""

    aoi: BBox
    site_buffer_m: float
    route_buffer_m: float
    notice_hours: float
    incident_m: float
    incident_days: float

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(
            aoi=settings.aoi_bbox,
            site_buffer_m=settings.site_buffer_m,
            route_buffer_m=settings.route_buffer_m,
            notice_hours=settings.notice_hours,
            incident_m=settings.advisory_incident_m,
            incident_days=settings.advisory_incident_days,
        )
