"""A local MBTiles file named in CMCC_BASEMAP_FILE is drawn under the map, from the server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmcc.bootstrap import Platform
from tests.browser.conftest import Visit
from tests.mbtiles import make_mbtiles
from tests.serving import served


@pytest.fixture
def server(scenario: Platform, tmp_path: Path) -> Iterator[str]:
    make_mbtiles(tmp_path / "gaza.mbtiles")
    env = {"CMCC_BASEMAP_FILE": str(tmp_path / "gaza.mbtiles")}
    with served(scenario, tmp_path, extra_env=env) as (base, _log):
        yield base


def test_the_local_basemap_is_drawn(visit: Visit) -> None:
    tiles: list[tuple[str, int]] = []
    visit.page.on(
        "response",
        lambda r: tiles.append((r.url, r.status)) if "/basemap/tiles/" in r.url else None,
    )
    visit.login("staff", "/map")
    visit.page.wait_for_selector("body[data-map-ready=true]")
    visit.page.wait_for_selector("img.leaflet-tile-loaded")
    assert any(status == 200 for _url, status in tiles), tiles
    assert all(re.search(r"/basemap/tiles/\d+/\d+/\d+$", url) for url, _ in tiles)
    credits = visit.page.locator(".leaflet-control-attribution").inner_text()
    assert "Test tiles" in credits and "© OpenStreetMap contributors" in credits
    visit.shot("map-with-basemap")
