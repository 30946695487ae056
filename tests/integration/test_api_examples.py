"""The request examples of the OpenAPI description are accepted: each create's example makes a
record (201) for an administrator. They seed schemathesis' stateful phase
(tests/e2e/test_api_fuzz.py), which follows a create's links only when the create succeeds."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from tests.factories import caller


def _body_examples(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    schemas = spec["components"]["schemas"]
    found = []
    for path, operations in spec["paths"].items():
        body = operations.get("post", {}).get("requestBody", {})
        ref = body.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
        if ref is not None:
            found += [(path, ex) for ex in schemas[ref.rsplit("/", 1)[-1]].get("examples", [])]
    return found


def test_each_create_example_is_accepted(platform: Platform, client: TestClient) -> None:
    admin = caller(platform, "CMCC", Role.ADMIN).headers
    examples = _body_examples(client.get("/openapi.json").json())
    assert {"/api/v1/zones", "/api/v1/incidents", "/api/v1/hazards"} <= {p for p, _ in examples}
    for path, example in examples:
        r = client.post(path, headers=admin, json=example)
        assert r.status_code == 201, (path, r.text)
