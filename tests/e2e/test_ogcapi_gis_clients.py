"""OGC API - Features `bbox` on the polygon collections, read by two real GIS clients against
`cmcc serve` with the gaza-2025 scenario, on both backends: OWSLib, and GDAL's OAPIF driver
through `ogrinfo` (Debian's gdal-bin, installed by `make gdal`).

Both must get exactly the features whose shapes intersect the box (OGC API - Features
/req/core/fc-bbox-response), never one whose bounding box alone meets it: the scenario's Gaza
Strip outline and the notional line both have bounding boxes that reach a box in the sea, and
each collection gets an L-shaped decoy around the box beside a polygon that crosses it.

GDAL filters by `-spat` on the client as well, which would hide what the server sent; so
`ogrinfo` also reads the collection with the box as a query parameter of the landing page URL
(GDAL passes it on to every request) and no spatial filter of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import owslib.ogcapi
import pytest
import shapely
from owslib.ogcapi.features import Features
from shapely.geometry import shape

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from tests.factories import caller
from tests.serving import served

pytestmark = pytest.mark.e2e

SEA = (34.22, 31.50, 34.30, 31.58)  # off the coast: no zone of the scenario touches it
POLYGON_COLLECTIONS = ("zones", "hazards", "search-tasks", "projects")


def _polygon(*ring: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[*map(list, ring), list(ring[0])]]}


# Below the box and up its eastern side: its bounding box covers the box, its shape misses it.
DECOY = _polygon(
    (34.20, 31.46), (34.34, 31.46), (34.34, 31.62), (34.32, 31.62), (34.32, 31.48), (34.20, 31.48)
)
CROSSING = _polygon((34.28, 31.56), (34.32, 31.56), (34.32, 31.60), (34.28, 31.60))


def _bodies(name: str, geometry: dict[str, Any], programme_id: int) -> dict[str, dict[str, Any]]:
    return {
        "zones": {"name": name, "kind": "isf_sector", "geometry": geometry},
        "hazards": {
            "name": name,
            "classification": "sha",
            "device_category": "uxo",
            "geometry": geometry,
        },
        "search-tasks": {"geometry": geometry, "description": name},
        "projects": {
            "programme_id": programme_id,
            "title": name,
            "implementing_org": "UNMAS",
            "geometry": geometry,
            "budget_usd": "1000",
            "iati_identifier": f"XM-CMCC-PSE-RRP-2025-T-{name}",
        },
    }


@pytest.fixture
def server(gaza: Platform, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`cmcc serve` with the scenario, a decoy and a crossing polygon in each collection; the
    base URL and an administrator's token (the records are marked `mission`)."""
    token = caller(gaza, "CMCC", Role.ADMIN).token
    with served(gaza, tmp_path) as (base, _log):
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
        programme_id = api.get("/api/v1/programmes").json()["data"][0]["id"]
        for name, geometry in (("decoy", DECOY), ("crossing", CROSSING)):
            for collection, body in _bodies(name, geometry, programme_id).items():
                r = api.post(f"/api/v1/{collection}", json=body)
                assert r.status_code == 201, (collection, r.text)
        yield base, token


@pytest.fixture(autouse=True)
def _owslib_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """OWSLib shares the headers of every Features object in one module-wide dict."""
    monkeypatch.setattr(owslib.ogcapi, "REQUEST_HEADERS", dict(owslib.ogcapi.REQUEST_HEADERS))


def _expected(base: str, token: str, collection: str) -> tuple[set[str], set[str]]:
    """The ids whose shape intersects the box, and those whose bounding box alone meets it."""
    r = httpx.get(
        f"{base}/ogc/collections/{collection}/items",
        params={"limit": 10000},
        headers={"Authorization": f"Bearer {token}"},
    )
    features = r.json()["features"]
    box = shapely.box(*SEA)
    shapes = {f["id"]: shape(f["geometry"]) for f in features}
    hits = {i for i, s in shapes.items() if s.intersects(box)}
    near = {i for i, s in shapes.items() if shapely.box(*s.bounds).intersects(box)}
    return hits, near - hits


def _ogrinfo(program: str, url: str, collection: str, token: str, *spat: float) -> set[str]:
    """The ids of the features `ogrinfo` lists (all pages), with `-spat` when given."""
    args = [program, "-ro", "-al", "-q", "-geom=NO", "-oo", "PAGE_SIZE=1000"]
    if spat:
        args += ["-spat", *map(str, spat)]
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"}
    out = subprocess.run(
        [*args, f"OAPIF:{url}", collection],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(re.findall(r"^  id \(String\) = (\S+)$", out.stdout, re.MULTILINE))


@pytest.fixture
def ogrinfo() -> str:
    found = shutil.which("ogrinfo")
    if found is None:
        pytest.fail("ogrinfo is missing: `make gdal` installs Debian's gdal-bin", pytrace=False)
    return found


def test_gis_clients_get_the_features_whose_shapes_meet_the_box(
    server: tuple[str, str], ogrinfo: str
) -> None:
    base, token = server
    box = ",".join(map(str, SEA))
    for collection in POLYGON_COLLECTIONS:
        expected, bbox_only = _expected(base, token, collection)
        assert expected, f"{collection}: a polygon crosses the box"
        assert bbox_only, f"{collection}: a polygon whose bounding box alone meets the box"

        api = Features(f"{base}/ogc", headers={"Authorization": f"Bearer {token}"})
        page = api.collection_items(collection, bbox=list(SEA), limit=1000)
        assert {f["id"] for f in page["features"]} == expected, ("OWSLib", collection)
        assert page["numberMatched"] == len(expected), collection

        served_ids = _ogrinfo(ogrinfo, f"{base}/ogc?bbox={box}", collection, token)
        assert served_ids == expected, ("ogrinfo, the server's answer", collection)
        asked = _ogrinfo(ogrinfo, f"{base}/ogc", collection, token, *SEA)
        assert asked == expected, ("ogrinfo -spat, as QGIS asks", collection)
    _, zones_bbox_only = _expected(base, token, "zones")
    assert len(zones_bbox_only) >= 3  # the decoy, the Strip's outline, the notional line
