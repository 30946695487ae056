"""The OpenAPI description, completed in one place: links from each create operation to the
operations that take the id it returns (OpenAPI 3 `links`), so that clients and fuzzers
(schemathesis' stateful phase) can follow a new record from its creation to its reads and
changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

PARAM = re.compile(r"\{([^}]+)\}")
METHODS = ("get", "put", "post", "patch", "delete")


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


def install(app: FastAPI) -> None:
    """Serve the description with its links (computed once, like FastAPI's own)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
