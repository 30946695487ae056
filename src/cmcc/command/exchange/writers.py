"""The export files: CSV, GeoJSON of unit locations, ORBAT Mapper scenario JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any, Literal

import orjson

from cmcc.command.exchange.rows import COLUMNS, UnitRow
from cmcc.command.sidc import letter_to_number
from cmcc.interop.tabular import csv_text, spreadsheet_safe

ExportFormat = Literal["csv", "geojson", "orbatmapper"]
EXPORT_FORMATS: tuple[str, ...] = ("csv", "geojson", "orbatmapper")
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "orbatmapper": "application/json",
}
FILE_NAMES: dict[str, str] = {
    "csv": "orbat.csv",
    "geojson": "orbat-locations.geojson",
    "orbatmapper": "orbat-scenario.json",
}
FREE_TEXT = ("name", "short_name", "location")  # cells a spreadsheet could run as formulas
ORBAT_MAPPER_VERSION = "2.0.0"
FRIEND = "3"  # ORBAT Mapper's standard identity: friend
EXTENSION = "cmcc"  # the unit's fields ORBAT Mapper has no place for, for a lossless return


def export_bytes(rows: Sequence[UnitRow], fmt: str, as_of: dt.datetime) -> bytes:
    if fmt == "csv":
        return csv_bytes(rows)
    if fmt == "geojson":
        return orjson.dumps(geojson_doc(rows, as_of))
    if fmt == "orbatmapper":
        return orjson.dumps(orbat_mapper_doc(rows, as_of), option=orjson.OPT_INDENT_2)
    raise ValueError(f"unknown format {fmt!r}")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def csv_bytes(rows: Sequence[UnitRow]) -> bytes:
    table: list[list[Any]] = [list(COLUMNS)]
    for row in rows:
        values = row.as_dict()
        for key in FREE_TEXT:
            values[key] = spreadsheet_safe(values[key])
        table.append([_cell(values[c]) for c in COLUMNS])
    return csv_text(table).encode("utf-8")


def _properties(row: UnitRow) -> dict[str, Any]:
    values = row.as_dict()
    toa = values["transfer_of_authority"]
    values["transfer_of_authority"] = toa.isoformat() if toa else None
    return values


def geojson_doc(rows: Sequence[UnitRow], as_of: dt.datetime) -> dict[str, Any]:
    """The units with a location, as points (RFC 7946), properties as the CSV's columns."""
    return {
        "type": "FeatureCollection",
        "as_of": as_of.isoformat(),
        "features": [
            {
                "type": "Feature",
                "id": row.lineage,
                "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
                "properties": _properties(row),
            }
            for row in rows
            if row.lon is not None and row.lat is not None
        ],
    }


# ---- ORBAT Mapper -----------------------------------------------------------------------------


def _om_unit(row: UnitRow) -> dict[str, Any]:
    unit: dict[str, Any] = {
        "id": f"cmcc-{row.lineage}",
        "name": row.name,
        "sidc": letter_to_number(row.sidc) or row.sidc,
        "subUnits": [],
    }
    if row.short_name:
        unit["shortName"] = row.short_name
        unit["textAmplifiers"] = {"uniqueDesignation": row.short_name}
    if row.nation:
        unit.setdefault("textAmplifiers", {})["country"] = row.nation
    if row.lon is not None and row.lat is not None:
        unit["location"] = [row.lon, row.lat]
    if row.strength_authorized or row.strength_present:
        unit["personnel"] = [
            {"name": "Personnel", "count": row.strength_authorized, "onHand": row.strength_present}
        ]
    if row.location:
        unit["description"] = row.location
    unit[EXTENSION] = {
        k: v for k, v in _properties(row).items() if k not in ("name", "short_name", "lon", "lat")
    }
    return unit


def orbat_mapper_doc(rows: Sequence[UnitRow], as_of: dt.datetime) -> dict[str, Any]:
    """One side (the force, friend) with one group whose units are the ORBAT's roots; each
    unit's subordinates as its `subUnits`."""
    nodes = {row.lineage: _om_unit(row) for row in rows}
    roots: list[dict[str, Any]] = []
    for row in rows:  # parents come before their subordinates
        parent = nodes.get(row.parent) if row.parent is not None else None
        (parent["subUnits"] if parent is not None else roots).append(nodes[row.lineage])
    stamp = as_of.astimezone(dt.UTC)
    digest = hashlib.sha256(orjson.dumps([r.lineage for r in rows])).hexdigest()[:10]
    return {
        "id": f"cmcc-orbat-{stamp:%Y%m%d}-{digest}",
        "type": "ORBAT-mapper",
        "version": ORBAT_MAPPER_VERSION,
        "name": f"ORBAT as of {stamp:%Y-%m-%d %H:%M}Z",
        "description": "Exported from CMCC: the force's order of battle as of one moment.",
        "startTime": int(stamp.timestamp() * 1000),
        "timeZone": "UTC",
        "symbologyStandard": "2525",
        "meta": {"createdDate": stamp.isoformat(), "lastModifiedDate": stamp.isoformat()},
        "sides": [
            {
                "id": "cmcc-force",
                "name": "Force",
                "standardIdentity": FRIEND,
                "symbolOptions": {},
                "groups": [{"id": "cmcc-orbat", "name": "ORBAT", "subUnits": roots}],
            }
        ],
        "events": [],
        "layers": [],
        "mapLayers": [],
    }
