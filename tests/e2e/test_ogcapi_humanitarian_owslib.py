"""The OGC API collections `humanitarian-sites` and `movements` read by OWSLib over real HTTP,
on both backends: the notifications on the list as the caller may see them (shared with the
force: its staff see them; a party's liaison cell they were not shared with does not), the
current version under the lineage's id, never a contact."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import owslib.ogcapi
import pytest
from fastapi.testclient import TestClient
from owslib.ogcapi.features import Features

from cmcc.api.app import create_app
from cmcc.bootstrap import Platform
from tests.factories import Caller
from tests.humanitarian_fixtures import (
    Cast,
    iso,
    movement_body,
    notify,
    ok,
    site_body,
    square,
    step,
)
from tests.serving import in_thread

pytestmark = pytest.mark.e2e


@pytest.fixture
def base_url(platform: Platform) -> Iterator[str]:
    with in_thread(create_app(platform)) as base:
        yield f"{base}/ogc"


@pytest.fixture(autouse=True)
def _owslib_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owslib.ogcapi, "REQUEST_HEADERS", dict(owslib.ogcapi.REQUEST_HEADERS))


def _reader(base_url: str, who: Caller) -> Features:
    return Features(base_url, headers={"Authorization": f"Bearer {who.token}"})


def test_owslib_reads_the_notified_sites_and_movements(
    platform: Platform, client: TestClient, base_url: str
) -> None:
    cast = Cast(platform)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clinic = notify(client, cast.partner, site_body())
    clinic = step(client, cast.centre, clinic, "shared", audiences=["force"])
    moved = site_body(title="Deir al-Balah field clinic (moved)", geometry=square(34.36, 31.42))
    del moved["kind"]
    moved["version"] = clinic["version"]
    path = f"/api/v1/notifications/{clinic['lineage']}/versions"
    clinic = ok(client.post(path, headers=cast.partner.headers, json=moved))
    closed = notify(client, cast.partner, site_body(title="Closed kitchen"))
    closed = step(client, cast.centre, closed, "shared", audiences=["force"])
    step(client, cast.partner, closed, "withdrawn")
    convoy = notify(
        client,
        cast.partner,
        movement_body(
            valid_from=iso(now - dt.timedelta(hours=1)), valid_to=iso(now + dt.timedelta(hours=5))
        ),
    )
    convoy = step(client, cast.centre, convoy, "shared", audiences=["force"])

    isf = _reader(base_url, cast.isf)
    assert {"humanitarian-sites", "movements"} <= set(isf.feature_collections())
    sites = isf.collection_items("humanitarian-sites", limit=100)
    assert [f["id"] for f in sites["features"]] == [str(clinic["lineage"])]  # not the withdrawn
    (site,) = sites["features"]
    assert site["geometry"]["type"] == "Polygon"  # the current version
    props = site["properties"]
    assert (props["title"], props["site_type"], props["status"]) == (
        "Deir al-Balah field clinic (moved)",
        "health",
        "shared",
    )
    assert props["owner"] == "WFP" and props["ref"] == clinic["ref"]
    one = isf.collection_item("movements", str(convoy["lineage"]))
    assert one["geometry"]["type"] == "LineString"
    assert (one["properties"]["vehicles"], one["properties"]["cargo_category"]) == (20, "food")
    text = json.dumps([sites, one])
    assert "contact" not in text and "Omar Nasser" not in text and "Amal Haddad" not in text

    window = isf.collection_items("movements", datetime_=iso(now + dt.timedelta(hours=8)), limit=10)
    assert window["numberMatched"] == 0  # after the convoy's window
    boxed = isf.collection_items("humanitarian-sites", bbox=[34.20, 31.20, 34.30, 31.30])
    assert boxed["numberMatched"] == 0
    extent = isf.collection("movements")["extent"]["spatial"]["bbox"][0]
    assert extent[0] == pytest.approx(34.2706) and extent[3] == pytest.approx(31.34)

    # The party's liaison cell: nothing was shared with it.
    liaison = _reader(base_url, cast.liaison)
    assert liaison.collection_items("movements", limit=10)["numberMatched"] == 0
    with pytest.raises(RuntimeError, match="not-found"):
        liaison.collection_item("humanitarian-sites", str(clinic["lineage"]))
    assert Features(base_url).collection_items("humanitarian-sites")["numberMatched"] == 0
