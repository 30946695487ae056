"""Reading import files into drafts: one per unit, with where it sits in the file (a CSV row,
an ORBAT Mapper JSON path) so that every error names its place. Nothing here touches the
database; `importer` checks the drafts against the platform and writes them."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import orjson

from cmcc.command.domain import ECHELON_2525C, UnitKind
from cmcc.command.exchange.rows import COLUMNS
from cmcc.command.exchange.writers import EXTENSION
from cmcc.command.sidc import (
    NUMBER_SIDC,
    letter_to_number,
    number_echelon,
    number_is_headquarters,
    number_to_letter,
)
from cmcc.core.errors import FieldError
from cmcc.interop.tabular import FORMULA_START

MAX_UNITS = 20_000
LETTER_ECHELON = {letter: echelon.value for echelon, letter in ECHELON_2525C.items()}
# CSV column -> UnitCreate field (the rest have the same name).
CSV_FIELDS = {"marking": "releasability"}
PLAIN = ("name", "short_name", "nation", "kind", "echelon", "sidc", "capability", "location")
NUMBERS = ("strength_authorized", "strength_assigned", "strength_present", "lon", "lat")


@dataclass
class Draft:
    """A unit to create, as the file gives it."""

    where: str  # "row 3" or "sides[0].groups[0].subUnits[2]"
    csv: bool
    key: str | None = None  # its name in the file (lineage column, ORBAT Mapper id)
    parent_key: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # UnitCreate fields
    labels: dict[str, str] = field(default_factory=dict)  # UnitCreate field -> column / key
    pledge_ref: str | None = None
    problems: list[FieldError] = field(default_factory=list)  # found while reading it

    def label(self, name: str) -> str:
        column = self.labels.get(name, name)
        return f"{self.where}, column {column}" if self.csv else f"{self.where}.{column}"


class FileErrors(Exception):
    """The file cannot be imported; every problem found, by place."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


# ---- CSV ------------------------------------------------------------------------------------


