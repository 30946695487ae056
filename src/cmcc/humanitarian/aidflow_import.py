"""Import of aid flow figures from CSV: one row per crossing, day and cargo category, with the
columns `crossing` (its code), `day` (ISO date), `category`, `trucks` and `source`; an HXL
hashtag row (`#loc+crossing`, `#date`, `#item+category`, `#indicator+trucks`, `#meta+source`)
is understood under or instead of the header row, so the HXL export reads back in.

All or nothing: the whole file is read and checked first, and any problem refuses the file,
every problem named by its line and column ("line 4, column trucks"); then each figure is
written in the caller's one transaction (over the stored figure of the same crossing, day and
category)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.access.service import resolve_marking
from cmcc.core.errors import FieldError, InvalidInput
from cmcc.humanitarian.aidflow import (
    Figure,
    hidden_figure,
    hidden_ids,
    stored_entries,
    write_figures,
)
from cmcc.humanitarian.crossings import coordinator, crossings_by_code
from cmcc.humanitarian.domain import CargoCategory
from cmcc.humanitarian.models import Crossing
from cmcc.interop.tabular import Column, FormatError, TableReader, from_spreadsheet_safe

MAX_ROWS = 200_000
SHOWN = 5  # problems quoted in the refusal's detail (all of them are in its errors)
COLUMNS: tuple[Column, ...] = (
    Column("crossing", "crossing", "#loc+crossing", ("crossing code",)),
    Column("day", "day", "#date", ("date",)),
    Column("category", "category", "#item+category", ("cargo category", "cargo_category")),
    Column("trucks", "trucks", "#indicator+trucks"),
    Column("source", "source", "#meta+source"),
)
REQUIRED = ("crossing", "day", "category", "trucks", "source")
CATEGORIES = ", ".join(c.value for c in CargoCategory)


@dataclass(frozen=True)
class Imported:
    rows: int
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class _Row:
    line: int
    code: str
    figure: Figure


def _place(line: int, column: str) -> str:
    return f"line {line}, column {column}"


def _refusal(errors: list[FieldError]) -> InvalidInput:
    shown = "; ".join(f"{e.field}: {e.message}" for e in errors[:SHOWN])
    more = f" (and {len(errors) - SHOWN} more)" if len(errors) > SHOWN else ""
    return InvalidInput(
        f"{len(errors)} problem(s) in the file, nothing was imported: {shown}{more}", errors
    )


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput.field("file", f"not UTF-8 text ({exc.reason})") from None


def read_rows(
    session: Session, principal: Principal, data: bytes
) -> tuple[list[_Row], list[FieldError]]:
    """The file's rows as figures, and every problem found by line and column."""
    try:
        reader = TableReader(io.StringIO(_text(data), newline=""), COLUMNS)
    except FormatError as exc:
        raise InvalidInput.field("file", str(exc)) from None
    header = reader.layout.header_line or 1
    missing = [c for c in REQUIRED if c not in reader.layout.positions]
    if missing:
        raise _refusal([FieldError(_place(header, c), "missing column") for c in missing])
    pos = reader.layout.positions
    raw: list[tuple[int, dict[str, str]]] = []
    errors: list[FieldError] = []
    for record in reader:
        if record.error is not None:
            errors.append(FieldError(f"line {record.line}", record.error))
            continue
        cells = {
            f: record.cells[i].strip() if i < len(record.cells) else "" for f, i in pos.items()
        }
        raw.append((record.line, cells))
        if len(raw) > MAX_ROWS:
            raise InvalidInput.field("file", f"more than {MAX_ROWS} rows; split the file")
    known = crossings_by_code(session, principal.viewer, [c["crossing"] for _, c in raw])
    rows: list[_Row] = []
    first_line: dict[tuple[int, dt.date, str], int] = {}
    for line, cells in raw:
        row = _row(line, cells, known, errors)
        if row is None:
            continue
        seen = first_line.setdefault(row.figure.key, line)
        if seen != line:
            errors.append(
                FieldError(
                    _place(line, "day"),
                    f"line {seen} has the same crossing, day and category already",
                )
            )
            continue
        rows.append(row)
    if not raw and not errors:
        errors.append(FieldError("file", "no rows under the header"))
    return rows, errors


def _row(
    line: int, cells: dict[str, str], known: dict[str, Crossing], errors: list[FieldError]
) -> _Row | None:
    problems: list[FieldError] = []
    code = cells["crossing"].upper()
    crossing = known.get(code)
    if not code:
        problems.append(FieldError(_place(line, "crossing"), "required: the crossing's code"))
    elif crossing is None:
        problems.append(
            FieldError(_place(line, "crossing"), f"no crossing {code!r} that you may see")
        )
    day: dt.date | None = None
    try:
        day = dt.date.fromisoformat(cells["day"])
    except ValueError:
        problems.append(
            FieldError(_place(line, "day"), f"{cells['day']!r} is not a date (YYYY-MM-DD)")
        )
    category = cells["category"].lower()
    if category not in {c.value for c in CargoCategory}:
        problems.append(
            FieldError(
                _place(line, "category"), f"{cells['category']!r} is not one of {CATEGORIES}"
            )
        )
    trucks = cells["trucks"]
    if not trucks.isdigit() or len(trucks) > 6:
        problems.append(
            FieldError(_place(line, "trucks"), f"{trucks!r} is not a whole number of trucks")
        )
    source = from_spreadsheet_safe(cells["source"])
    if not source:
        problems.append(FieldError(_place(line, "source"), "required: where the figure is from"))
    elif len(source) > 2000:
        problems.append(FieldError(_place(line, "source"), "at most 2,000 characters"))
    if problems or crossing is None or day is None:
        errors.extend(problems)
        return None
    return _Row(line, code, Figure(crossing.id, day, category, int(trucks), source))


def import_figures(
    session: Session,
    principal: Principal,
    data: bytes,
    releasability: str = "mission",
    field: str = "releasability",
) -> Imported:
    """Check the whole file, then write every figure, or refuse it naming every problem."""
    coordinator(principal)
    try:
        marking = resolve_marking(session, releasability)
    except InvalidInput as exc:
        raise InvalidInput.field(field, exc.errors[0].message) from None
    rows, errors = read_rows(session, principal, data)
    stored = stored_entries(session, [r.figure for r in rows])
    hidden = hidden_ids(session, principal.viewer, stored.values())
    for row in rows:
        entry = stored.get(row.figure.key)
        if entry is not None and entry.id in hidden:
            f = row.figure
            message = hidden_figure(row.code, f.day, f.cargo_category)
            errors.append(FieldError(_place(row.line, "day"), message))
    if errors:
        raise _refusal(errors)
    counts = write_figures(session, principal, [r.figure for r in rows], marking, stored)
    return Imported(len(rows), counts["created"], counts["updated"], counts["unchanged"])
