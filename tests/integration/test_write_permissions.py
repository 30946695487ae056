"""Every write of the API checks the caller's permission before it looks up the record it names
(docs/security.md): a role that may not make that kind of change gets 403 whether the record
exists or not, and a role that may make it gets the same answer for a hidden record as for a
missing one. The test walks every write operation of the OpenAPI description, on both backends;
a new write operation fails it until it is listed here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from cmcc.access.domain import ROLE_PERMISSIONS, OrgKind, Permission, Principal, Role
from cmcc.bootstrap import Platform
from cmcc.scenarios.loader import load_scenario
from cmcc.schema import metadata
from tests.factories import Caller, caller, pledge_body
from tests.humanitarian_fixtures import movement_body
from tests.integration.test_tips import send_tip

MISSING = 2**31 - 1  # the largest id a column holds: never given out in a test
MISSING_ISO3 = "ZZZ"
POINT = {"type": "Point", "coordinates": [34.45, 31.517]}


class Ref:
    """A record a request names (in its path or its body): the hidden one, or a missing one."""

    def __init__(self, table: str, *, key: str = "id", text_id: bool = False) -> None:
        self.table, self.key, self.text_id = table, key, text_id


STATE = Ref("states", key="iso3")
PLEDGE, REQUIREMENT = Ref("pledges"), Ref("requirements")
TARGET, CONTRIBUTION = Ref("force_targets"), Ref("contributions")
ZONE, INCIDENT, ALERT = Ref("zones"), Ref("incidents"), Ref("alerts")
HAZARD, SPOT = Ref("hazard_areas", text_id=True), Ref("eo_spot_reports", text_id=True)
RELEASE = Ref("land_release_activities", text_id=True)
TASK, RECOVERY = Ref("search_tasks"), Ref("recoveries")
TIP, REWARD = Ref("tips"), Ref("rewards")
PLAN, PHASE, PROGRAMME = Ref("funding_plans"), Ref("funding_phases"), Ref("funding_programmes")
PROJECT, FLOW = Ref("funding_projects"), Ref("funding_flows")
UNIT, RELATIONSHIP = Ref("units"), Ref("command_relationships")  # a unit's first id: its lineage
UNIT_TASK = Ref("unit_tasks")
ACCESS_CONSTRAINT = Ref("access_constraints")
NOTIFICATION = Ref("humanitarian_notifications")  # a first version's id: its lineage
CROSSING = Ref("crossings")
USER = Ref("users", key="username", text_id=True)  # another organization's user: hidden
THROTTLE = Ref("sign_in_throttles")  # another organization's user's failed sign-ins: hidden

PATH_REFS = {
    "iso3": STATE,
    "pledge_id": PLEDGE,
    "req_id": REQUIREMENT,
    "target_id": TARGET,
    "item_id": CONTRIBUTION,
    "zone_id": ZONE,
    "incident_id": INCIDENT,
    "alert_id": ALERT,
    "hazard_id": HAZARD,
    "spot_id": SPOT,
    "release_id": RELEASE,
    "task_id": TASK,
    "recovery_id": RECOVERY,
    "tip_id": TIP,
    "reward_id": REWARD,
    "plan_id": PLAN,
    "phase_id": PHASE,
    "programme_id": PROGRAMME,
    "project_id": PROJECT,
    "flow_id": FLOW,
    "lineage": UNIT,
    "rel_id": RELATIONSHIP,
    "constraint_id": ACCESS_CONSTRAINT,
    "username": USER,
    "throttle_id": THROTTLE,
}
# Where a path parameter's name means another table on one route (`task_id` is a search task
# elsewhere).
ROUTE_REFS = {
    "POST /api/v1/tasks/{task_id}/status": {"task_id": UNIT_TASK},
    "POST /api/v1/notifications/{lineage}/status": {"lineage": NOTIFICATION},
    "POST /api/v1/notifications/{lineage}/versions": {"lineage": NOTIFICATION},
}
V = {"version": 1}
TASK_BODY = {
    "title": "Patrol",
    "task": "protection_of_civilians",
    "unit": UNIT,
    "issuer": UNIT,
    "lon": 34.45,
    "lat": 31.517,
    "starts_at": "2026-03-01T06:00:00Z",
    "ends_at": "2026-03-02T06:00:00Z",
}

# The body of each write that names a record, valid for the request schema; a Ref in it is
# replaced by the hidden or the missing record's id.
WRITES: dict[str, Any] = {
    "PATCH /api/v1/states/{iso3}": V,
    "POST /api/v1/states/{iso3}/transitions": {
        "to": "approached",
        "date": "2026-03-01",
        "reason": "first contact",
    },
    "POST /api/v1/pledges": pledge_body(state=STATE),
    "PATCH /api/v1/pledges/{pledge_id}": V,
    "POST /api/v1/pledges/{pledge_id}/readiness": {
        "level": "level_2",
        "visit": "assessment_advisory_visit",
        "date": "2026-03-01",
        "version": 1,
    },
    "POST /api/v1/pledges/{pledge_id}/renewal": {"date": "2026-03-01", "version": 1},
    "PATCH /api/v1/requirements/{req_id}": V,
    "POST /api/v1/requirements/{req_id}/matches": {"pledge_id": PLEDGE},
    "DELETE /api/v1/requirements/{req_id}/matches/{pledge_id}": None,
    "PATCH /api/v1/forces/targets/{target_id}": V,
    "POST /api/v1/contributions": {
        "state": STATE,
        "status": "pledged",
        "amount": "100",
        "currency": "USD",
        "date": "2026-03-01",
    },
    "PATCH /api/v1/contributions/{item_id}": V,
    "PATCH /api/v1/zones/{zone_id}": V,
    "POST /api/v1/zones/{zone_id}/versions": {
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[34.4, 31.5], [34.5, 31.5], [34.5, 31.6], [34.4, 31.5]]],
        },
        "valid_from": "2026-03-01T00:00:00Z",
        "version": 1,
    },
    "PATCH /api/v1/incidents/{incident_id}": V,
    "POST /api/v1/incidents/{incident_id}/verification": {
        "to": "under_verification",
        "note": "checking",
        "version": 1,
    },
    "POST /api/v1/incidents/{incident_id}/evidence": {"kind": "report", "reference": "r-1"},
    "POST /api/v1/alerts/{alert_id}/acknowledge": V,
    "POST /api/v1/alerts/{alert_id}/close": V,
    "PATCH /api/v1/hazards/{hazard_id}": V,
    "POST /api/v1/hazards/{hazard_id}/status": {"to": "closed", "reason": "cleared", "version": 1},
    "PATCH /api/v1/eo-spots/{spot_id}": V,
    "POST /api/v1/land-release": {
        "kind": "clearance",
        "hazard": HAZARD,
        "organization": "UNMAS Gaza",
        "start_date": "2026-03-01",
    },
    "PATCH /api/v1/land-release/{release_id}": V,
    "POST /api/v1/hazard-links": {"from_ref": HAZARD, "to_ref": SPOT, "relation": "related"},
    "PATCH /api/v1/search-tasks/{task_id}": V,
    "POST /api/v1/search-tasks/{task_id}/status": {"to": "assigned", "version": 1},
    "POST /api/v1/recoveries": {
        "task_id": TASK,
        "recovered_at": "2026-03-01T10:00:00Z",
        "geometry": POINT,
    },
    "PATCH /api/v1/recoveries/{recovery_id}": V,
    "PUT /api/v1/recoveries/{recovery_id}/personal-data": {"missing_name": "A. N."},
    "PATCH /api/v1/tips/{tip_id}": V,
    "POST /api/v1/tips/{tip_id}/links": {"search_task_id": TASK},
    "POST /api/v1/tips/{tip_id}/outcome": {"version": 1, "outcome": "no_result"},
    "POST /api/v1/rewards": {"tip_id": TIP, "amount": "100", "currency": "USD"},
    "POST /api/v1/rewards/{reward_id}/approval": V,
    "POST /api/v1/rewards/{reward_id}/payout": {"version": 1, "code": "1234 5678 9012 3456 7890"},
    "PATCH /api/v1/plans/{plan_id}": V,
    "POST /api/v1/phases": {
        "plan_id": PLAN,
        "number": 9,
        "title": "Phase",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "budget_usd": "1000",
    },
    "PATCH /api/v1/phases/{phase_id}": V,
    "POST /api/v1/programmes": {"phase_id": PHASE, "dac_code": "15210", "title": "Programme"},
    "PATCH /api/v1/programmes/{programme_id}": V,
    "POST /api/v1/projects": {
        "programme_id": PROGRAMME,
        "title": "Project",
        "implementing_org": "UNMAS",
        "geometry": POINT,
        "budget_usd": "1000",
        "iati_identifier": "XM-CMCC-T-1",
    },
    "PATCH /api/v1/projects/{project_id}": V,
    "POST /api/v1/projects/{project_id}/status": {"to": "in_progress", "version": 1},
    "POST /api/v1/flows": {
        "status": "pledge",
        "donor": "GBR",
        "amount": "100",
        "currency": "USD",
        "decision_date": "2026-03-01",
        "plan_id": PLAN,
    },
    "POST /api/v1/flows/{flow_id}/revisions": V,
    # command and control
    "POST /api/v1/units": {"name": "Unit", "echelon": "company", "parent": UNIT},
    "POST /api/v1/units/{lineage}/versions": V,
    "POST /api/v1/units/{lineage}/close": V,
    "POST /api/v1/pledges/{pledge_id}/units": {
        "parent": UNIT,
        "transfer_of_authority": "2026-03-01",
    },
    "POST /api/v1/command-relationships": {
        "unit": UNIT,
        "headquarters": UNIT,
        "kind": "opcon",
        "effective_from": "2026-03-01T00:00:00Z",
    },
    "POST /api/v1/command-relationships/{rel_id}/status": {"version": 1, "status": "agreed"},
    "POST /api/v1/areas": {
        "headquarters": UNIT,
        "zone": ZONE,
        "valid_from": "2026-03-01T00:00:00Z",
    },
    "POST /api/v1/tasks": TASK_BODY,
    "POST /api/v1/tasks/check": TASK_BODY,
    "POST /api/v1/tasks/{task_id}/status": {"version": 1, "status": "acknowledged"},
    "POST /api/v1/unit-reports": {
        "unit": UNIT,
        "report_date": "2026-03-01",
        "kind": "perstat",
        "perstat": {"present": 10},
    },
    # humanitarian coordination: an access constraint names the incident it is part of
    "POST /api/v1/access-constraints": {
        "occurred_at": "2026-03-01T10:00:00Z",
        "impact": "looting",
        "incident_id": INCIDENT,
    },
    "PATCH /api/v1/access-constraints/{constraint_id}": V,
    # humanitarian notifications
    "POST /api/v1/notifications/{lineage}/status": {"version": 1, "to": "acknowledged"},
    "POST /api/v1/notifications/{lineage}/versions": {
        k: v for k, v in movement_body().items() if k != "kind"
    }
    | V,
    # aid flow
    "POST /api/v1/crossing-statuses": {
        "crossing_id": CROSSING,
        "status": "open",
        "since": "2026-03-01T00:00:00Z",
    },
    "POST /api/v1/aid-flow/entries": {
        "crossing_id": CROSSING,
        "day": "2026-03-01",
        "cargo_category": "food",
        "trucks": 1,
        "source": "test",
    },
    "POST /api/v1/aid-flow/targets": {
        "crossing_id": CROSSING,
        "trucks_per_day": 1,
        "starts_on": "2026-03-01",
    },
    # accounts: an administrator's actions on a user, and on the sign-in throttle
    "DELETE /api/v1/auth/throttles/{throttle_id}": None,
    **{
        f"POST /api/v1/users/{{username}}/{action}": {"reason": "test"}
        for action in ("deactivate", "reactivate", "reset-password", "reset-totp")
    },
}
# Writes that name no existing record: nothing to hide (their permissions have their own tests).
CREATES = {
    "POST /api/v1/auth/login",
    "POST /api/v1/organizations",
    "POST /api/v1/requirements",
    "POST /api/v1/forces/targets",
    "POST /api/v1/zones",
    "POST /api/v1/zones/import",
    "POST /api/v1/incidents/import",
    "POST /api/v1/incidents",
    "POST /api/v1/hazards",
    "POST /api/v1/eo-spots",
    "POST /api/v1/eo-accidents",
    "POST /api/v1/search-tasks",
    "POST /api/v1/search-tasks/grid",
    "POST /api/v1/plans",
    "POST /public/tips",
    "POST /public/tips/status",
    "POST /api/v1/unit-reports/overdue",
    "POST /api/v1/deployment-phases",
    # a file that may name parents and pledges; write_orbat is checked before it is read
    "POST /api/v1/orbat/import",
    "POST /api/v1/notifications",  # names a crossing by code (a hidden one: 422 like a missing)
    "POST /api/v1/crossings",
    # a file that names crossings; coordinate_humanitarian is checked before it is read
    "POST /api/v1/aid-flow/import",
    # the caller's own account (another user's token is not found, whatever the role)
    "POST /api/v1/account/password",
    "POST /api/v1/account/totp",
    "POST /api/v1/account/totp/confirm",
    "POST /api/v1/account/totp/remove",
    "DELETE /api/v1/account/tokens/{token_id}",
}


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def _records_of_every_kind(platform: Platform, client: TestClient) -> None:
    """The scenario, and a recovery, a tip with a reward and a land release it lacks."""
    with platform.unit_of_work(Principal.system_operator(), write=True) as session:
        load_scenario(session, "gaza-2025", aoi=platform.settings.aoi_bbox, fence=platform.fence())
    admin = caller(platform, "CMCC", Role.ADMIN).headers
    hazard = client.get("/api/v1/hazards", headers=admin).json()["data"][0]
    _ok(
        client.post(
            "/api/v1/land-release",
            headers=admin,
            json=WRITES["POST /api/v1/land-release"] | {"hazard": hazard["ref"]},
        )
    )
    recovery = _ok(
        client.post(
            "/api/v1/recoveries",
            headers=admin,
            json={"recovered_at": "2026-03-01T10:00:00Z", "geometry": POINT},
        )
    )
    assert send_tip(client).status_code == 201
    tip = client.get("/api/v1/tips", headers=admin).json()["data"][0]
    tip = _ok(
        client.post(
            f"/api/v1/tips/{tip['id']}/links", headers=admin, json={"recovery_id": recovery["id"]}
        )
    )
    outcome = {"version": tip["version"], "outcome": "led_to_recovery"}
    _ok(client.post(f"/api/v1/tips/{tip['id']}/outcome", headers=admin, json=outcome))
    reward = {"tip_id": tip["id"], "amount": "100", "currency": "USD"}
    _ok(client.post("/api/v1/rewards", headers=admin, json=reward))
    partner = caller(platform, "OCHA", Role.HUMANITARIAN_PARTNER, kind=OrgKind.UN_AGENCY)
    _ok(client.post("/api/v1/notifications", headers=partner.headers, json=movement_body()))
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)  # a failed sign-in of the centre's user
    failed = {"username": staff.username, "password": "not the password"}
    assert client.post("/api/v1/auth/login", json=failed).status_code == 401


def _body_refs() -> set[Ref]:
    """The records the writes' bodies name."""
    bodies = [b for b in WRITES.values() if isinstance(b, dict)]
    return {v for body in bodies for v in body.values() if isinstance(v, Ref)}


