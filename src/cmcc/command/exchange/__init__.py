"""The ORBAT as exchange files: CSV (a spreadsheet, one row per unit), GeoJSON of unit
locations, and the ORBAT Mapper scenario JSON where it maps cleanly (docs/modules/
command-exchange.md says what does not).

Exports are built from the units as of a moment that the reader may see (the release policy),
so a file for one nation never holds another nation's units; imports are checked whole before
anything is written and then written in one transaction, all or nothing."""

from __future__ import annotations

from cmcc.command.exchange.importer import Imported, import_units
from cmcc.command.exchange.rows import COLUMNS, UnitRow, as_of_moment, unit_rows
from cmcc.command.exchange.writers import (
    EXPORT_FORMATS,
    FILE_NAMES,
    MEDIA_TYPES,
    export_bytes,
)

__all__ = [
    "COLUMNS",
    "EXPORT_FORMATS",
    "FILE_NAMES",
    "MEDIA_TYPES",
    "Imported",
    "UnitRow",
    "as_of_moment",
    "export_bytes",
    "import_units",
    "unit_rows",
]
