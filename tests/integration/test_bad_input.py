"""Bad input gets a 4xx problem document naming the field, never a 500: the cases the fuzzer
found (tests/e2e/test_api_fuzz.py runs it over the whole API), on both backends."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from cmcc.core.schemas import MAX_ID
from tests.factories import caller, pledge_body, row_counts

HUGE = 453458624097045618421137408  # past 64 bits, as the fuzzer sent it


@pytest.fixture
def admin(platform: Platform) -> dict[str, str]:
    return caller(platform, "CMCC", Role.ADMIN).headers


def _problem(r: Any, status: int, field: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json().get("errors", [])], r.text


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/api/v1/recoveries/{id}", None, "path.recovery_id"),
        ("GET", "/api/v1/search-tasks/{id}/status", None, "path.task_id"),
        ("PATCH", "/api/v1/plans/{id}", {"version": 1}, "path.plan_id"),
        ("PATCH", "/api/v1/requirements/{id}", {"version": 1}, "path.req_id"),
        ("POST", "/api/v1/alerts/{id}/close", {"version": 1}, "path.alert_id"),
        ("POST", "/api/v1/tips/{id}/links", {"search_task_id": 1}, "path.tip_id"),
        ("GET", "/api/v1/hazards/{id}", None, "path.hazard_id"),
        ("GET", "/api/v1/incidents?zone={id}", None, "query.zone"),
        ("GET", "/api/v1/projects?programme_id={id}", None, "query.programme_id"),
        (
            "POST",
            "/api/v1/rewards",
            {"tip_id": "{id}", "amount": "1", "currency": "USD"},
            "body.tip_id",
        ),
    ],
)
def test_an_id_larger_than_a_column_holds_is_a_422_naming_it(
    client: TestClient, admin: dict[str, str], method: str, path: str, body: Any, field: str
) -> None:
    for too_big in (MAX_ID + 1, HUGE):
        url = path.replace("{id}", str(too_big))
        data = {k: too_big if v == "{id}" else v for k, v in body.items()} if body else None
        _problem(client.request(method, url, headers=admin, json=data), 422, field)


def test_the_largest_id_is_just_missing(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get(f"/api/v1/recoveries/{MAX_ID}", headers=admin)
    assert r.status_code == 404, r.text
    for too_big in (MAX_ID + 1, HUGE, 0):
        r = client.get(f"/ogc/collections/zones/items/{too_big}")
        assert r.status_code == 404, r.text  # OGC: a feature id that cannot be is not found


def test_a_projection_that_ends_before_it_starts_is_a_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    _problem(client.get("/api/v1/forces/projection?end=2000-01-01"), 422, "query.end")
    r = client.get("/api/v1/forces/projection?start=2026-01-01&end=2025-01-01")
    _problem(r, 422, "query.end")
    _problem(client.get("/api/v1/forces/projection?start=9999-01-01"), 422, "query.start")
    r = client.get("/api/v1/forces/projection?start=0001-01-01&end=9999-12-31&step_days=1")
    _problem(r, 422, "query.end")  # millions of points
    assert client.get("/api/v1/forces/projection?end=2030-01-01").status_code == 200


def test_a_null_for_a_field_that_cannot_be_cleared_is_a_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    pledge = client.post("/api/v1/pledges", headers=admin, json=pledge_body()).json()
    reported = {
        "caveats": None,
        "deployed_on": "2000-01-01",
        "duration_months": 1,
        "earliest_deployment": "2000-01-01",
        "equipment": "",
        "notes": "",
        "registered_on": "2000-01-01",
        "releasability": None,
        "source": "",
        "strength": 1,
        "tour_months": 1,
        "units": 1,
        "version": pledge["version"],
    }
    r = client.patch(f"/api/v1/pledges/{pledge['id']}", headers=admin, json=reported)
    _problem(r, 422, "body.caveats")
    assert client.get(f"/api/v1/pledges/{pledge['id']}", headers=admin).json() == pledge


def _documented(spec: dict[str, Any], method: str, path: str, r: Any) -> None:
    """The answer `r` is what the description says the operation answers with that status."""
    answer = spec["paths"][path][method]["responses"][str(r.status_code)]
    media = r.headers["content-type"].split(";")[0]
    schema = {**answer["content"][media]["schema"], "components": spec["components"]}
    assert jsonschema_rs.is_valid(schema, r.json()), r.text


def test_the_description_documents_the_error_answers(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Found by the fuzz once it checked status codes and error bodies: every 4xx was missing
    from the description or described as FastAPI's `HTTPValidationError` in JSON, where the API
    answers with a problem document; a filter naming a missing record answers 404 (an id, or a
    plan's code in the funding export)."""
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for method, path, url, body, status in [
        ("get", "/api/v1/incidents", "/api/v1/incidents?zone=x", None, 422),
        ("get", "/api/v1/incidents", f"/api/v1/incidents?zone={MAX_ID}", None, 404),
        ("get", "/api/v1/pledges/{pledge_id}", f"/api/v1/pledges/{MAX_ID}", None, 404),
        ("post", "/api/v1/pledges", "/api/v1/pledges", {"units": 1}, 422),
        ("post", "/api/v1/pledges", "/api/v1/pledges", b"{", 400),
        ("post", "/api/v1/organizations", "/api/v1/organizations", {}, 401),
        ("get", "/api/v1/funding/export", "/api/v1/funding/export?plan=NONE", None, 404),
    ]:
        headers = {} if status == 401 else admin
        if isinstance(body, bytes):
            headers = {**headers, "content-type": "application/json"}
            r = client.request(method, url, headers=headers, content=body)
        else:
            r = client.request(method, url, headers=headers, json=body)
        assert r.status_code == status, r.text
        _documented(spec, method, path, r)


def test_the_public_tip_status_describes_its_body(client: TestClient) -> None:
    """Found by the fuzz: the route reads its body itself, and the description had none, so a
    request without one got an undocumented 422."""
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/public/tips/status"]["post"]["requestBody"]["content"]
    assert "code" in body["application/json"]["schema"]["properties"]
    r = client.post("/public/tips/status")
    assert r.status_code == 422, r.text
    _documented(spec, "post", "/public/tips/status", r)


def test_a_control_character_in_text_is_a_422_naming_the_field(
    platform: Platform, client: TestClient, admin: dict[str, str]
) -> None:
    """Found by the fuzz: a login with a NUL was a 500 on PostgreSQL (which cannot store one);
    a plan's description with a control character made the IATI export stop halfway (XML cannot
    carry one). Tab and line breaks stay allowed."""
    before = row_counts(platform)
    r = client.post("/api/v1/auth/login", json={"username": "a\x00b", "password": "x"})
    _problem(r, 422, "body.username")
    r = client.post("/api/v1/pledges", headers=admin, json=pledge_body(notes="a\x02b"))
    _problem(r, 422, "body.notes")
    assert row_counts(platform) == before
    r = client.post("/api/v1/pledges", headers=admin, json=pledge_body(notes="a\tb\r\nc"))
    assert r.status_code == 201, r.text


def test_a_control_character_in_a_parameter_is_a_422_naming_it(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Found by the fuzz: `?sector=` with a NUL was a 500 on PostgreSQL."""
    _problem(client.get("/api/v1/requirements?sector=a%00b", headers=admin), 422, "query.sector")
    _problem(client.get("/api/v1/states/A%01B", headers=admin), 422, "path.iso3")
    r = client.get("/api/v1/requirements?sector=a%09b", headers=admin)  # a tab is text
    assert r.status_code == 200, r.text
