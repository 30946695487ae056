"""Web page: a unit of the ORBAT, with its versions, command relationships, tasks, recent unit
reports, the TAK devices linked to it and its latest tracked position.

Every list is read through the release policy: the unit itself through `get_unit` (a unit not
released to the visitor is a 404, as in the API), the records that name it through
`release_filter` (which also hides those naming another unit the visitor may not see), its
devices by their own marking, in SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.access.policy import release_filter, visible
from cmcc.api.deps import SessionDep
from cmcc.command import orbat
from cmcc.command.domain import TaskStatus
from cmcc.command.models import Unit, unit_lineage_col
from cmcc.command.relationships import relationship_statement
from cmcc.command.reports import report_statement
from cmcc.command.tasking import task_statement
from cmcc.core.errors import NotFound
from cmcc.core.pagination import count_matches
from cmcc.core.releasability import Viewer
from cmcc.core.schemas import MAX_ID
from cmcc.cot import tracks
from cmcc.cot.devices import CotDevice
from cmcc.web.auth import SignedIn
from cmcc.web.orbat import Strength
from cmcc.web.templating import render
from cmcc.web.words import label

router = APIRouter(include_in_schema=False)
RECENT_REPORTS = 14  # a week of PERSTAT and LOGSTAT
TASKS_SHOWN = 100


def unit_devices(session: Session, viewer: Viewer, lineage: int) -> list[tuple[CotDevice, str]]:
    """The TAK devices linked to the unit that the viewer may see, with their organization."""
    stmt = (
        select(CotDevice, Organization.code)
        .join(Organization, Organization.id == CotDevice.org_id)
        .where(CotDevice.unit_lineage == lineage, release_filter(CotDevice, viewer))
        .order_by(CotDevice.uid)
    )
    return [(d, code) for d, code in session.execute(stmt)]


def unit_names(session: Session, viewer: Viewer, lineages: Iterable[int]) -> dict[int, Unit]:
    """The newest visible version of each unit named (a unit the viewer may not see is absent)."""
    wanted = sorted(set(lineages))
    if not wanted:
        return {}
    line = unit_lineage_col(Unit)
    stmt = visible(Unit, viewer, line.in_(wanted)).order_by(Unit.valid_from, Unit.id)
    return {u.lineage_id: u for u in session.scalars(stmt)}


def figures_text(figures: dict[str, Any]) -> str:
    """A report's figures in words: `Present 640 · On leave 20 · Injured 1` (PERSTAT) or
    `Water 3.5 d · Fuel 4 d` (LOGSTAT, days of supply)."""
    parts: list[str] = []
    for key, value in figures.items():
        unit = " d" if key == "days_of_supply" else ""
        if isinstance(value, dict):
            parts.extend(f"{label(k)} {v:g}{unit}" for k, v in value.items())
        else:
            parts.append(f"{label(key)} {value}")
    return " · ".join(parts) or "—"


def _missing(request: Request, visitor: Any, lineage: int) -> Response:
    return render(request, "unit.html", visitor, status_code=404, missing=lineage)


@router.get("/units/{lineage}")
def unit_page(request: Request, lineage: int, session: SessionDep, visitor: SignedIn) -> Response:
    viewer = visitor.principal.viewer
    if not 1 <= lineage <= MAX_ID:
        return _missing(request, visitor, lineage)
    try:
        unit = orbat.get_unit(session, viewer, lineage)
    except NotFound:
        return _missing(request, visitor, lineage)
    history = orbat.unit_history(session, viewer, lineage)
    as_unit = relationship_statement(viewer, unit=lineage)
    as_hq = relationship_statement(viewer, headquarters=lineage)
    relationships = sorted(
        {r.id: r for r in [*session.scalars(as_unit), *session.scalars(as_hq)]}.values(),
        key=lambda r: (r.effective_from, r.id),
    )
    task_stmt = task_statement(viewer, unit=lineage)
    tasks = list(session.scalars(task_stmt.limit(TASKS_SHOWN)))
    task_count = count_matches(session, task_stmt)
    reports = list(session.scalars(report_statement(viewer, unit=lineage).limit(RECENT_REPORTS)))
    devices = unit_devices(session, viewer, lineage)
    positions = tracks.latest(session, viewer, uids=[d.uid for d, _ in devices]) if devices else []
    position = max(positions, key=lambda t: (t.time, t.id), default=None)
    named = [unit.parent_lineage or 0]
    named += [r.hq_lineage for r in relationships] + [r.unit_lineage for r in relationships]
    named += [t.issuer_lineage for t in tasks] + [v.parent_lineage or 0 for v in history]
    places = []
    if unit.lon is not None and unit.lat is not None:
        places.append({"lon": unit.lon, "lat": unit.lat, "sidc": unit.sidc, "label": unit.name})
    if position is not None:
        places.append({"lon": position.lon, "lat": position.lat, "label": "Latest position"})
    return render(
        request,
        "unit.html",
        visitor,
        missing=None,
        places_json=orjson.dumps(places).decode() if places else None,
        unit=unit,
        history=history,
        relationships=relationships,
        tasks=tasks,
        task_count=task_count or 0,
        refused=TaskStatus.REFUSED_BY_NATION.value,
        reports=reports,
        devices=devices,
        position=position,
        names=unit_names(session, viewer, named),
        figures_text=figures_text,
        strength=Strength(unit.strength_authorized, unit.strength_assigned, unit.strength_present),
        now=dt.datetime.now(dt.UTC),
    )
