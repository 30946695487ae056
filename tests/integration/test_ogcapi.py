"""OGC API - Features at /ogc over a test collection whose provider applies the release policy
(`may_see`) with the viewer the adapter passes: protocol documents, filters, paging, errors,
and the bearer token reaching the provider. Runs on SQLite and PostgreSQL (`platform`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import literal, select
from sqlalchemy.orm import Session
from starlette.routing import NoMatchFound

from cmcc.access.domain import Role
from cmcc.api.app import create_app
from cmcc.bootstrap import Platform
from cmcc.core.errors import NotFound
from cmcc.core.releasability import Marking, Viewer, may_see
from cmcc.interop.ogcapi.provider import BBox, Interval, ItemPage, ItemQuery
from cmcc.interop.ogcapi.registry import get_provider, providers, register, unregister
from cmcc.interop.ogcapi.router import router as ogcapi_router
from tests.factories import caller

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
NOBODY = -1  # owner org id of the test features: visibility comes from the marking alone


@dataclass(frozen=True)
class Site:
    id: str
    lon: float
    lat: float
    at: dt.datetime
    marking: str = "public"

    def feature(self) -> dict[str, Any]:
        return {
            "type": "Feature",
            "id": self.id,
            "geometry": {"type": "Point", "coordinates": [self.lon, self.lat]},
            "properties": {"observed_at": self.at.isoformat(), "releasability": self.marking},
        }


# Ten public sites on a diagonal, a day apart; two released to GBR only.
PUBLIC = [
    Site(f"s{i:02d}", 34.30 + 0.02 * i, 31.30 + 0.02 * i, T0 + dt.timedelta(days=i))
    for i in range(10)
]
RESTRICTED = [
    Site("g1", 34.45, 31.50, T0 + dt.timedelta(days=4, hours=12), "rel:GBR"),
    Site("g2", 34.60, 31.70, T0 + dt.timedelta(days=20), "rel:GBR"),
]


class SiteCollection:
    """An in-memory collection that releases each site by its marking, like a provider's SQL."""

    id = "test-sites"
    title = "Test sites"
    description = "Points for the OGC API tests"

    def __init__(self, sites: list[Site]) -> None:
        self.sites = sites
        self.viewers: list[Viewer] = []

    def _visible(self, session: Session, viewer: Viewer) -> list[Site]:
        assert session.scalar(select(literal(1))) == 1  # the request's live session
        self.viewers.append(viewer)
        return [s for s in self.sites if may_see(Marking.parse(s.marking), NOBODY, viewer)]

    def extent(self, session: Session, viewer: Viewer) -> tuple[BBox | None, Interval | None]:
        sites = self._visible(session, viewer)
        if not sites:
            return None, None
        lons, lats = [s.lon for s in sites], [s.lat for s in sites]
        bbox = (min(lons), min(lats), max(lons), max(lats))
        return bbox, (min(s.at for s in sites), max(s.at for s in sites))

    def query(self, session: Session, viewer: Viewer, q: ItemQuery) -> ItemPage:
        sites = self._visible(session, viewer)
        if q.bbox is not None:
            minx, miny, maxx, maxy = q.bbox
            sites = [s for s in sites if minx <= s.lon <= maxx and miny <= s.lat <= maxy]
        if q.interval is not None:
            start, end = q.interval
            sites = [
                s
                for s in sites
                if (start is None or s.at >= start) and (end is None or s.at <= end)
            ]
        sites.sort(key=lambda s: s.id)
        page = sites[q.offset : q.offset + q.limit]
        return ItemPage([s.feature() for s in page], len(sites))

    def get(self, session: Session, viewer: Viewer, feature_id: str) -> dict[str, Any]:
        for site in self._visible(session, viewer):
            if site.id == feature_id:
                return site.feature()
        raise NotFound(f"feature {feature_id!r} not found")

    def queryables(self) -> dict[str, dict[str, Any]]:
        return {"observed_at": {"type": "string", "format": "date-time"}}