def _hide_everything(platform: Platform) -> dict[str, str]:
    """Mark every record `owner` (its owner alone sees it); one id of each kind."""
    hidden = {}
    with platform.engine.begin() as conn:
        for table in metadata.sorted_tables:
            if "releasability" in table.c:
                conn.execute(table.update().values(releasability="owner", release_to=None))
        refs = {*PATH_REFS.values(), *(r for route in ROUTE_REFS.values() for r in route.values())}
        refs |= _body_refs()
        for ref in refs:
            value = conn.execute(text(f"SELECT min({ref.key}) FROM {ref.table}")).scalar()
            assert value is not None, f"no record in {ref.table}"
            hidden[ref.table] = str(value)
    return hidden


def _request(key: str, pick: Callable[[Ref], Any]) -> tuple[str, str, Any]:
    method, template = key.split(" ")
    path = template
    for name, ref in (PATH_REFS | ROUTE_REFS.get(key, {})).items():
        path = path.replace("{" + name + "}", str(pick(ref)))
    body = WRITES[key]
    if isinstance(body, dict):
        body = {k: (pick(v) if isinstance(v, Ref) else v) for k, v in body.items()}
    return method, path, body


def test_every_write_checks_the_permission_before_the_record(
    platform: Platform, client: TestClient
) -> None:
    operations = {
        f"{method.upper()} {path}"
        for path, ops in client.get("/openapi.json").json()["paths"].items()
        for method in ops
        if method != "get"
    }
    assert operations == WRITES.keys() | CREATES, "list each new write in WRITES or CREATES"

    _records_of_every_kind(platform, client)
    hidden_ids = _hide_everything(platform)

    def hidden(ref: Ref) -> Any:
        value = hidden_ids[ref.table]
        return value if ref.key != "id" or ref.text_id else int(value)

    def missing(ref: Ref) -> Any:
        if ref.key == "iso3":
            return MISSING_ISO3
        return str(MISSING) if ref.text_id else MISSING

    # ISL owns nothing, so it sees nothing: every record is hidden from its users.
    donor: Caller = caller(platform, "ISL", Role.DONOR)  # no permission at all
    admin: Caller = caller(platform, "ISL", Role.ADMIN)  # every permission but personal data
    refused = []
    for key in sorted(WRITES):
        answers = {}
        for which, pick in (("hidden", hidden), ("missing", missing)):
            method, path, body = _request(key, pick)
            r = client.request(method, path, headers=donor.headers, json=body)
            if r.status_code != 403:
                refused.append(f"{key} ({which}): donor got {r.status_code}, not 403: {r.text}")
            r = client.request(method, path, headers=admin.headers, json=body)
            answers[which] = (r.status_code, r.json().get("type"), r.json().get("title"))
        if answers["hidden"] != answers["missing"] or answers["hidden"][0] < 400:
            refused.append(f"{key}: the administrator told hidden from missing: {answers}")
    assert not refused, "\n".join(refused)


