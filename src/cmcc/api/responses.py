"""Fast JSON responses for pages of records.

A list page is validated once, when its records become public schemas, and then serialized by
pydantic's own JSON encoder. Returning a Response keeps FastAPI from validating the same page a
second time against the route's response_model (which still documents it in OpenAPI)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel

from cmcc.core.pagination import Page
from cmcc.core.schemas import ListPublic


def page_response(schema: type[BaseModel], page: Page[Any]) -> Response:
    body = ListPublic[schema](  # type: ignore[valid-type]
        data=[schema.model_validate(item) for item in page.items],
        count=page.count,
        next_cursor=page.next_cursor,
    )
    return Response(body.model_dump_json(), media_type="application/json")


def records_response(records: list[dict[str, Any]], page: Page[Any]) -> Response:
    """A list page whose records are already plain dicts shaped as the route's schema (times
    as aware datetimes, written with a Z as pydantic writes them)."""
    body = {"data": records, "count": page.count, "next_cursor": page.next_cursor}
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json")