def _unformula(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def drafts_from_csv(data: bytes) -> list[Draft]:
    """The rows of an ORBAT CSV (the export's columns; `name` and `echelon` required)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileErrors([FieldError("file", f"not UTF-8 text ({exc.reason})")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    errors = [
        FieldError(f"row 1, column {h or '(empty)'}", "unknown column; use " + ", ".join(COLUMNS))
        for h in header
        if h not in COLUMNS
    ]
    for needed in ("name", "echelon"):
        if needed not in header:
            errors.append(FieldError(f"row 1, column {needed}", "missing column"))
    if errors:
        raise FileErrors(errors)
    drafts: list[Draft] = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FileErrors([FieldError(f"row {start}", f"not CSV: {exc}")]) from None
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            errors.append(
                FieldError(f"row {start}", f"{len(cells)} cells for {len(header)} columns")
            )
            continue
        drafts.append(_csv_draft(start, dict(zip(header, cells, strict=False))))
        if len(drafts) > MAX_UNITS:
            raise FileErrors([FieldError("file", f"more than {MAX_UNITS} units")])
    if errors:
        raise FileErrors(errors)
    return drafts


def _csv_draft(line: int, cells: dict[str, str]) -> Draft:
    draft = Draft(where=f"row {line}", csv=True)
    for column, raw in cells.items():
        value = raw.strip()
        if column in ("name", "short_name", "location"):
            value = _unformula(value)
        if not value:
            continue
        if column == "lineage":
            draft.key = value
        elif column == "parent":
            draft.parent_key = value
        elif column == "pledge":
            draft.pledge_ref = value
            draft.labels["pledge_id"] = "pledge"
        else:
            name = CSV_FIELDS.get(column, column)
            draft.values[name] = value
            draft.labels[name] = column
    return draft


# ---- ORBAT Mapper ---------------------------------------------------------------------------


def drafts_from_orbat_mapper(data: bytes) -> list[Draft]:
    """The units of an ORBAT Mapper scenario: every side's groups' units and their subUnits,
    each under its enclosing unit."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FileErrors([FieldError("file", f"not JSON: {exc}")]) from None
    if not isinstance(doc, dict) or doc.get("type") != "ORBAT-mapper":
        raise FileErrors([FieldError("type", 'not an ORBAT Mapper scenario (type "ORBAT-mapper")')])
    sides = doc.get("sides")
    if not isinstance(sides, list):
        raise FileErrors([FieldError("sides", "must be a list")])
    drafts: list[Draft] = []
    errors: list[FieldError] = []
    for i, side in enumerate(sides):
        groups = side.get("groups") if isinstance(side, dict) else None
        if not isinstance(groups, list):
            errors.append(FieldError(f"sides[{i}].groups", "must be a list"))
            continue
        for j, group in enumerate(groups):
            units = group.get("subUnits") if isinstance(group, dict) else None
            if not isinstance(units, list):
                errors.append(FieldError(f"sides[{i}].groups[{j}].subUnits", "must be a list"))
                continue
            _walk(units, f"sides[{i}].groups[{j}]", None, drafts, errors)
    if len(drafts) > MAX_UNITS:
        errors.append(FieldError("sides", f"more than {MAX_UNITS} units"))
    if errors:
        raise FileErrors(errors)
    return drafts


def _walk(
    units: list[Any],
    path: str,
    parent: str | None,
    out: list[Draft],
    errors: list[FieldError],
) -> None:
    todo = [(f"{path}.subUnits[{n}]", unit, parent) for n, unit in enumerate(units)]
    todo.reverse()
    while todo:
        where, unit, above = todo.pop()
        if not isinstance(unit, dict):
            errors.append(FieldError(where, "must be an object"))
            continue
        draft = _om_draft(where, unit, above)
        out.append(draft)
        below = unit.get("subUnits") or []
        if not isinstance(below, list):
            errors.append(FieldError(f"{where}.subUnits", "must be a list"))
            continue
        children = [(f"{where}.subUnits[{n}]", u, draft.key) for n, u in enumerate(below)]
        todo.extend(reversed(children))
        if len(out) > MAX_UNITS:
            return


def _om_draft(where: str, unit: dict[str, Any], parent: str | None) -> Draft:
    draft = Draft(where=where, csv=False, parent_key=parent)
    errors = draft.problems
    draft.key = str(unit["id"]) if unit.get("id") not in (None, "") else where
    ext = _object(unit.get(EXTENSION))
    amps = _object(unit.get("textAmplifiers"))
    labels = {"name": "name", "short_name": "shortName", "sidc": "sidc", "lon": "location"}
    labels |= {"lineage": "id"}
    draft.labels.update(labels | {"lat": "location", "nation": "textAmplifiers.country"})
    values = draft.values
    values["name"] = unit.get("name")
    if unit.get("shortName"):
        values["short_name"] = unit["shortName"]
    sidc = unit.get("sidc")
    if not isinstance(sidc, str) or not sidc:
        errors.append(FieldError(f"{where}.sidc", "give the unit's SIDC"))
        sidc = ""
    same = bool(ext.get("sidc")) and sidc in (ext["sidc"], letter_to_number(str(ext["sidc"])))
    values["sidc"] = ext["sidc"] if same else (number_to_letter(sidc) or sidc)
    _from_sidc(draft, sidc, ext if same else {}, errors)
    location = unit.get("location")
    if location is not None:
        ok = isinstance(location, list) and len(location) >= 2
        if ok and all(isinstance(c, (int, float)) for c in location[:2]):
            values["lon"], values["lat"] = location[0], location[1]
        else:
            errors.append(FieldError(f"{where}.location", "must be [longitude, latitude]"))
    _strength(draft, unit.get("personnel"), ext, errors)
    nation = ext.get("nation") or amps.get("country")
    if nation:
        values["nation"] = nation
    text = ext.get("location") or unit.get("description")
    if isinstance(text, str) and text:
        values["location"] = text[:200]
    for name in ("capability", "transfer_of_authority"):
        if ext.get(name) not in (None, ""):
            values[name] = ext[name]
            draft.labels[name] = f"{EXTENSION}.{name}"
    if ext.get("marking"):
        values["releasability"] = ext["marking"]
        draft.labels["releasability"] = f"{EXTENSION}.marking"
    if ext.get("pledge"):
        draft.pledge_ref = str(ext["pledge"])
        draft.labels["pledge_id"] = f"{EXTENSION}.pledge"
    return draft


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _from_sidc(draft: Draft, sidc: str, ext: dict[str, Any], errors: list[FieldError]) -> None:
    """Echelon and kind: the extension's when the SIDC is unchanged, else read from the SIDC."""
    values = draft.values
    if ext.get("echelon") and ext.get("kind"):
        values["echelon"], values["kind"] = ext["echelon"], ext["kind"]
        draft.labels |= {"echelon": f"{EXTENSION}.echelon", "kind": f"{EXTENSION}.kind"}
        return
    draft.labels |= {"echelon": "sidc", "kind": "sidc"}
    if NUMBER_SIDC.match(sidc):
        letter, hq = number_echelon(sidc), number_is_headquarters(sidc)
    else:
        letter = sidc[11] if len(sidc) > 11 and sidc[11] != "-" else None
        hq = len(sidc) > 10 and sidc[10] in "ABCD"
    values["echelon"] = LETTER_ECHELON.get(letter or "")
    if values["echelon"] is None:
        if sidc:
            errors.append(
                FieldError(
                    f"{draft.where}.sidc",
                    f"{sidc} carries no echelon (team to corps); give the unit an echelon "
                    "amplifier",
                )
            )
        values["echelon"] = "team"  # the file is refused for the error above
    values["kind"] = UnitKind.HEADQUARTERS.value if hq else UnitKind.UNIT.value


def _strength(draft: Draft, personnel: Any, ext: dict[str, Any], errors: list[FieldError]) -> None:
    values = draft.values
    if isinstance(personnel, list) and personnel:
        try:
            authorized = sum(int(p.get("count") or 0) for p in personnel)
            present = sum(int(p.get("onHand", p.get("count")) or 0) for p in personnel)
        except (AttributeError, TypeError, ValueError):
            errors.append(FieldError(f"{draft.where}.personnel", "counts must be numbers"))
            return
        values["strength_authorized"], values["strength_present"] = authorized, present
        draft.labels |= {"strength_authorized": "personnel", "strength_present": "personnel"}
    assigned = ext.get("strength_assigned")
    if assigned is None and "strength_present" in values:
        assigned = values["strength_present"]
    if assigned is not None:
        values["strength_assigned"] = assigned
        draft.labels["strength_assigned"] = f"{EXTENSION}.strength_assigned"