def test_a_liaison_officer_may_not_verify_an_incident_it_cannot_see(
    platform: Platform, client: TestClient
) -> None:
    """The reported case: 403 (no verify_incidents), never the 404 of a hidden record."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    body = {
        "type": "ceasefire_violation_fire",
        "occurred_at": "2026-03-01T10:00:00Z",
        "geometry": POINT,
        "severity": 2,
        "releasability": "rel:FRA",
    }
    incident = _ok(client.post("/api/v1/incidents", headers=staff, json=body))
    liaison = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    assert client.get(f"/api/v1/incidents/{incident['id']}", headers=liaison).status_code == 404
    step = {"to": "under_verification", "note": "checking", "version": 1}
    for incident_id in (incident["id"], MISSING):
        r = client.post(f"/api/v1/incidents/{incident_id}/verification", headers=liaison, json=step)
        assert r.status_code == 403, r.text


# The permissions each write of command and control needs (any one of them).
ORBAT, TASKING, NATIONAL = (
    Permission.WRITE_ORBAT,
    Permission.TASK_UNITS,
    Permission.NATIONAL_COMMAND,
)
COMMAND_WRITES = {
    "POST /api/v1/units": {ORBAT},
    "POST /api/v1/units/{lineage}/versions": {ORBAT},
    "POST /api/v1/units/{lineage}/close": {ORBAT},
    "POST /api/v1/pledges/{pledge_id}/units": {ORBAT},
    "POST /api/v1/command-relationships": {ORBAT},
    "POST /api/v1/command-relationships/{rel_id}/status": {ORBAT, NATIONAL},
    "POST /api/v1/areas": {ORBAT},
    "POST /api/v1/deployment-phases": {ORBAT},
    "POST /api/v1/tasks": {TASKING},
    "POST /api/v1/tasks/check": {TASKING},
    "POST /api/v1/tasks/{task_id}/status": {TASKING, NATIONAL},
    "POST /api/v1/unit-reports": {ORBAT, NATIONAL},
}


def test_command_writes_are_for_the_roles_that_hold_their_permission(
    platform: Platform, client: TestClient
) -> None:
    """Staff officers build the ORBAT and task; liaison officers agree for their nation, refuse
    tasks and file their units' reports; every other role gets 403 on each of these writes."""
    expected_staff = {
        k for k, perms in COMMAND_WRITES.items() if ORBAT in perms or TASKING in perms
    }
    expected_liaison = {k for k, perms in COMMAND_WRITES.items() if NATIONAL in perms}
    allowed: dict[Role, set[str]] = {}
    for role in Role:
        who = caller(platform, "IDN", role)
        allowed[role] = set()
        for key in COMMAND_WRITES:
            if key in WRITES:
                method, path, body = _request(
                    key, lambda ref: MISSING_ISO3 if ref.key == "iso3" else MISSING
                )
            else:  # a create that names nothing: a valid body (else 422 before any check)
                method, path = key.split(" ")
                body = {"number": 9, "name": "Phase", "starts_on": "2027-01-01"}
            r = client.request(method, path, headers=who.headers, json=body)
            if r.status_code != 403:
                allowed[role].add(key)
        assert allowed[role] == {
            k for k, perms in COMMAND_WRITES.items() if perms & ROLE_PERMISSIONS[role]
        }, role
    assert allowed[Role.STAFF_OFFICER] == expected_staff
    assert allowed[Role.LIAISON_OFFICER] == expected_liaison
    for role in (Role.DONOR, Role.HUMANITARIAN_PARTNER, Role.AUDITOR, Role.FUNDING_OFFICER):
        assert allowed[role] == set(), role
