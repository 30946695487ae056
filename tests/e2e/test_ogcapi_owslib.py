"""OGC API - Features over real HTTP, read by OWSLib as GIS scripts read it: a uvicorn server in
a thread serving create_app + the /ogc router, with the test collection of the integration
tests (released by marking), on both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import owslib.ogcapi
import pytest
import uvicorn
from owslib.ogcapi.features import Features

from cmcc.access.domain import Role
from cmcc.api.app import create_app
from cmcc.bootstrap import Platform
from cmcc.interop.ogcapi.registry import register, unregister
from tests.factories import caller
from tests.integration.test_ogcapi import PUBLIC, RESTRICTED, SiteCollection, with_ogcapi
from tests.serving import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def base_url(platform: Platform) -> Iterator[str]:
    sites = SiteCollection(PUBLIC + RESTRICTED)
    register(sites)
    port = free_port()
    app = with_ogcapi(create_app(platform))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/ogc"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        unregister(sites.id)


@pytest.fixture(autouse=True)
def _owslib_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """OWSLib (0.35) adds a client's `headers` to its module-wide REQUEST_HEADERS, so a token
    given to one Features object would be sent by every later one: each test gets a copy."""
    monkeypatch.setattr(owslib.ogcapi, "REQUEST_HEADERS", dict(owslib.ogcapi.REQUEST_HEADERS))


def test_owslib_reads_the_endpoint(base_url: str) -> None:
    api = Features(base_url)
    conformance = api.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert "test-sites" in api.feature_collections()
    described = api.collection("test-sites")
    assert described["title"] == "Test sites"
    assert described["extent"]["spatial"]["bbox"][0][:2] == [34.30, 31.30]
    openapi = api.api()  # found through the service-desc link
    assert "/ogc/collections/{collectionId}/items" in openapi["paths"]
    queryables = api.collection_queryables("test-sites")
    assert "observed_at" in queryables["properties"]

    page = api.collection_items("test-sites", bbox=[34.33, 31.33, 34.45, 31.45], limit=2)
    assert page["type"] == "FeatureCollection"
    assert [f["id"] for f in page["features"]] == ["s02", "s03"]
    assert page["numberMatched"] == 6  # s02..s07
    assert page["numberReturned"] == 2
    assert any(link["rel"] == "next" for link in page["links"])

    timed = api.collection_items(
        "test-sites", datetime_="2026-03-09T00:00:00Z/..", limit=100, offset=0
    )
    assert [f["id"] for f in timed["features"]] == ["s08", "s09"]

    one = api.collection_item("test-sites", "s03")
    assert one["id"] == "s03"
    assert one["geometry"]["type"] == "Point"
    with pytest.raises(RuntimeError, match="not-found"):
        api.collection_item("test-sites", "g1")  # released to GBR only
    with pytest.raises(RuntimeError, match=r"query\.bbox"):
        api.collection_items("test-sites", bbox=[35, 31, 34, 32])


def test_owslib_with_a_bearer_token(platform: Platform, base_url: str) -> None:
    token = caller(platform, "GBR", Role.LIAISON_OFFICER).token
    api = Features(base_url, headers={"Authorization": f"Bearer {token}"})
    page = api.collection_items("test-sites", limit=100)
    assert page["numberMatched"] == len(PUBLIC) + len(RESTRICTED)
    assert api.collection_item("test-sites", "g1")["id"] == "g1"
