"""The JSON documents of the endpoint, built from providers: landing page, conformance,
collection descriptions, feature collections and features, each with its links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from starlette.datastructures import URL

from cmcc.interop.ogcapi.params import CRS84
from cmcc.interop.ogcapi.provider import BBox, CollectionProvider, Interval, ItemPage, ItemQuery

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
]

UrlFor = Callable[..., str]
"""`url_for(route_name, **path_params)`: the absolute URL of one of the endpoint's routes."""


def link(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def rfc3339(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def landing(url_for: UrlFor, openapi_url: str) -> dict[str, Any]:
    return {
        "title": "CMCC OGC API - Features",
        "description": "The map layers of the CMCC platform (zones, incidents and others the "
        "modules publish), each record released to the caller by its marking.",
        "links": [
            link(url_for("ogc_landing"), "self", JSON, "This document"),
            link(openapi_url, "service-desc", OPENAPI, "The API definition (OpenAPI)"),
            link(url_for("ogc_conformance"), "conformance", JSON, "Conformance classes"),
            link(url_for("ogc_collections"), "data", JSON, "The collections"),
        ],
    }


def collection(
    provider: CollectionProvider, extent: tuple[BBox | None, Interval | None], url_for: UrlFor
) -> dict[str, Any]:
    cid = provider.id
    doc: dict[str, Any] = {
        "id": cid,
        "title": provider.title,
        "description": provider.description,
        "links": [
            link(url_for("ogc_collection", collectionId=cid), "self", JSON, provider.title),
            link(url_for("ogc_items", collectionId=cid), "items", GEOJSON, "The features"),
            link(
                url_for("ogc_queryables", collectionId=cid),
                REL_QUERYABLES,
                SCHEMA,
                "The properties of the features",
            ),
        ],
        "itemType": "feature",
        "crs": [CRS84],
    }
    bbox, interval = extent
    spatial = {"spatial": {"bbox": [list(bbox)], "crs": CRS84}} if bbox else {}
    temporal = (
        {"temporal": {"interval": [[rfc3339(interval[0]), rfc3339(interval[1])]], "trs": TRS}}
        if interval
        else {}
    )
    if spatial or temporal:
        doc["extent"] = spatial | temporal
    return doc


def feature_collection(
    page: ItemPage, q: ItemQuery, url: URL, collection_url: str, now: dt.datetime
) -> dict[str, Any]:
    """The page as a GeoJSON FeatureCollection; `next` and `prev` repeat the request's query
    with another offset."""
    returned = len(page.features)
    links = [
        link(str(url), "self", GEOJSON, "This page"),
        link(collection_url, "collection", JSON, "The collection"),
    ]
    if returned and q.offset + returned < page.number_matched:
        after = url.include_query_params(offset=q.offset + returned, limit=q.limit)
        links.append(link(str(after), "next", GEOJSON, "Next page"))
    if q.offset > 0:
        before = url.include_query_params(offset=max(0, q.offset - q.limit), limit=q.limit)
        links.append(link(str(before), "prev", GEOJSON, "Previous page"))
    return {
        "type": "FeatureCollection",
        "features": page.features,
        "numberMatched": page.number_matched,
        "numberReturned": returned,
        "timeStamp": rfc3339(now),
        "links": links,
    }


def feature(item: dict[str, Any], self_url: str, collection_url: str) -> dict[str, Any]:
    return item | {
        "links": [
            link(self_url, "self", GEOJSON, "This feature"),
            link(collection_url, "collection", JSON, "The collection"),
        ]
    }


def queryables(provider: CollectionProvider, self_url: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": self_url,
        "type": "object",
        "title": provider.title,
        "properties": provider.queryables(),
    }
