"""A small raster MBTiles file over the Gaza Strip, made with Pillow, for the basemap tests."""

from __future__ import annotations

import io
import math
import sqlite3
from contextlib import closing
from pathlib import Path

from PIL import Image

BBOX = (34.2, 31.2, 34.6, 31.6)


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(out, "PNG")
    return out.getvalue()


def make_mbtiles(path: Path, zooms: range = range(8, 14), fmt: str = "png") -> set[tuple[int, ...]]:
    """Tiles at `zooms` over BBOX; returns the (z, x, y) written, y counted from the north."""
    written = set()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        meta = {
            "name": "test imagery",
            "format": fmt,
            "minzoom": str(zooms.start),
            "maxzoom": str(zooms.stop - 1),
            "bounds": ",".join(map(str, BBOX)),
            "attribution": "Test tiles",
        }
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
        data = png((200, 220, 180))
        for z in zooms:
            x0, y0 = tile_xy(BBOX[0], BBOX[3], z)
            x1, y1 = tile_xy(BBOX[2], BBOX[1], z)
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    tms = (1 << z) - 1 - y
                    conn.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, tms, data))
                    written.add((z, x, y))
    return written
