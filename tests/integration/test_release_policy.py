"""The release policy through every list and get endpoint, against its reference rule.

A property-based test creates records of every releasable kind with random owners and
markings, then asks as random callers of random organizations (and as nobody): each caller
must see exactly the records `may_see` allows, lists and gets alike, and a hidden record must
answer 404 exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.models import Organization
from cmcc.bootstrap import Platform
from cmcc.command import areas as command_areas
from cmcc.command import orbat, relationships, reports, tasking
from cmcc.command.models import (
    AreaAssignment,
    CommandRelationship,
    DeploymentPhase,
    NamesUnits,
    Unit,
    UnitReport,
    UnitTask,
)
from cmcc.command.schemas import (
    AreaAssign,
    PhaseCreate,
    RelationshipCreate,
    RelationshipStep,
    ReportCreate,
    TaskCreate,
    UnitCreate,
)
from cmcc.core.records import Record
from cmcc.core.releasability import Marking, Viewer, may_see
from cmcc.forces import service as forces
from cmcc.forces.models import Contribution, ForceTarget, Pledge, Requirement, State
from cmcc.forces.schemas import ContributionCreate, PledgeCreate, RequirementCreate, TargetCreate
from cmcc.geo.backend import backend_for
from cmcc.geo.geofence import GeofenceEngine
from cmcc.hazards import service as hazards
from cmcc.hazards.models import HazardArea
from cmcc.hazards.schemas import HazardCreate
from cmcc.incidents import service as incidents
from cmcc.incidents.models import Alert, Incident
from cmcc.incidents.schemas import IncidentCreate
from cmcc.remains import service as remains
from cmcc.remains.models import SearchTask
from cmcc.remains.schemas import SearchTaskCreate
from cmcc.zones import service as zones
from cmcc.zones.models import Zone
from cmcc.zones.schemas import ZoneCreate
from tests.factories import Caller, caller

ORGS = {  # code: (kind, mission member)
    "CMCC": (OrgKind.CMCC, True),
    "GBR": (OrgKind.NATION, True),
    "IDN": (OrgKind.NATION, True),
    "FRA": (OrgKind.NATION, True),
    "TUR": (OrgKind.NATION, False),
    "MSF": (OrgKind.NGO, False),
}
CODES = sorted(ORGS)


@dataclass(frozen=True)
class Resource:
    name: str
    model: type[Record]
    list_path: str
    item_path: str | None  # with {key}
    key: Callable[[Any], str]


RESOURCES = [
    Resource("states", State, "/api/v1/states", "/api/v1/states/{key}", lambda r: r.iso3),
    Resource("pledges", Pledge, "/api/v1/pledges", "/api/v1/pledges/{key}", lambda r: str(r.id)),
    Resource(
        "requirements",
        Requirement,
        "/api/v1/requirements",
        "/api/v1/requirements/{key}",
        lambda r: str(r.id),
    ),
    Resource(
        "contributions",
        Contribution,
        "/api/v1/contributions",
        "/api/v1/contributions/{key}",
        lambda r: str(r.id),
    ),
    Resource("targets", ForceTarget, "/api/v1/forces/targets", None, lambda r: str(r.id)),
    *(
        Resource(name, model, f"/api/v1/{name}", f"/api/v1/{name}/{{key}}", lambda r: str(r.id))
        for name, model in (
            ("zones", Zone),
            ("incidents", Incident),
            ("hazards", HazardArea),
            ("search-tasks", SearchTask),
        )
    ),
    Resource("alerts", Alert, "/api/v1/alerts", "/api/v1/alerts/{key}", lambda r: str(r.id)),
    # Command and control: every unit here has one version, so its id is its lineage.
    Resource("units", Unit, "/api/v1/units", "/api/v1/units/{key}", lambda r: str(r.lineage_id)),
    *(
        Resource(name, model, f"/api/v1/{name}", f"/api/v1/{name}/{{key}}", lambda r: str(r.id))
        for name, model in (
            ("command-relationships", CommandRelationship),
            ("tasks", UnitTask),
            ("unit-reports", UnitReport),
            ("areas", AreaAssignment),
            ("deployment-phases", DeploymentPhase),
        )
    ),
]
AOI = (34.2, 31.2, 34.6, 31.6)
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[34.44, 31.50], [34.45, 31.50], [34.45, 31.51], [34.44, 31.51], [34.44, 31.50]]
    ],
}
POINT = {"type": "Point", "coordinates": [34.445, 31.505]}

markings = st.one_of(
    st.sampled_from(["public", "mission", "owner"]),
    st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True).map(
        lambda codes: "rel:" + ",".join(codes)
    ),
)
records = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "pledge",
                "requirement",
                "contribution",
                "target",
                "state",
                "zone",
                "incident",
                "hazard",
                "search_task",
                "unit",
                "relationship",
                "task",
                "unit_report",
                "area",
                "deployment_phase",
            ]
        ),
        st.sampled_from(CODES),
        markings,
    ),
    min_size=1,
    max_size=8,
)

_counter = iter(range(1, 10**9))


def _create(
    session: Session, kind: str, owner: Organization, marking: str, fence: GeofenceEngine
) -> None:
    who = Principal.system_operator(owner.id, owner.code)
    n = next(_counter)
    if kind == "pledge":
        forces.create_pledge(
            session,
            who,
            PledgeCreate(
                ref=f"RP-{n}",
                state="IDN",
                capability="engineers",
                strength=100 + n,
                registered_on=dt.date(2026, 1, 1),
                earliest_deployment=dt.date(2026, 2, 1),
                releasability=marking,
            ),
        )
    elif kind == "requirement":
        forces.create_requirement(
            session,
            who,
            RequirementCreate(
                code=f"RS-{n}",
                title="t",
                capability="engineers",
                units=1 + n % 3,
                strength_per_unit=100,
                releasability=marking,
            ),
        )
    elif kind == "contribution":
        forces.create_contribution(
            session,
            who,
            ContributionCreate(
                state="QAT",
                status="paid",
                amount=Decimal("1000.00"),
                currency="USD",
                date=dt.date(2026, 1, 1),
                releasability=marking,
            ),
        )
    elif kind == "target":
        forces.create_target(
            session,
            who,
            TargetCreate(
                name=f"target {n}", strength=1000, due=dt.date(2026, 12, 31), releasability=marking
            ),
        )
    elif kind == "zone":
        zones.create_zone(
            session,
            who,
            ZoneCreate(
                name=f"zone {n}",
                kind="civilian_safe_zone",
                geometry=SQUARE,
                valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                releasability=marking,
            ),
            aoi=AOI,
            fence=fence,
        )
    elif kind == "incident":
        incidents.create_incident(
            session,
            who,
            IncidentCreate(
                type="aid_obstruction",
                occurred_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                geometry=POINT,
                severity=2,
                releasability=marking,
            ),
            aoi=AOI,
            fence=fence,  # inside every zone: an alert per zone, derived from both
            bus=None,
        )
    elif kind == "hazard":
        hazards.create_hazard(
            session,
            who,
            HazardCreate(
                name=f"hazard {n}",
                classification="sha",
                device_category="uxo",
                geometry=SQUARE,
                releasability=marking,
            ),
            aoi=AOI,
        )
    elif kind == "search_task":
        remains.create_task(
            session,
            who,
            backend_for(session.get_bind()),
            SearchTaskCreate(geometry=POINT, releasability=marking),
            aoi=AOI,
        )
    elif kind in COMMAND_KINDS:
        _create_command(session, kind, who, marking, n)
    else:  # re-mark a state and hand it to the owner
        state = session.scalars(select(State).order_by(State.id).offset(n % 190).limit(1)).one()
        state.owner_org_id = owner.id
        state.marking = Marking.parse(marking)
    session.flush()


COMMAND_KINDS = ("unit", "relationship", "task", "unit_report", "area", "deployment_phase")
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _new_unit(session: Session, who: Principal, marking: str, n: int) -> int:
    unit = orbat.create_unit(
        session,
        who,
        UnitCreate(
            name=f"unit {n}",
            kind="headquarters",  # any unit may then be a headquarters too
            echelon="battalion",
            valid_from=T0,
            releasability=marking,
        ),
    )
    return unit.lineage_id


def _two_units(session: Session, who: Principal, n: int) -> tuple[int, int]:
    """Two units of the ORBAT (new ones, released to the mission, when there are too few)."""
    known = list(session.scalars(select(Unit.id).order_by(Unit.id)))
    while len(known) < 2:
        known.append(_new_unit(session, who, "mission", next(_counter)))
    return known[n % len(known)], known[(n + 1) % len(known)]


def _create_command(session: Session, kind: str, who: Principal, marking: str, n: int) -> None:
    """A unit, or a record naming units (and a zone where one exists): what it names is picked
    among the records already made, whatever their markings."""
    if kind == "unit":
        _new_unit(session, who, marking, n)
        return
    if kind == "deployment_phase":  # names nothing: its own marking alone
        command_areas.create_phase(
            session,
            who,
            PhaseCreate(
                number=n % 100,
                name=f"phase {n}",
                starts_on=dt.date(2027, 1, 1) + dt.timedelta(days=n % 300),
                zone_kinds=["area_under_idf_control"],
                releasability=marking,
            ),
        )
        return
    unit, hq = _two_units(session, who, n)
    zone_ids = list(session.scalars(select(Zone.id).order_by(Zone.id)))
    zone = zone_ids[n % len(zone_ids)] if zone_ids and n % 3 else None
    if kind == "relationship" or kind == "task":
        rel = relationships.propose(
            session,
            who,
            RelationshipCreate(
                unit=unit,
                headquarters=hq,
                kind="opcon",
                effective_from=T0 + dt.timedelta(days=1),
                releasability=marking,
            ),
        )
        if kind == "task":  # the relationship takes effect; the task is issued under it
            for status in ("agreed", "effective"):
                step = RelationshipStep(version=rel.version, status=status)
                rel = relationships.step(session, who, rel.id, step)
            tasking.issue_task(
                session,
                who,
                TaskCreate(
                    title=f"task {n}",
                    task="protection_of_civilians",
                    unit=unit,
                    issuer=hq,
                    zone=zone,
                    lon=None if zone else 34.445,
                    lat=None if zone else 31.505,
                    starts_at=T0 + dt.timedelta(days=60),
                    ends_at=T0 + dt.timedelta(days=61),
                    releasability=marking,
                ),
            )
    elif kind == "unit_report":
        reports.file_report(
            session,
            who,
            ReportCreate(
                unit=unit,
                report_date=dt.date(2026, 1, 1) + dt.timedelta(days=n % 300),
                kind="perstat",
                perstat={"present": 10 + n % 50},
                releasability=marking,
            ),
        )
    elif zone_ids:  # an area: a zone made it to this batch
        command_areas.assign_area(
            session,
            who,
            AreaAssign(
                headquarters=hq,
                zone=zone or zone_ids[0],
                valid_from=T0 + dt.timedelta(days=n % 30),
                releasability=marking,
            ),
        )
    else:
        _new_unit(session, who, marking, n)


def _sample(
    res: Resource, truth: set[tuple[str, bool]], touched: set[str]
) -> list[tuple[str, bool]]:
    """Every record, except the ~190 untouched states: those that were re-marked, and three."""
    if res.name != "states":
        return sorted(truth)
    untouched = sorted(t for t in truth if t[0] not in touched)[:3]
    return sorted(t for t in truth if t[0] in touched) + untouched


def _all_ids(client: TestClient, res: Resource, headers: dict[str, str]) -> set[str]:
    seen: set[str] = set()
    if res.name == "targets":
        r = client.get(res.list_path, headers=headers)
        assert r.status_code == 200
        return {str(t["id"]) for t in r.json()}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        r = client.get(res.list_path, headers=headers, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        for item in body["data"]:
            seen.add(item["iso3"] if res.name == "states" else str(item["id"]))
        cursor = body["next_cursor"]
        if not cursor:
            assert body["count"] == len(seen)
            return seen


@pytest.fixture
def callers(platform: Platform) -> dict[str | None, Caller | None]:
    out: dict[str | None, Caller | None] = {None: None}
    for code, (kind, member) in ORGS.items():
        out[code] = caller(platform, code, Role.DONOR, kind=kind, member=member)
    return out


@pytest.fixture
def auditors(platform: Platform) -> dict[str, Caller]:
    return {
        code: caller(platform, code, Role.AUDITOR, kind=kind, member=member)
        for code, (kind, member) in ORGS.items()
    }


REMARKABLE = (Zone, Incident, Pledge, HazardArea, SearchTask, Unit)


def _truth(session: Session, res: Resource, viewer: Viewer) -> set[tuple[str, bool]]:
    """Every record of the resource, and whether the reference rule lets the viewer see it. An
    alert is seen by whoever may see every record it names (its incident and its zone)."""
    rows = session.scalars(select(res.model))
    if res.model is Alert:
        out = set()
        for a in rows:
            sources = (session.get_one(Zone, a.zone_id), session.get_one(Incident, a.incident_id))
            out.add((res.key(a), all(may_see(r.marking, r.owner_org_id, viewer) for r in sources)))
        return out
    if issubclass(res.model, NamesUnits):
        return {(res.key(r), _names_visible(session, r, viewer)) for r in rows}
    return {(res.key(r), may_see(r.marking, r.owner_org_id, viewer)) for r in rows}


def _names_visible(session: Session, record: Any, viewer: Viewer) -> bool:
    """A record naming units (and zones) by lineage: its own marking, and every unit and zone
    it names released to the viewer (some version of each)."""

    def some_version(model: type[Unit] | type[Zone], lineage: int) -> bool:
        rows = session.scalars(
            select(model).where((model.id == lineage) | (model.lineage == lineage))
        )
        return any(may_see(v.marking, v.owner_org_id, viewer) for v in rows)

    named = [(Unit, getattr(record, c)) for c in record.__unit_columns__]
    named += [(Zone, getattr(record, c)) for c in record.__zone_columns__]
    return may_see(record.marking, record.owner_org_id, viewer) and all(
        lineage is None or some_version(model, lineage) for model, lineage in named
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batch=records,
    remarks=st.lists(st.tuples(st.integers(0, 10**6), markings), max_size=4),
    viewer_code=st.sampled_from([None, *CODES]),
)
def test_callers_see_exactly_what_the_policy_releases(
    platform: Platform,
    client: TestClient,
    callers: dict[str | None, Caller | None],
    auditors: dict[str, Caller],
    batch: list[tuple[str, str, str]],
    remarks: list[tuple[int, str]],
    viewer_code: str | None,
) -> None:
    fence = platform.fence()
    # Zones first, in a transaction of their own, so that the geofence knows them when the
    # incidents (all inside them) are filed: each incident raises an alert per zone.
    for first in (True, False):
        with platform.unit_of_work(Principal.system_operator(), write=True) as s:
            orgs = {o.code: o for o in s.scalars(select(Organization))}
            for kind, owner, marking in batch:
                if (kind == "zone") == first:
                    _create(s, kind, orgs[owner], marking, fence)
    # Then some records are re-marked: what is derived from them must follow.
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        pool = [r for model in REMARKABLE for r in s.scalars(select(model).order_by(model.id))]
        for pick, marking in remarks:
            if pool:
                pool[pick % len(pool)].marking = Marking.parse(marking)
        touched_states = set(
            s.scalars(
                select(State.iso3).where(
                    (State.releasability != "mission") | (State.owner_org_id != orgs["CMCC"].id)
                )
            )
        )
    who = callers[viewer_code]
    headers = who.headers if who else {}
    viewer = (
        Viewer(orgs[viewer_code].id, viewer_code, orgs[viewer_code].is_member)
        if viewer_code
        else Viewer.public()
    )
    with platform.unit_of_work(Principal.system_operator()) as s:
        truth = {res.name: _truth(s, res, viewer) for res in RESOURCES}
        req_units = {
            row.id: row.units for row in s.execute(select(Requirement.id, Requirement.units))
        }
    for res in RESOURCES:
        expected = {key for key, ok in truth[res.name] if ok}
        assert _all_ids(client, res, headers) == expected, res.name
        if res.item_path is None:
            continue
        for key, ok in _sample(res, truth[res.name], touched_states):
            r = client.get(res.item_path.format(key=key), headers=headers)
            assert r.status_code == (200 if ok else 404), (res.name, key, r.text)
    # Reports count only what the caller may see.
    gaps = client.get("/api/v1/forces/gaps", headers=headers).json()
    visible_reqs = {key for key, ok in truth["requirements"] if ok}
    assert sum(row["required_units"] for row in gaps["rows"]) == sum(
        req_units[int(k)] for k in visible_reqs
    )
    # An auditor of the organization reads the entries about exactly the records it may see.
    if viewer_code is not None:
        _check_audit(client, auditors[viewer_code], truth)


def _check_audit(
    client: TestClient, auditor: Caller, truth: dict[str, set[tuple[str, bool]]]
) -> None:
    # (states are keyed by code in the API: their entries are checked elsewhere)
    tables = {res.name: res.model.__tablename__ for res in RESOURCES if res.name != "states"}
    seen: set[tuple[str, str]] = set()
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/audit", headers=auditor.headers, params=params).json()
        seen |= {(e["entity"], e["record_id"]) for e in page["data"]}
        if not (cursor := page["next_cursor"]):
            break
    for name, table in tables.items():
        expected = {key for key, ok in truth[name] if ok}
        got = {record_id for entity, record_id in seen if entity == table}
        assert got == expected, (name, auditor.org)


def test_hidden_and_missing_records_answer_alike(platform: Platform, client: TestClient) -> None:
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER)
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    body = {
        "ref": "IDN-SECRET",
        "state": "IDN",
        "capability": "engineers",
        "strength": 300,
        "registered_on": "2026-02-19",
        "releasability": "owner",
    }
    created = client.post("/api/v1/pledges", json=body, headers=idn.headers)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    hidden = client.get(f"/api/v1/pledges/{pid}", headers=gbr.headers)
    missing = client.get("/api/v1/pledges/999999", headers=gbr.headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["title"] == missing.json()["title"]
    # Writes to a hidden record are 404 too, not 403: nothing tells that it exists.
    patch = client.patch(
        f"/api/v1/pledges/{pid}", json={"version": 1, "strength": 1}, headers=gbr.headers
    )
    assert patch.status_code == 404


def test_rel_marking_needs_known_codes(platform: Platform, client: TestClient) -> None:
    idn = caller(platform, "IDN", Role.LIAISON_OFFICER)
    cases = (("rel:GBR,XKX", True), ("rel:ZZZ", False), ("secret", False), ("rel:", False))
    for i, (marking, ok) in enumerate(cases):
        body = {
            "ref": f"M-{i}",
            "state": "IDN",
            "capability": "engineers",
            "strength": 10,
            "registered_on": "2026-02-19",
            "releasability": marking,
        }
        r = client.post("/api/v1/pledges", json=body, headers=idn.headers)
        assert r.status_code == (201 if ok else 422), (marking, r.text)
        if not ok:
            assert r.json()["errors"][0]["field"] == "body.releasability"
