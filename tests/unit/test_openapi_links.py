"""OpenAPI links from each create to the operations that take the id it returns, and the
error answers of each operation as problem documents."""

from __future__ import annotations

from typing import Any

from cmcc.api.openapi import add_links, add_problems
from cmcc.core.schemas import MAX_ID


def _op(op_id: str, status: str = "200", ref: str | None = None) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": ref}}} if ref else {}
    return {"operationId": op_id, "responses": {status: {"content": content}}}


def test_a_create_links_to_the_operations_on_its_record() -> None:
    schema: dict[str, Any] = {
        "components": {
            "schemas": {
                "Pledge": {"properties": {"id": {}}},
                "Page": {"properties": {"data": {}}},
            }
        },
        "paths": {
            "/api/v1/pledges": {
                "get": _op("list"),
                "post": _op("create", "201", "#/components/schemas/Pledge"),
            },
            "/api/v1/pledges/{pledge_id}": {"get": _op("read"), "patch": _op("change")},
            "/api/v1/pledges/{pledge_id}/renewal": {"post": _op("renew")},
            "/api/v1/requirements/{req_id}/matches": {
                "post": _op("match", "201", "#/components/schemas/Pledge")
            },
            "/api/v1/requirements/{req_id}/matches/{pledge_id}": {"delete": _op("unmatch")},
            "/api/v1/reports": {"post": _op("report", "201", "#/components/schemas/Page")},
            "/api/v1/reports/{report_id}": {"get": _op("read_report")},
        },
    }
    paths = add_links(schema)["paths"]
    links = paths["/api/v1/pledges"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {"read", "change", "renew"}
    assert links["PatchPledgesId"]["parameters"] == {"path.pledge_id": "$response.body#/id"}
    match = paths["/api/v1/requirements/{req_id}/matches"]["post"]["responses"]["201"]
    assert match["links"]["DeleteRequirementsIdMatchesId"]["parameters"] == {
        "path.pledge_id": "$response.body#/id",
        "path.req_id": "$request.path.req_id",
    }
    # A create that answers with something other than a record has nothing to link.
    assert "links" not in paths["/api/v1/reports"]["post"]["responses"]["201"]


def test_each_operation_documents_its_errors_as_problem_documents() -> None:
    record_id = {"name": "zone", "in": "query", "schema": {"anyOf": [{"maximum": MAX_ID}, {}]}}
    unit = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Unit"}}}}
    schema: dict[str, Any] = {
        "components": {
            "schemas": {
                "HTTPValidationError": {},
                "ValidationError": {},
                "Unit": {"properties": {"pledge_id": {"maximum": MAX_ID}}},
            }
        },
        "paths": {
            "/api/v1/pledges/{pledge_id}": {
                "patch": {"security": [{"HTTPBearer": []}], "requestBody": {}, "responses": {}}
            },
            "/api/v1/incidents": {"get": {"parameters": [record_id], "responses": {}}},
            "/api/v1/health": {"get": {"responses": {"503": {"description": "down"}}}},
            "/api/v1/units": {"post": {"requestBody": unit, "responses": {}}},
        },
    }
    done = add_problems(schema)
    assert set(done["components"]["schemas"]) == {"Problem", "Unit"}
    paths = done["paths"]
    patch = paths["/api/v1/pledges/{pledge_id}"]["patch"]["responses"]
    assert set(patch) == {"400", "401", "403", "404", "409", "413", "422"}
    assert patch["422"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert set(paths["/api/v1/incidents"]["get"]["responses"]) == {"404", "422"}
    assert paths["/api/v1/health"]["get"]["responses"] == {"503": {"description": "down"}}
    assert set(paths["/api/v1/units"]["post"]["responses"]) == {"400", "404", "409", "413", "422"}
