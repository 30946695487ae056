"""REST routes of humanitarian notifications: /api/v1/notifications (sites and movements, their
versions, status steps and history, deconfliction advisories) and /api/v1/advisories."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from cmcc.api.deps import (
    CurrentPrincipal,
    Cursor,
    Limit,
    LoggedIn,
    PlatformDep,
    RecordId,
    SessionDep,
)
from cmcc.core.clock import utcnow
from cmcc.core.pagination import paginate
from cmcc.core.releasability import Viewer
from cmcc.core.schemas import ListPublic
from cmcc.geo.geometry import parse_bbox
from cmcc.humanitarian import advisories, notifications, readout
from cmcc.humanitarian.domain import (
    ADVISORY_LABELS,
    AdvisoryKind,
    NotificationKind,
    NotificationStatus,
)
from cmcc.humanitarian.models import Notification
from cmcc.humanitarian.rules import Rules
from cmcc.humanitarian.schemas import (
    AdvisoriesPublic,
    AdvisoryPublic,
    AdvisoryRecord,
    NotificationCreate,
    NotificationPublic,
    NotificationVersion,
    StatusChangePublic,
    StatusStep,
    WithheldPublic,
)

router = APIRouter(prefix="/api/v1", tags=["humanitarian notifications"])

BBoxQuery = Annotated[
    str | None, Query(description="minx,miny,maxx,maxy (lon/lat)", examples=["34.2,31.2,34.6,31.6"])
]


def _rules(platform: PlatformDep) -> Rules:
    return Rules.of(platform.settings)


def _page(body: ListPublic[NotificationPublic]) -> Response:
    return Response(body.model_dump_json(), media_type="application/json")


@router.get("/notifications", response_model=ListPublic[NotificationPublic])
def list_notifications(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    kind: NotificationKind | None = None,
    status: NotificationStatus | None = None,
    active: Annotated[
        bool, Query(description="Only those not completed or withdrawn and valid now")
    ] = False,
    bbox: BBoxQuery = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    """The current version of each notification you may see: your organization's own, and
    those shared with it."""
    stmt = notifications.list_statement(
        principal.viewer,
        platform.spatial,
        kind=kind,
        status=status,
        active=utcnow() if active else None,
        bbox=parse_bbox(bbox, field="query.bbox") if bbox else None,
    )
    page = paginate(session, stmt, Notification.id, cursor, limit)
    data = readout.public(session, principal.viewer, page.items, _rules(platform))
    return _page(
        ListPublic[NotificationPublic](data=data, count=page.count, next_cursor=page.next_cursor)
    )


@router.post(
    "/notifications", response_model=NotificationPublic, status_code=status.HTTP_201_CREATED
)
def submit(
    body: NotificationCreate, session: SessionDep, principal: LoggedIn, platform: PlatformDep
) -> Any:
    """Notify a site or a movement. It informs the centre (it asks no one's leave); the
    centre acknowledges it and shares it with the force and the parties' liaison cells. The
    answer carries its deconfliction advisories' count; read them at .../advisories."""
    n = notifications.submit(
        session, principal, body, rules=_rules(platform), fence=platform.fence()
    )
    return readout.one(session, principal.viewer, n, _rules(platform))


@router.get("/notifications/{lineage}", response_model=NotificationPublic)
def get_notification(
    lineage: RecordId, session: SessionDep, principal: CurrentPrincipal, platform: PlatformDep
) -> Any:
    n = notifications.get_current(session, principal.viewer, lineage)
    return readout.one(session, principal.viewer, n, _rules(platform))


@router.post(
    "/notifications/{lineage}/versions",
    response_model=NotificationPublic,
    status_code=status.HTTP_201_CREATED,
)
def new_version(
    lineage: RecordId,
    body: NotificationVersion,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    """A change (route, window, site, contact): a new version replaces the current one, which
    stays in the history; its advisories are computed again."""
    n = notifications.new_version(
        session, principal, lineage, body, rules=_rules(platform), fence=platform.fence()
    )
    return readout.one(session, principal.viewer, n, _rules(platform))


@router.get("/notifications/{lineage}/versions", response_model=list[NotificationPublic])
def list_versions(
    lineage: RecordId, session: SessionDep, principal: CurrentPrincipal, platform: PlatformDep
) -> Any:
    notes = notifications.versions(session, principal.viewer, lineage)
    return readout.public(session, principal.viewer, notes, _rules(platform))


@router.post("/notifications/{lineage}/status", response_model=NotificationPublic)
def step(
    lineage: RecordId,
    body: StatusStep,
    session: SessionDep,
    principal: LoggedIn,
    platform: PlatformDep,
) -> Any:
    """`acknowledged` and `shared` (with `audiences`) by the centre; `completed` by the
    partner or the centre; `withdrawn` by the partner."""
    n = notifications.step(session, principal, lineage, body, fence=platform.fence())
    return readout.one(session, principal.viewer, n, _rules(platform))


@router.get("/notifications/{lineage}/history", response_model=list[StatusChangePublic])
def status_history(lineage: RecordId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    return [
        StatusChangePublic.model_validate(c)
        for c in notifications.history(session, principal.viewer, lineage)
    ]


def _advisories(session: Any, viewer: Viewer, notes: list[Notification]) -> AdvisoriesPublic:
    reading = advisories.for_viewer(session, viewer, notes)
    return AdvisoriesPublic(
        computed_at=reading.computed_at,
        advisories=[
            AdvisoryPublic(
                kind=AdvisoryKind(item.kind),
                label=ADVISORY_LABELS[AdvisoryKind(item.kind)],
                message=text,
                distance_m=item.distance_m,
                record=AdvisoryRecord(
                    type=item.record_type, id=item.record_id, ref=item.ref, name=item.name
                ),
                notification=item.notification,
            )
            for item, text in reading.named
        ],
        withheld=[
            WithheldPublic(kind=AdvisoryKind(k), label=ADVISORY_LABELS[AdvisoryKind(k)], count=c)
            for k, c in sorted(reading.withheld.items())
        ],
    )


@router.get("/notifications/{lineage}/advisories", response_model=AdvisoriesPublic)
def notification_advisories(
    lineage: RecordId, session: SessionDep, principal: CurrentPrincipal
) -> Any:
    """The deconfliction advisories of the current version: each record you may see named,
    the others counted by kind (ask the centre about those)."""
    n = notifications.get_current(session, principal.viewer, lineage)
    return _advisories(session, principal.viewer, [n])


@router.get("/advisories", response_model=AdvisoriesPublic)
def all_advisories(
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    kind: NotificationKind | None = None,
) -> Any:
    """The advisories of every active notification you may see (the centre sees them all)."""
    stmt = notifications.list_statement(
        principal.viewer, platform.spatial, kind=kind, active=utcnow()
    )
    return _advisories(session, principal.viewer, list(session.scalars(stmt)))
