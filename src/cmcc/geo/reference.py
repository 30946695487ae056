"""The Gaza Strip's reference outline and its (notional) governorates, shipped with the package.

`data/gaza.geojson` comes from OpenStreetMap through an npm package (ODbL 1.0); its README says
where from and how `scripts/gaza_reference.py` made it. The basemap and the public tip page draw
it; nothing is fetched at run time.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import orjson

ATTRIBUTION = "Outline © OpenStreetMap contributors (ODbL)"


@lru_cache(maxsize=1)
def gaza() -> dict[str, Any]:
    """The FeatureCollection: the Strip (key `gaza-strip`), then the five governorates
    (`gov-*`, with `name`, `name_ar` and `label_at` [lon, lat] for their names)."""
    data: dict[str, Any] = orjson.loads(
        resources.files("cmcc.geo").joinpath("data/gaza.geojson").read_bytes()
    )
    return data


def feature(key: str) -> dict[str, Any]:
    """One feature of the reference file by its `key`."""
    found: dict[str, Any] = next(f for f in gaza()["features"] if f["properties"]["key"] == key)
    return found
