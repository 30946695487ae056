"""OGC API - Features under /ogc: one adapter over every registered collection provider.

The caller is the one named by `Authorization: Bearer <token>` (as on /api/v1); anonymous
callers see public records. Providers apply the release policy with `principal.viewer`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from cmcc.api.deps import CurrentPrincipal, SessionDep
from cmcc.core.clock import utcnow
from cmcc.interop.ogcapi import documents
from cmcc.interop.ogcapi.params import (
    ITEM_OPENAPI,
    ITEMS_OPENAPI,
    check_item_params,
    check_properties,
    parse_items_query,
)
from cmcc.interop.ogcapi.registry import get_provider, providers

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

CollectionId = Annotated[str, Path(alias="collectionId", description="The collection's id")]
FeatureId = Annotated[str, Path(alias="featureId", description="The feature's id")]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {}}}


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _problem("No such collection, or no such feature released to the caller")
}
BAD_PARAMETER: dict[int | str, dict[str, Any]] = {400: _problem("A query parameter is invalid")}


def _geojson(kind: str) -> dict[int | str, dict[str, Any]]:
    """A 200 answer in GeoJSON: a `FeatureCollection` or a `Feature` object."""
    schema = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"const": kind}},
    }
    return {200: {"content": {documents.GEOJSON: {"schema": schema}}}}


class GeoJSONResponse(Response):
    media_type = documents.GEOJSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)  # aware datetimes as ...Z


def _url_for(request: Request) -> documents.UrlFor:
    def url_for(name: str, /, **path_params: str) -> str:
        quoted = {key: quote(value, safe="") for key, value in path_params.items()}
        return str(request.url_for(name, **quoted))

    return url_for


@router.get(
    "",
    name="ogc_landing",
    operation_id="getLandingPage",
    summary="Landing page of the OGC API - Features endpoint",
)
@router.get("/", name="ogc_landing_slash", include_in_schema=False)
def landing(request: Request) -> dict[str, Any]:
    openapi = str(request.base_url).rstrip("/") + (request.app.openapi_url or "/openapi.json")
    return documents.landing(_url_for(request), openapi)


@router.get(
    "/conformance",
    name="ogc_conformance",
    operation_id="getConformanceDeclaration",
    summary="Conformance classes implemented",
)
def conformance() -> dict[str, Any]:
    return {"conformsTo": documents.CONFORMANCE}


@router.get(
    "/collections",
    name="ogc_collections",
    operation_id="getCollections",
    summary="The feature collections, with the extent of what the caller may see",
)
def collections(
    request: Request, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    url_for = _url_for(request)
    return {
        "links": [
            documents.link(url_for("ogc_collections"), "self", documents.JSON, "This document")
        ],
        "collections": [
            documents.collection(p, p.extent(session, principal.viewer), url_for)
            for p in providers()
        ],
    }


@router.get(
    "/collections/{collectionId}",
    name="ogc_collection",
    operation_id="describeCollection",
    summary="One feature collection, with the extent of what the caller may see",
    responses=NOT_FOUND,
)
def collection(
    request: Request, collection_id: CollectionId, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    provider = get_provider(collection_id)
    extent = provider.extent(session, principal.viewer)
    return documents.collection(provider, extent, _url_for(request))


@router.get(
    "/collections/{collectionId}/queryables",
    name="ogc_queryables",
    operation_id="getQueryables",
    summary="The properties of the collection's features (JSON Schema)",
    response_class=JSONResponse,
    responses={200: {"content": {documents.SCHEMA: {}}}, **NOT_FOUND},
)
def queryables(request: Request, collection_id: CollectionId) -> JSONResponse:
    provider = get_provider(collection_id)
    doc = documents.queryables(provider, str(request.url.remove_query_params(request.url.query)))
    return JSONResponse(doc, media_type=documents.SCHEMA)


@router.get(
    "/collections/{collectionId}/items",
    name="ogc_items",
    operation_id="getFeatures",
    summary="The features the caller may see, filtered by bbox and datetime, one page",
    response_class=GeoJSONResponse,
    responses={**_geojson("FeatureCollection"), **BAD_PARAMETER, **NOT_FOUND},
    openapi_extra={"parameters": ITEMS_OPENAPI},
)
def items(
    request: Request, collection_id: CollectionId, session: SessionDep, principal: CurrentPrincipal
) -> GeoJSONResponse:
    provider = get_provider(collection_id)
    query = parse_items_query(request.query_params)
    check_properties(query, getattr(provider, "returnables", None))
    page = provider.query(session, principal.viewer, query)
    collection_url = _url_for(request)("ogc_collection", collectionId=collection_id)
    doc = documents.feature_collection(page, query, request.url, collection_url, utcnow())
    return GeoJSONResponse(doc)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    name="ogc_item",
    operation_id="getFeature",
    summary="One feature (404 when missing or not released to the caller)",
    response_class=GeoJSONResponse,
    responses={**_geojson("Feature"), **BAD_PARAMETER, **NOT_FOUND},
    openapi_extra={"parameters": ITEM_OPENAPI},
)
def item(
    request: Request,
    collection_id: CollectionId,
    feature_id: FeatureId,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> GeoJSONResponse:
    provider = get_provider(collection_id)
    check_item_params(request.query_params)
    found = provider.get(session, principal.viewer, feature_id)
    url_for = _url_for(request)
    self_url = url_for("ogc_item", collectionId=collection_id, featureId=feature_id)
    collection_url = url_for("ogc_collection", collectionId=collection_id)
    return GeoJSONResponse(documents.feature(found, self_url, collection_url))