def with_ogcapi(app: FastAPI) -> FastAPI:
    """The app with the /ogc router (unless create_app already mounts it)."""
    try:
        app.url_path_for("ogc_landing")
    except NoMatchFound:
        app.include_router(ogcapi_router)
    return app


@pytest.fixture
def sites() -> Iterator[SiteCollection]:
    provider = SiteCollection(PUBLIC + RESTRICTED)
    register(provider)
    yield provider
    unregister(provider.id)


@pytest.fixture
def ogc(platform: Platform, sites: SiteCollection) -> Iterator[TestClient]:
    with TestClient(with_ogcapi(create_app(platform))) as c:
        yield c


@pytest.fixture
def gbr(platform: Platform) -> dict[str, str]:
    return caller(platform, "GBR", Role.LIAISON_OFFICER).headers


def _ok(r: Any, media: str = "application/json") -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(media)
    return dict(r.json())


def _geo(r: Any) -> dict[str, Any]:
    return _ok(r, "application/geo+json")


def _problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = dict(r.json())
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def _links(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {link["rel"]: link for link in doc["links"]}


def _ids(doc: dict[str, Any]) -> list[str]:
    return [f["id"] for f in doc["features"]]


ITEMS = "/ogc/collections/test-sites/items"


# --- documents --------------------------------------------------------------------------------


def test_landing_page_links_what_qgis_needs(ogc: TestClient) -> None:
    doc = _ok(ogc.get("/ogc"))
    assert doc["title"]
    links = _links(doc)
    assert links["self"]["href"] == "http://testserver/ogc"
    desc = links["service-desc"]
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert desc["href"] == "http://testserver/openapi.json"
    assert links["conformance"]["href"] == "http://testserver/ogc/conformance"
    assert links["data"] == {**links["data"], "type": "application/json"}
    assert links["data"]["href"] == "http://testserver/ogc/collections"
    assert _ok(ogc.get("/ogc/")) == doc  # OWSLib asks with a trailing slash


def test_openapi_describes_the_routes_and_the_page_size(ogc: TestClient) -> None:
    paths = _ok(ogc.get("/openapi.json"))["paths"]
    for path in (
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/{collectionId}",
        "/ogc/collections/{collectionId}/queryables",
        "/ogc/collections/{collectionId}/items",
        "/ogc/collections/{collectionId}/items/{featureId}",
    ):
        assert paths[path]["get"]["summary"], path
    items = paths["/ogc/collections/{collectionId}/items"]["get"]
    params = {p["name"]: p for p in items["parameters"]}
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10000,
        "default": 100,
    }
    assert {"collectionId", "bbox", "datetime", "offset", "bbox-crs"} <= set(params)
    assert "application/geo+json" in items["responses"]["200"]["content"]
    assert "400" in items["responses"]


def test_conformance(ogc: TestClient) -> None:
    conforms = _ok(ogc.get("/ogc/conformance"))["conformsTo"]
    base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    assert {base + "core", base + "geojson", base + "oas30"} <= set(conforms)
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables" in conforms


def test_collections_describe_the_extent_the_caller_may_see(
    ogc: TestClient, gbr: dict[str, str]
) -> None:
    listing = _ok(ogc.get("/ogc/collections"))
    assert _links(listing)["self"]["href"] == "http://testserver/ogc/collections"
    (doc,) = [c for c in listing["collections"] if c["id"] == "test-sites"]
    assert doc == _ok(ogc.get("/ogc/collections/test-sites"))
    assert doc["title"] == "Test sites"
    assert doc["description"] == "Points for the OGC API tests"
    assert doc["itemType"] == "feature"
    assert doc["crs"] == [CRS84]
    links = _links(doc)
    assert links["items"]["href"] == "http://testserver" + ITEMS
    assert links["items"]["type"] == "application/geo+json"
    assert links["self"]["type"] == "application/json"
    spatial, temporal = doc["extent"]["spatial"], doc["extent"]["temporal"]
    assert spatial["crs"] == CRS84
    assert spatial["bbox"] == [[34.30, 31.30, pytest.approx(34.48), pytest.approx(31.48)]]
    assert temporal["interval"] == [["2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z"]]
    logged_in = _ok(ogc.get("/ogc/collections/test-sites", headers=gbr))["extent"]
    assert logged_in["spatial"]["bbox"] == [[34.30, 31.30, 34.60, 31.70]]
    assert logged_in["temporal"]["interval"] == [["2026-03-01T00:00:00Z", "2026-03-21T00:00:00Z"]]


