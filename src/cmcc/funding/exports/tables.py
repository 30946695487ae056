"""Flat files of the plan: the projects as HXL-tagged 3W CSV (who does what where), the flows
as HXL-tagged CSV, and the flows as an FTS-style CSV (OCHA Financial Tracking Service column
names, no hashtag row). One row per project, one row per current flow.

Amounts are written as plain decimals with two places (never through a float), so the sums of
a file reconcile to the cent with the records. Free text (titles, names, notes, sources) goes
through `spreadsheet_safe`: a cell that a spreadsheet would run as a formula gets a leading
apostrophe. What the caller may not see is left blank (see `selection`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pycountry
from shapely.geometry import Point
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.funding.dac import dac_name
from cmcc.funding.exports.iati_codes import amount_text
from cmcc.funding.exports.selection import Selection, flow_chunks, organizations
from cmcc.funding.models import Flow, Project
from cmcc.geo.geometry import to_geojson
from cmcc.interop.tabular import Column, csv_text, spreadsheet_safe

PROJECT_COLUMNS: tuple[Column, ...] = (
    Column("id", "Project ID", "#meta+id"),
    Column("iati_identifier", "IATI identifier", "#activity+code"),
    Column("title", "Project", "#activity+name"),
    Column("organization", "Organization", "#org+name"),
    Column("implementing", "Implementing organization", "#org+impl"),
    Column("implementing_code", "Implementing organization code", "#org+impl+code"),
    Column("plan", "Plan", "#activity+plan"),
    Column("phase", "Phase", "#activity+phase"),
    Column("sector_code", "DAC sector code", "#sector+code"),
    Column("sector", "Sector", "#sector+name"),
    Column("adm1", "Governorate", "#adm1+name"),
    Column("adm1_code", "Governorate code", "#adm1+code"),
    Column("lat", "Latitude", "#geo+lat"),
    Column("lon", "Longitude", "#geo+lon"),
    Column("area", "Area (GeoJSON)", "#geo+bounds"),
    Column("status", "Status", "#status"),
    Column("planned_start", "Planned start", "#date+start+planned"),
    Column("planned_end", "Planned end", "#date+end+planned"),
    Column("actual_start", "Actual start", "#date+start+actual"),
    Column("actual_end", "Actual end", "#date+end+actual"),
    Column("budget_usd", "Budget USD", "#value+budget+usd"),
    Column("description", "Description", "#description"),
)

FLOW_COLUMNS: tuple[Column, ...] = (
    Column("flow_id", "Flow ID", "#meta+id"),
    Column("version", "Version", "#meta+version"),
    Column("donor", "Donor", "#org+funder"),
    Column("donor_code", "Donor code", "#org+funder+code"),
    Column("status", "Status", "#status"),
    Column("amount", "Original amount", "#value"),
    Column("currency", "Original currency", "#currency"),
    Column("exchange_rate", "Exchange rate", "#meta+rate"),
    Column("rate_date", "Exchange rate date", "#date+rate"),
    Column("amount_usd", "Amount USD", "#value+usd"),
    Column("flow_date", "Flow date", "#date"),
    Column("decision_date", "Decision date", "#date+decision"),
    Column("reported_date", "First reported", "#date+reported"),
    Column("plan", "Plan", "#activity+plan"),
    Column("phase", "Phase", "#activity+phase"),
    Column("sector_code", "DAC sector code", "#sector+code"),
    Column("project", "Project", "#activity+name"),
    Column("project_code", "Project IATI identifier", "#activity+code"),
    Column("implementing", "Implementing organization", "#org+impl"),
    Column("restricted", "Restricted", "#meta+restricted"),
    Column("fulfils", "Converts flow", "#meta+fulfils"),
    Column("notes", "Notes", "#description"),
    Column("source", "Source", "#meta+source"),
)

# FTS flow columns (the names of OCHA FTS flow downloads) and the flow field each holds.
FTS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Flow ID", "flow_id"),
    ("Version", "version"),
    ("Status", "status"),
    ("Source organization", "donor"),
    ("Destination organization", "implementing"),
    ("Destination plan", "plan"),
    ("Destination phase", "phase"),
    ("Destination sector", "sector"),
    ("Destination project", "project"),
    ("Amount USD", "amount_usd"),
    ("Original amount", "amount"),
    ("Original currency", "currency"),
    ("Exchange rate", "exchange_rate"),
    ("Exchange rate date", "rate_date"),
    ("Decision date", "decision_date"),
    ("Flow date", "flow_date"),
    ("Reported date", "reported_date"),
    ("Restricted", "restricted"),
    ("Parent flow ID", "fulfils"),
    ("Description", "notes"),
    ("Reporting source", "source"),
)
FREE_TEXT = frozenset(
    {"title", "organization", "implementing", "plan", "phase", "sector", "adm1"}
    | {"description", "donor", "project", "notes", "source"}
)
SUFFIX = re.compile(r"\s+governorate$", re.IGNORECASE)


def _iso_3166_2() -> dict[str, str]:
    """Governorates of the State of Palestine: name (without 'Governorate') or code -> code."""
    out: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code="PS") or ():  # type: ignore[no-untyped-call]
        out[SUFFIX.sub("", sub.name).casefold()] = sub.code
        out[sub.code.casefold()] = sub.code
    return out


ADM1_CODES = _iso_3166_2()


def adm1_code(name: str | None) -> str:
    """The ISO 3166-2 code of a governorate name ("Khan Yunis" -> "PS-KYS"), or ""."""
    if not name:
        return ""
    return ADM1_CODES.get(SUFFIX.sub("", name.strip()).casefold(), "")


def _safe(values: dict[str, Any]) -> dict[str, Any]:
    for key in FREE_TEXT & values.keys():
        if isinstance(values[key], str):
            values[key] = spreadsheet_safe(values[key])
    return values


def _date(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def _project_values(project: Project, sel: Selection, orgs: dict[int, Organization]) -> list[Any]:
    programme = sel.programme_of(project)
    phase = sel.phase_record(sel.phase_of(project.id))
    plan_id = sel.phase_plan.get(phase.id) if phase is not None else None
    plan = sel.plans.get(plan_id) if plan_id is not None else None
    geometry = project.geometry
    point = geometry if isinstance(geometry, Point) else geometry.representative_point()
    implementer = orgs[project.implementing_org_id]
    values = {
        "id": project.id,
        "iati_identifier": project.iati_identifier,
        "title": project.title,
        "organization": orgs[project.owner_org_id].name,
        "implementing": implementer.name,
        "implementing_code": implementer.code,
        "plan": plan.title if plan is not None else "",
        "phase": phase.title if phase is not None else "",
        "sector_code": programme.dac_code if programme is not None else "",
        "sector": dac_name(programme.dac_code) if programme is not None else "",
        "adm1": project.adm1 or "",
        "adm1_code": adm1_code(project.adm1),
        "lat": f"{point.y:.6f}",
        "lon": f"{point.x:.6f}",
        "area": "" if isinstance(geometry, Point) else _geojson_text(geometry),
        "status": project.status,
        "planned_start": _date(project.planned_start),
        "planned_end": _date(project.planned_end),
        "actual_start": _date(project.actual_start),
        "actual_end": _date(project.actual_end),
        "budget_usd": amount_text(project.budget_usd),
        "description": project.description,
    }
    _safe(values)
    return [values[c.field] for c in PROJECT_COLUMNS]


def _geojson_text(geometry: Any) -> str:
    return orjson.dumps(to_geojson(geometry)).decode()


def projects_hxl(session: Session, sel: Selection) -> Iterator[str]:
    """The 3W of the projects the caller may see, HXL-tagged."""
    projects = [sel.projects[i] for i in sorted(sel.projects)]
    ids = [p.owner_org_id for p in projects] + [p.implementing_org_id for p in projects]
    orgs = organizations(session, ids)
    yield csv_text([[c.header for c in PROJECT_COLUMNS], [c.hashtag for c in PROJECT_COLUMNS]])
    for start in range(0, len(projects), 500):
        yield csv_text(_project_values(p, sel, orgs) for p in projects[start : start + 500])


def _flow_values(flow: Flow, sel: Selection) -> dict[str, Any]:
    project = sel.projects.get(flow.project_id) if flow.project_id is not None else None
    phase_id = flow.phase_id
    if phase_id is None and flow.programme_id is not None:
        phase_id = sel.programme_phase.get(flow.programme_id)
    if phase_id is None and flow.project_id is not None:
        phase_id = sel.phase_of(flow.project_id)
    phase = sel.phase_record(phase_id)
    plan = sel.plans.get(flow.plan_id)
    programme_id = flow.programme_id
    if programme_id is None and flow.project_id is not None:
        programme_id = sel.project_programme.get(flow.project_id)
    programme = sel.programmes.get(programme_id) if programme_id is not None else None
    values = {
        "flow_id": flow.lineage_id or flow.id,
        "version": flow.version_no,
        "donor": flow.donor.name,
        "donor_code": flow.donor.code,
        "status": flow.status,
        "amount": amount_text(flow.amount),
        "currency": flow.currency,
        "exchange_rate": format(flow.exchange_rate.normalize(), "f"),
        "rate_date": _date(flow.rate_date),
        "amount_usd": amount_text(flow.amount_usd),
        "flow_date": _date(flow.flow_date),
        "decision_date": _date(flow.decision_date),
        "reported_date": _date(flow.first_reported_date),
        "plan": plan.title if plan is not None else "",
        "phase": phase.title if phase is not None else "",
        "sector_code": programme.dac_code if programme is not None else "",
        "sector": (
            f"{programme.dac_code} {dac_name(programme.dac_code)}".strip()
            if programme is not None
            else ""
        ),
        "project": project.title if project is not None else "",
        "project_code": project.iati_identifier if project is not None else "",
        "implementing": project.implementing_org.name if project is not None else "",
        "restricted": "yes" if flow.restricted else "no",
        "fulfils": flow.fulfils_id or "",
        "notes": flow.notes,
        "source": flow.source,
    }
    return _safe(values)


def flows_hxl(session: Session, sel: Selection) -> Iterator[str]:
    """The current flows the caller may see, HXL-tagged."""
    yield csv_text([[c.header for c in FLOW_COLUMNS], [c.hashtag for c in FLOW_COLUMNS]])
    for flows in flow_chunks(session, sel.flows()):
        rows = (_flow_values(f, sel) for f in flows)
        yield csv_text([v[c.field] for c in FLOW_COLUMNS] for v in rows)


def flows_fts(session: Session, sel: Selection) -> Iterator[str]:
    """The current flows the caller may see, one row each, FTS column names."""
    yield csv_text([[name for name, _ in FTS_COLUMNS]])
    for flows in flow_chunks(session, sel.flows()):
        rows = (_flow_values(f, sel) for f in flows)
        yield csv_text([v[key] for _, key in FTS_COLUMNS] for v in rows)
