"""The OpenAPI description, completed in one place from the routes:

- links from each create operation to the operations that take the id it returns (OpenAPI 3
  `links`), so that clients and fuzzers (schemathesis' stateful phase) can follow a new record
  from its creation to its reads and changes;
- the error answers each operation can give, as the problem documents they are (RFC 9457,
  `cmcc.api.errors`): 422 and 400 for what the caller sent, 401 and 403 where the caller is
  authenticated, 404 where the path, a query parameter or a body field names a record, 409 for
  writes, 413 for bodies."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from cmcc.api.errors import PROBLEM
from cmcc.core.schemas import MAX_ID

PARAM = re.compile(r"\{([^}]+)\}")
METHODS = ("get", "put", "post", "patch", "delete")
WRITES = frozenset({"post", "put", "patch", "delete"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457); `errors` names each field that was wrong",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
ERRORS = {
    400: "Malformed JSON, or a parameter the operation refuses",
    401: "No valid token (Authorization: Bearer <token>)",
    403: "The caller's role or organization may not do this",
    404: "No such record, or one not released to the caller",
    409: "A stale version, a duplicate, or a step the record's state refuses",
    413: "The body is larger than the limit (CMCC_MAX_BODY_BYTES)",
    422: "Invalid input; `errors` names each field that was wrong",
}


def _returns_id(schema: dict[str, Any], operation: dict[str, Any]) -> bool:
    """The operation's 201 answer is an object with an `id` (not a list, not a report)."""
    content = operation.get("responses", {}).get("201", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    component = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    return "id" in component.get("properties", {})


def _link_name(method: str, path: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", PARAM.sub("id", path)) if w]
    return method.capitalize() + "".join(w.capitalize() for w in words[2:] or words)


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Link each create (`POST` on a path, answering 201 with a record) to the operations on
    `<path>/{id}` and below: their first new path parameter is the created `id`, and the
    parameters they share with the create come from its request."""
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for path, operations in paths.items():
        create = operations.get("post")
        if create is None or not _returns_id(schema, create):
            continue
        own = PARAM.findall(path)
        links: dict[str, Any] = {}
        for target, target_ops in paths.items():
            if not target.startswith(path + "/{"):
                continue
            new = [p for p in PARAM.findall(target) if p not in own]
            parameters = {f"path.{new[0]}": "$response.body#/id"}
            parameters |= {f"path.{p}": f"$request.path.{p}" for p in own}
            for method in METHODS:
                if method in target_ops:
                    op_id = target_ops[method]["operationId"]
                    links[_link_name(method, target)] = {
                        "operationId": op_id,
                        "parameters": parameters,
                    }
        if links:
            create["responses"]["201"]["links"] = links
    return schema


def _names_record(parameter: dict[str, Any]) -> bool:
    """A query parameter that names a record (`OptionalRecordId`: 404 when there is none)."""
    schema = parameter.get("schema", {})
    return any(s.get("maximum") == MAX_ID for s in [schema, *schema.get("anyOf", [])])


def _body_names_record(operation: dict[str, Any], components: dict[str, Any]) -> bool:
    """A JSON body with a field that names a record (`RecordIdField`: 404 when there is none)."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "")
    properties = components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
    return any(_names_record({"schema": p}) for p in properties.values())


def _error_codes(
    path: str, method: str, operation: dict[str, Any], authenticated: bool, record_body: bool
) -> set[int]:
    """The error answers of an operation (`authenticated`: it reads the caller's token;
    `record_body`: its body names a record)."""
    codes = {int(code) for code in operation.get("responses", {}) if int(code) >= 400}
    if operation.get("parameters") or "requestBody" in operation:
        codes.add(422)
    if "requestBody" in operation:
        codes |= {400, 413}
    if authenticated:
        codes |= {401, 403}
    parameters = operation.get("parameters", [])
    if PARAM.search(path) or record_body or any(_names_record(p) for p in parameters):
        codes.add(404)
    if method in WRITES:
        codes.add(409)
    return codes


def add_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Document each operation's error answers as problem documents (replacing FastAPI's
    `HTTPValidationError`, which is not what the API answers)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            record_body = _body_names_record(operation, components)
            codes = _error_codes(path, method, operation, "security" in operation, record_body)
            for code in sorted(c for c in codes if c < 500):  # 5xx keep their own bodies
                known = responses.get(str(code), {})
                description = known.get("description") or ERRORS.get(code, "An error")
                if description == "Validation Error":
                    description = ERRORS[code]
                responses[str(code)] = {"description": description, "content": content}
    return schema


def install(app: FastAPI) -> None:
    """Serve the description with its links and errors (computed once, like FastAPI's own)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_problems(add_links(generate()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