def test_empty_extent_is_left_out(ogc: TestClient, sites: SiteCollection) -> None:
    sites.sites = RESTRICTED
    assert "extent" not in _ok(ogc.get("/ogc/collections/test-sites"))


def test_queryables(ogc: TestClient) -> None:
    r = ogc.get("/ogc/collections/test-sites/queryables")
    doc = _ok(r, "application/schema+json")
    assert doc["type"] == "object"
    assert doc["$id"] == "http://testserver/ogc/collections/test-sites/queryables"
    assert doc["properties"] == {"observed_at": {"type": "string", "format": "date-time"}}


def test_unknown_collection_is_404(ogc: TestClient) -> None:
    for path in ("", "/items", "/items/s01", "/queryables"):
        body = _problem(ogc.get(f"/ogc/collections/nope{path}"), 404)
        assert body["type"].endswith("/not-found")


# --- items ------------------------------------------------------------------------------------


def test_items_first_page(ogc: TestClient) -> None:
    r = ogc.get(ITEMS)
    doc = _geo(r)
    assert doc["type"] == "FeatureCollection"
    assert _ids(doc) == [s.id for s in PUBLIC]  # the default limit is 10
    assert doc["numberMatched"] == doc["numberReturned"] == 10
    stamp = dt.datetime.fromisoformat(doc["timeStamp"])
    assert abs(stamp - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert doc["timeStamp"].endswith("Z")
    links = _links(doc)
    assert set(links) == {"self", "collection"}
    assert links["self"]["href"] == "http://testserver" + ITEMS
    assert links["self"]["type"] == "application/geo+json"
    assert links["collection"]["href"] == "http://testserver/ogc/collections/test-sites"
    feature = doc["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [34.30, 31.30]}


def test_paging_follows_next_links_and_keeps_the_filters(ogc: TestClient) -> None:
    url: str | None = ITEMS + "?limit=3&datetime=2026-03-02T00:00:00Z/..&bbox=34,31,35,32"
    seen: list[str] = []
    pages = []
    while url:
        doc = _geo(ogc.get(url))
        assert doc["numberMatched"] == 9
        assert doc["numberReturned"] == len(doc["features"]) <= 3
        seen += _ids(doc)
        pages.append(doc)
        url = _links(doc).get("next", {}).get("href")
    assert seen == [s.id for s in PUBLIC[1:]]
    assert [d["numberReturned"] for d in pages] == [3, 3, 3]
    assert "prev" not in _links(pages[0])
    second = _links(pages[1])
    assert "offset=0" in second["prev"]["href"]
    assert "datetime=2026-03-02T00" in second["next"]["href"]
    assert "bbox=34%2C31%2C35%2C32" in second["next"]["href"]


def test_offset_and_prev_link(ogc: TestClient) -> None:
    doc = _geo(ogc.get(ITEMS, params={"offset": 8, "limit": 5}))
    assert _ids(doc) == ["s08", "s09"]
    assert doc["numberReturned"] == 2
    links = _links(doc)
    assert "next" not in links
    assert "offset=3" in links["prev"]["href"]
    beyond = _geo(ogc.get(ITEMS, params={"offset": 50}))
    assert beyond["features"] == []
    assert beyond["numberMatched"] == 10


def test_limit_bounds(ogc: TestClient) -> None:
    assert _geo(ogc.get(ITEMS, params={"limit": 1}))["numberReturned"] == 1
    assert _geo(ogc.get(ITEMS, params={"limit": 10000}))["numberReturned"] == 10
    for bad in ("0", "10001", "-1", "ten", "2.5", ""):
        _problem(ogc.get(ITEMS, params={"limit": bad}), 400, "query.limit")
    _problem(ogc.get(ITEMS, params={"offset": "-1"}), 400, "query.offset")


def test_bbox_filter(ogc: TestClient) -> None:
    doc = _geo(ogc.get(ITEMS, params={"bbox": "34.33,31.33,34.39,31.39"}))
    assert _ids(doc) == ["s02", "s03", "s04"]
    assert doc["numberMatched"] == 3
    with_crs = {"bbox": "34.33,31.33,34.39,31.39", "bbox-crs": CRS84}
    assert _ids(_geo(ogc.get(ITEMS, params=with_crs))) == ["s02", "s03", "s04"]
    heights = {"bbox": "34.33,31.33,-10,34.39,31.39,100"}
    assert _ids(_geo(ogc.get(ITEMS, params=heights))) == ["s02", "s03", "s04"]
    assert _geo(ogc.get(ITEMS, params={"bbox": "0,0,1,1"}))["numberMatched"] == 0


@pytest.mark.parametrize(
    "bbox",
    [
        "34,31,35",
        "34,31,35,32,1",
        "35,31,34,32",  # reversed longitudes (the antimeridian is not crossed)
        "34,32,35,31",
        "-181,0,0,1",
        "0,-91,1,0",
        "0,0,1,91",
        "a,b,c,d",
        "nan,0,1,1",
        "0,0,inf,1",
        "",
    ],
)
def test_bad_bbox_is_400(ogc: TestClient, bbox: str) -> None:
    body = _problem(ogc.get(ITEMS, params={"bbox": bbox}), 400, "query.bbox")
    assert body["type"].endswith("/invalid-parameter")


def test_other_crs_is_400(ogc: TestClient) -> None:
    epsg = "http://www.opengis.net/def/crs/EPSG/0/4326"
    _problem(
        ogc.get(ITEMS, params={"bbox": "34,31,35,32", "bbox-crs": epsg}), 400, "query.bbox-crs"
    )
    _problem(ogc.get(ITEMS, params={"crs": epsg}), 400, "query.crs")
    assert _geo(ogc.get(ITEMS, params={"crs": CRS84}))["numberReturned"] == 10


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-03T00:00:00Z", ["s02"]),
        ("2026-03-03T02:00:00+02:00", ["s02"]),  # the same instant
        ("2026-03-03T00:00:01Z", []),
        ("2026-03-03T00:00:00Z/2026-03-05T00:00:00Z", ["s02", "s03", "s04"]),
        ("../2026-03-02T00:00:00Z", ["s00", "s01"]),
        ("/2026-03-02T00:00:00Z", ["s00", "s01"]),
        ("2026-03-09T00:00:00Z/..", ["s08", "s09"]),
        ("2026-03-09T00:00:00Z/", ["s08", "s09"]),
        ("../..", [s.id for s in PUBLIC]),
    ],
)
def test_datetime_filter(ogc: TestClient, value: str, expected: list[str]) -> None:
    assert _ids(_geo(ogc.get(ITEMS, params={"datetime": value}))) == expected


