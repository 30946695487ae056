"""The Strip's reference outline (OpenStreetMap, shipped with the package) and the gaza-2025
scenario fitted to it: the governorates cut the Strip into five, the scenario's Strip is the
reference one, and its zones, hazards, search area, projects and incidents lie where their
names say."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from typing import Any

import pytest
import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from cmcc.geo import reference
from cmcc.hazards.domain import area_m2

SCENARIO = resources.files("cmcc.scenarios").joinpath("gaza-2025")


def _toml(name: str) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(SCENARIO.joinpath(name).read_text("utf-8"))
    return data


def _zones() -> dict[str, BaseGeometry]:
    data = json.loads(SCENARIO.joinpath("zones.geojson").read_text("utf-8"))
    return {f["properties"]["key"]: shape(f["geometry"]) for f in data["features"]}


STRIP = shape(reference.feature("gaza-strip")["geometry"])
GOVS = {
    f["properties"]["key"]: shape(f["geometry"])
    for f in reference.gaza()["features"]
    if f["properties"]["kind"] == "administrative_area"
}


def _governorate(geom: BaseGeometry) -> str:
    (key,) = [k for k, g in GOVS.items() if g.contains(geom.representative_point())]
    return key


def test_the_strip_is_a_real_outline_of_the_right_size() -> None:
    assert STRIP.is_valid and STRIP.geom_type == "Polygon" and not STRIP.interiors
    assert len(STRIP.exterior.coords) > 100  # not a rough polygon of a few corners
    assert 355e6 < area_m2(STRIP) < 370e6  # about 365 km2 (CIA World Factbook)
    minx, miny, maxx, maxy = STRIP.bounds
    assert (31.20 < miny < 31.23, 31.58 < maxy < 31.61) == (True, True)
    assert (34.20 < minx < 34.23, 34.55 < maxx < 34.58) == (True, True)
    props = reference.feature("gaza-strip")["properties"]
    assert "OpenStreetMap" in props["source"] and "ODbL" in props["source"]


def test_five_governorates_cut_the_strip_each_with_its_published_area() -> None:
    published = {  # km2, PCBS via Wikipedia (the scenario's reference)
        "gov-north-gaza": 61,
        "gov-gaza": 72,
        "gov-deir-al-balah": 57,
        "gov-khan-younis": 108,
        "gov-rafah": 64.5,
    }
    assert set(GOVS) == set(published)
    cut = shapely.union_all(list(GOVS.values()))
    assert cut.symmetric_difference(STRIP).area < 1e-4 * STRIP.area  # to the rounding (~1 m)
    for key, geom in GOVS.items():
        assert geom.is_valid and geom.within(STRIP.buffer(1e-5)), key
        assert area_m2(geom) / 1e6 == pytest.approx(published[key], rel=0.03), key
        props = reference.feature(key)["properties"]
        assert props["notional"] is True and props["name_ar"] and props["label"]
        assert geom.contains(Point(props["label_at"])), key
    for a in GOVS.values():
        for b in GOVS.values():
            assert a is b or a.intersection(b).area < 1e-9


def test_the_scenario_draws_the_same_strip_and_governorates() -> None:
    zones = _zones()
    assert zones["gaza-strip"].equals(STRIP)
    for key, geom in GOVS.items():
        assert zones[key].equals(geom), key


def test_the_scenario_zones_lie_inside_the_strip_where_their_names_say() -> None:
    zones = _zones()
    idf = zones["yellow-line"]
    assert idf.within(STRIP.buffer(1e-5))
    assert 0.50 < idf.area / STRIP.area < 0.58  # "about 53% of Gaza" (later reports 53-58%)
    assert not idf.contains(Point(34.45, 31.517))  # Gaza City is west of the yellow line
    assert _governorate(zones["safe-zone-1"]) == "gov-gaza"
    assert _governorate(zones["safe-zone-2"]) == "gov-khan-younis"
    for key in ("safe-zone-1", "safe-zone-2"):
        assert zones[key].difference(STRIP).area < 1e-7, key  # not out at sea
    assert _governorate(zones["crossing-rafah-crossing"].buffer(0.003)) == "gov-rafah"
    for key in ("crossing-kerem-shalom", "crossing-erez"):  # at the border, on the far side
        assert STRIP.exterior.distance(zones[key]) < 0.003, key


def test_hazards_search_areas_projects_and_incidents_lie_where_they_should() -> None:
    hazards = _toml("hazards.toml")
    for h in hazards["hazards"]:
        assert _governorate(shape(h["geometry"])) == "gov-khan-younis", h["name"]
    for s in hazards.get("eo_spots", []):
        assert _governorate(shape(s["geometry"])) == "gov-khan-younis"
    for g in _toml("search.toml")["grids"]:
        assert _governorate(shape(g["area"])) == "gov-khan-younis"
    for p in _toml("funding.toml")["projects"]:
        if "geometry" in p:
            assert STRIP.contains(shape(p["geometry"])), p["iati_identifier"]
    safe = _zones()["safe-zone-1"]
    incidents = _toml("incidents.toml")["incidents"]
    assert safe.contains(shape(incidents[0]["geometry"]))  # the one that raises the alert
    for rec in incidents:
        where = shape(rec["geometry"])
        if "Kerem Shalom" in rec["narrative"]:  # at the crossing, on the border
            assert STRIP.exterior.distance(where) < 0.003
        else:
            assert STRIP.contains(where), rec["external_ref"]
