"""The offline basemap: the Strip's outline and governorates (`cmcc.geo.reference`, from
OpenStreetMap) and the scenario's crossings as vector layers, and an optional local raster
MBTiles file (`CMCC_BASEMAP_FILE`) served tile by tile. No online tile server."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from cmcc.api.deps import PlatformDep
from cmcc.core.errors import NotFound
from cmcc.geo import reference
from cmcc.web.auth import SignedIn

router = APIRouter(prefix="/basemap", include_in_schema=False)

PLACES = frozenset({"crossing"})  # from the scenario, besides the reference outline
RASTER = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


def _base(feature: dict[str, Any], *extra: str) -> dict[str, Any]:
    props = feature["properties"]
    kept = {k: props[k] for k in ("name", "kind", *extra) if k in props}
    return {"type": "Feature", "geometry": feature["geometry"], "properties": kept}


@lru_cache(maxsize=1)
def outline() -> bytes:
    """The Strip and its governorates (with where to write their names), then the scenario's
    crossings: public reference, with the outline's attribution."""
    text = resources.files("cmcc.scenarios").joinpath("gaza-2025/zones.geojson").read_bytes()
    places = [
        _base(f) for f in orjson.loads(text)["features"] if f["properties"].get("kind") in PLACES
    ]
    shapes = [_base(f, "notional", "label", "label_at") for f in reference.gaza()["features"]]
    return orjson.dumps(
        {
            "type": "FeatureCollection",
            "attribution": reference.ATTRIBUTION,
            "features": shapes + places,
        }
    )


@dataclass(frozen=True)
class TileSet:
    path: Path
    media_type: str
    metadata: dict[str, str]

    def info(self) -> dict[str, Any]:
        meta = self.metadata
        bounds = [float(v) for v in meta["bounds"].split(",")] if "bounds" in meta else None
        return {
            "tiles": "/basemap/tiles/{z}/{x}/{y}",
            "name": meta.get("name", self.path.stem),
            "attribution": meta.get("attribution", ""),
            "minzoom": int(meta.get("minzoom", 0)),
            "maxzoom": int(meta.get("maxzoom", 18)),
            "bounds": bounds,
        }


class BasemapError(ValueError):
    pass


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def open_tileset(path: Path) -> TileSet:
    """Read an MBTiles file's metadata; refuse what the map cannot draw, saying why."""
    if not path.is_file():
        raise BasemapError(f"CMCC_BASEMAP_FILE: no such file: {path}")
    try:
        with closing(_connect(path)) as conn:
            meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
            conn.execute("SELECT 1 FROM tiles LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        raise BasemapError(f"CMCC_BASEMAP_FILE: {path} is not an MBTiles file ({exc})") from None
    fmt = meta.get("format", "png").lower()
    if fmt not in RASTER:
        raise BasemapError(
            f"CMCC_BASEMAP_FILE: {path} holds {fmt!r} tiles; the map draws raster tiles "
            "(png, jpg, webp) only"
        )
    return TileSet(path, RASTER[fmt], meta)


@lru_cache(maxsize=4)
def _tileset(path: Path) -> TileSet:
    return open_tileset(path)


@router.get("/outline.geojson")
def outline_geojson() -> Response:
    return Response(
        outline(),
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/info.json")
def basemap_info(platform: PlatformDep, _visitor: SignedIn) -> Response:
    path = platform.settings.basemap_file
    body: dict[str, Any] = {"tiles": None}
    if path is not None:
        try:
            body = _tileset(path.resolve()).info()
        except BasemapError as exc:
            body = {"tiles": None, "error": str(exc)}
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/tiles/{z}/{x}/{y}")
def tile(z: int, x: int, y: int, platform: PlatformDep, _visitor: SignedIn) -> Response:
    path = platform.settings.basemap_file
    if path is None:
        raise NotFound("no basemap file is configured (CMCC_BASEMAP_FILE)")
    try:
        tiles = _tileset(path.resolve())
    except BasemapError as exc:
        raise NotFound(str(exc)) from None
    row = (1 << z) - 1 - y if 0 <= z <= 30 else -1  # MBTiles rows count from the south (TMS)
    with closing(_connect(tiles.path)) as conn:
        found = conn.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, row),
        ).fetchone()
    if found is None:
        return Response(status_code=204)  # no tile here: the map leaves the square empty
    return Response(
        bytes(found[0]),
        media_type=tiles.media_type,
        headers={"Cache-Control": "private, max-age=86400"},
    )