@pytest.mark.parametrize(
    "value",
    ["2026-03-05T00:00:00Z/2026-03-03T00:00:00Z", "yesterday", "2026-03-03T00:00:00", "a/b"],
)
def test_bad_datetime_is_400(ogc: TestClient, value: str) -> None:
    body = _problem(ogc.get(ITEMS, params={"datetime": value}), 400, "query.datetime")
    assert body["status"] == 400


def test_unknown_or_repeated_parameters_are_400(ogc: TestClient) -> None:
    _problem(ogc.get(ITEMS, params={"colour": "red"}), 400, "query.colour")
    _problem(ogc.get(ITEMS + "?limit=2&limit=3"), 400, "query.limit")
    _problem(ogc.get(ITEMS, params={"f": "html"}), 400, "query.f")
    assert _geo(ogc.get(ITEMS, params={"f": "json"}))["numberReturned"] == 10
    _problem(ogc.get(ITEMS + "/s01", params={"bbox": "34,31,35,32"}), 400, "query.bbox")


# --- one feature, and the caller ----------------------------------------------------------------


def test_one_feature(ogc: TestClient) -> None:
    doc = _geo(ogc.get(ITEMS + "/s03"))
    assert doc["type"] == "Feature"
    assert doc["id"] == "s03"
    assert doc["properties"]["observed_at"] == "2026-03-04T00:00:00+00:00"
    links = _links(doc)
    assert links["self"]["href"] == "http://testserver" + ITEMS + "/s03"
    assert links["self"]["type"] == "application/geo+json"
    assert links["collection"]["href"] == "http://testserver/ogc/collections/test-sites"


