"""Exports of reconstruction funding in the formats the aid world reads: IATI 2.03 activity
XML (`iati`), HXL-tagged CSV of the projects (3W) and of the flows, and an FTS-style CSV of
the flows (`tables`). Every export is what one caller may see (`selection`), streamed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from sqlalchemy.orm import Session

from cmcc.funding.exports.iati import iati_bytes
from cmcc.funding.exports.selection import Selection
from cmcc.funding.exports.tables import flows_fts, flows_hxl, projects_hxl

Format = Literal["iati", "hxl-projects", "hxl-flows", "fts"]
FORMATS: tuple[Format, ...] = ("iati", "hxl-projects", "hxl-flows", "fts")
MEDIA_TYPES: dict[str, str] = {
    "iati": "application/xml",
    "hxl-projects": "text/csv; charset=utf-8",
    "hxl-flows": "text/csv; charset=utf-8",
    "fts": "text/csv; charset=utf-8",
}
FILE_NAMES: dict[str, str] = {
    "iati": "funding-iati-activities.xml",
    "hxl-projects": "funding-projects-3w.hxl.csv",
    "hxl-flows": "funding-flows.hxl.csv",
    "fts": "funding-flows-fts.csv",
}


def export_bytes(session: Session, sel: Selection, fmt: Format) -> Iterator[bytes]:
    """The export as UTF-8 bytes, piece by piece, for files and HTTP responses."""
    if fmt == "iati":
        yield from iati_bytes(session, sel)
        return
    writer = {"hxl-projects": projects_hxl, "hxl-flows": flows_hxl, "fts": flows_fts}[fmt]
    for text in writer(session, sel):
        yield text.encode()
