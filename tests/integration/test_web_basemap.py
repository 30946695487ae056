"""The offline basemap: the Strip's outline (OpenStreetMap, shipped with the package), its
governorates and the scenario's crossings, and tiles from a local MBTiles file."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from cmcc.access.domain import Role
from cmcc.api.app import create_app
from cmcc.api.session import SESSION_COOKIE
from cmcc.bootstrap import Platform
from cmcc.geo import reference
from cmcc.web.basemap import BasemapError, open_tileset
from tests.factories import caller
from tests.mbtiles import make_mbtiles


def _signed_in(platform: Platform) -> TestClient:
    client = TestClient(create_app(platform))
    client.cookies.set(SESSION_COOKIE, caller(platform, "CMCC", Role.STAFF_OFFICER).token)
    return client


def test_outline_is_the_strip_governorates_and_crossings(client: TestClient) -> None:
    body = orjson.loads(client.get("/basemap/outline.geojson").content)
    kinds = [f["properties"]["kind"] for f in body["features"]]
    assert kinds == ["gaza_strip"] + ["administrative_area"] * 5 + ["crossing"] * 5
    strip = body["features"][0]
    assert strip["geometry"] == reference.feature("gaza-strip")["geometry"]
    assert len(strip["geometry"]["coordinates"][0]) > 100  # the real outline, not a sketch
    names = [f["properties"] for f in body["features"][1:6]]
    assert {p["label"] for p in names} == {
        "Rafah",
        "Khan Younis",
        "Deir al-Balah",
        "Gaza",
        "North Gaza",
    }
    assert all(p["notional"] and len(p["label_at"]) == 2 for p in names)
    assert "OpenStreetMap" in body["attribution"]


def test_without_a_file_there_are_no_tiles(platform: Platform) -> None:
    client = _signed_in(platform)
    assert client.get("/basemap/info.json").json() == {"tiles": None}
    assert client.get("/basemap/tiles/10/611/425").status_code == 404


def test_tiles_come_from_the_mbtiles_file(platform: Platform, tmp_path: Path) -> None:
    written = make_mbtiles(tmp_path / "gaza.mbtiles")
    platform.settings.basemap_file = tmp_path / "gaza.mbtiles"
    client = _signed_in(platform)
    info = client.get("/basemap/info.json").json()
    assert info["tiles"] == "/basemap/tiles/{z}/{x}/{y}"
    assert (info["minzoom"], info["maxzoom"]) == (8, 13)
    z, x, y = sorted(written)[0]
    tile = client.get(f"/basemap/tiles/{z}/{x}/{y}")
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
    assert tile.content.startswith(b"\x89PNG")
    assert client.get(f"/basemap/tiles/{z}/{x + 50}/{y}").status_code == 204  # outside: empty
    anonymous = TestClient(create_app(platform), follow_redirects=False)
    assert anonymous.get(f"/basemap/tiles/{z}/{x}/{y}").status_code == 303  # to the login


def test_a_file_the_map_cannot_draw_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(BasemapError, match="no such file"):
        open_tileset(tmp_path / "missing.mbtiles")
    (tmp_path / "text.mbtiles").write_text("not a database at all " * 100)
    with pytest.raises(BasemapError, match="not an MBTiles file"):
        open_tileset(tmp_path / "text.mbtiles")
    make_mbtiles(tmp_path / "vector.mbtiles", range(8, 9), fmt="pbf")
    with pytest.raises(BasemapError, match="raster tiles"):
        open_tileset(tmp_path / "vector.mbtiles")