def test_links_quote_odd_feature_ids(ogc: TestClient, sites: SiteCollection) -> None:
    sites.sites = [Site("a b?c#d", 34.3, 31.3, T0)]
    doc = _geo(ogc.get(ITEMS + "/a%20b%3Fc%23d"))
    assert doc["id"] == "a b?c#d"
    assert _links(doc)["self"]["href"] == "http://testserver" + ITEMS + "/a%20b%3Fc%23d"


def test_missing_and_unreleased_features_answer_the_same_404(ogc: TestClient) -> None:
    missing = _problem(ogc.get(ITEMS + "/zz"), 404)
    hidden = _problem(ogc.get(ITEMS + "/g1"), 404)
    assert {k: v for k, v in missing.items() if k not in ("detail", "instance")} == {
        k: v for k, v in hidden.items() if k not in ("detail", "instance")
    }


def test_the_bearer_token_reaches_the_provider(
    platform: Platform, ogc: TestClient, sites: SiteCollection, gbr: dict[str, str]
) -> None:
    fra = caller(platform, "FRA", Role.LIAISON_OFFICER).headers
    anonymous = _geo(ogc.get(ITEMS, params={"limit": 100}))
    assert anonymous["numberMatched"] == 10
    assert sites.viewers[-1] == Viewer.public()
    british = _geo(ogc.get(ITEMS, params={"limit": 100}, headers=gbr))
    assert british["numberMatched"] == 12
    assert {"g1", "g2"} <= set(_ids(british))
    assert sites.viewers[-1].org_code == "GBR"
    assert not sites.viewers[-1].sees_all
    assert _geo(ogc.get(ITEMS, params={"limit": 100}, headers=fra))["numberMatched"] == 10
    assert sites.viewers[-1].org_code == "FRA"
    assert _geo(ogc.get(ITEMS + "/g1", headers=gbr))["id"] == "g1"
    _problem(ogc.get(ITEMS + "/g1", headers=fra), 404)
    instant = {"datetime": "2026-03-05T12:00:00Z"}
    assert _ids(_geo(ogc.get(ITEMS, params=instant, headers=gbr))) == ["g1"]
    _problem(ogc.get(ITEMS, headers={"Authorization": "Bearer not-a-token"}), 401)


# --- registry ---------------------------------------------------------------------------------


def test_registry_replaces_and_unregisters(sites: SiteCollection) -> None:
    assert get_provider("test-sites") is sites
    other = SiteCollection(PUBLIC[:1])
    register(other)
    assert get_provider("test-sites") is other
    assert [p.id for p in providers()].count("test-sites") == 1
    unregister("test-sites")
    with pytest.raises(NotFound):
        get_provider("test-sites")
    unregister("test-sites")  # twice is fine
    ids = [p.id for p in providers()]
    assert ids == sorted(ids)


def test_the_description_of_features_matches_the_answers(ogc: TestClient) -> None:
    """Found by the fuzz (as a liaison officer, following /ogc/collections to its items): the
    GeoJSON answers were described as a string."""
    paths = _ok(ogc.get("/openapi.json"))["paths"]
    for path, url, kind in [
        ("/ogc/collections/{collectionId}/items", ITEMS, None),
        ("/ogc/collections/{collectionId}/items/{featureId}", None, "Feature"),
    ]:
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/geo+json"]
        if url is None:
            url = f"{ITEMS}/{_geo(ogc.get(ITEMS))['features'][0]['id']}"
        assert jsonschema_rs.is_valid(schema["schema"], _geo(ogc.get(url)))
        assert schema["schema"]["properties"]["type"]["const"] == (kind or "FeatureCollection")
