"""The query parameters of `/items` and `/items/{featureId}`: parsed, and described for OpenAPI.

Every bad value answers 400 with the parameter named as `query.<name>`, and so does a parameter
the endpoint does not define (OGC API - Features /req/core/query-param-unknown): a client that
sends a filter the server ignores would otherwise take an unfiltered answer for a filtered one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from starlette.datastructures import QueryParams

from cmcc.core.errors import FieldError
from cmcc.core.timeparse import parse_interval
from cmcc.geo.geometry import parse_bbox
from cmcc.interop.ogcapi.errors import InvalidParameter, as_invalid_parameter
from cmcc.interop.ogcapi.provider import BBox, Interval, ItemQuery

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84_NAMES = frozenset({CRS84, "[OGC:CRS84]"})
DEFAULT_LIMIT = 100  # the common request (the map's view, a GIS layer) in one page
MAX_LIMIT = 10_000
FORMATS = ("json", "geojson")
ITEMS_PARAMS = ("bbox", "bbox-crs", "datetime", "limit", "offset", "properties", "crs", "f")
ITEM_PARAMS = ("crs", "f")
PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
DIGITS = re.compile(r"^[0-9]{1,12}$")


def parse_items_query(params: QueryParams) -> ItemQuery:
    values = _single_values(params, ITEMS_PARAMS)
    _check_common(values)
    _check_crs(values, "bbox-crs")
    return ItemQuery(
        bbox=_bbox(values["bbox"]) if "bbox" in values else None,
        interval=_interval(values["datetime"]) if "datetime" in values else None,
        limit=_integer(values, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_integer(values, "offset", 0, 0, None),
        properties=_properties(values["properties"]) if "properties" in values else None,
    )


def check_properties(q: ItemQuery, offered: Collection[str] | None) -> None:
    """Refuse (400) a `properties` selection naming a property the collection does not have,
    or any selection where the collection offers none (`offered` None)."""
    if q.properties is None:
        return
    if offered is None:
        raise _fail("properties", "this collection does not offer property selection")
    unknown = [name for name in q.properties if name not in offered]
    if unknown:
        raise _fail(
            "properties",
            f"unknown {', '.join(unknown)}; the collection's properties are "
            + ", ".join(sorted(offered)),
        )


def _properties(text: str) -> tuple[str, ...]:
    """OGC API - Features - Part 6 `properties`: a comma-separated list of property names;
    empty: no properties."""
    names = [name.strip() for name in text.split(",")] if text.strip() else []
    for name in names:
        if not PROPERTY_NAME.match(name):
            raise _fail("properties", f"{name!r} is not a property name")
    if len(set(names)) != len(names):
        raise _fail("properties", "names a property more than once")
    return tuple(names)


def check_item_params(params: QueryParams) -> None:
    _check_common(_single_values(params, ITEM_PARAMS))


def _fail(name: str, message: str) -> InvalidParameter:
    return InvalidParameter(f"query.{name}: {message}", [FieldError(f"query.{name}", message)])


def _single_values(params: QueryParams, allowed: Collection[str]) -> dict[str, str]:
    errors = [
        FieldError(f"query.{name}", f"unknown parameter; this endpoint takes {', '.join(allowed)}")
        for name in sorted(set(params.keys()) - set(allowed))
    ]
    errors += [
        FieldError(f"query.{name}", "given more than once")
        for name in sorted(set(params.keys()) & set(allowed))
        if len(params.getlist(name)) > 1
    ]
    if errors:
        raise InvalidParameter("; ".join(f"{e.field}: {e.message}" for e in errors), errors)
    return dict(params.items())


def _check_common(values: Mapping[str, str]) -> None:
    _check_crs(values, "crs")
    if "f" in values and values["f"].strip().lower() not in FORMATS:
        raise _fail("f", f"unsupported format {values['f']!r}; use json or geojson")


def _check_crs(values: Mapping[str, str], name: str) -> None:
    if name in values and values[name].strip() not in CRS84_NAMES:
        raise _fail(name, f"only {CRS84} is supported")


def _bbox(text: str) -> BBox:
    parts = text.split(",")
    if len(parts) == 6:  # minx,miny,minz,maxx,maxy,maxz: the heights do not filter
        parts = [parts[0], parts[1], parts[3], parts[4]]
    elif len(parts) != 4:
        raise _fail("bbox", "takes 4 numbers (minx,miny,maxx,maxy) or 6 (with heights)")
    with as_invalid_parameter():
        return parse_bbox(",".join(parts), field="query.bbox")


def _interval(text: str) -> Interval | None:
    with as_invalid_parameter():
        start, end = parse_interval(text, field="query.datetime")
    return None if start is None and end is None else (start, end)


def _integer(values: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    text = values.get(name)
    if text is None:
        return default
    if not DIGITS.match(text.strip()):
        raise _fail(name, f"{text!r} is not a whole number")
    value = int(text)
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f"{low} or more"
        raise _fail(name, f"{value} is out of range ({bounds})")
    return value


def _parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": description,
        "schema": schema,
    }


CRS_SCHEMA = {"type": "string", "format": "uri", "enum": [CRS84], "default": CRS84}
FORMAT_PARAMETER = _parameter(
    "f", "Response format; only GeoJSON is served.", {"type": "string", "enum": list(FORMATS)}
)
CRS_PARAMETER = _parameter("crs", "CRS of the response; only CRS84 is served.", CRS_SCHEMA)
ITEMS_OPENAPI: list[dict[str, Any]] = [
    _parameter(
        "bbox",
        "Only features that intersect the box: min longitude, min latitude, max longitude, "
        "max latitude (CRS84; 6 numbers with heights are taken, the heights ignored). "
        "Boxes across the antimeridian are refused.",
        {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
    ),
    _parameter("bbox-crs", "CRS of `bbox`; only CRS84.", CRS_SCHEMA),
    _parameter(
        "datetime",
        "Only features whose time intersects an RFC 3339 instant (`2026-03-01T10:00:00Z`) or "
        "interval (`a/b`; `..` or empty for an open end).",
        {"type": "string"},
    ),
    _parameter(
        "limit",
        "Page size.",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    _parameter(
        "properties",
        "Only these properties of each feature (OGC API - Features - Part 6): a comma-separated "
        "list of property names; empty for none. The id and the geometry are always returned.",
        {"type": "array", "items": {"type": "string"}},
    ),
    _parameter(
        "offset",
        "Features to skip (the `next` link carries it).",
        {"type": "integer", "minimum": 0, "default": 0},
    ),
    CRS_PARAMETER,
    FORMAT_PARAMETER,
]
ITEM_OPENAPI: list[dict[str, Any]] = [CRS_PARAMETER, FORMAT_PARAMETER]
