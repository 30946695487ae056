"""The ORBAT as of a date as JSON bytes, built by the database: one query in which each visible
unit's fields come back as one JSON object (SQLite `json_object`, PostgreSQL
`json_build_object`), and Python only nests them and sums the strengths.

The answer is the same as `readout.orbat_tree(readout.orbat_records(...))` serialized (a unit
whose parent the viewer may not see is a root; `parent` is then null), without making a dict
per unit and formatting each of its fields in Python: over 5,000 units that is most of the
time of the tree (bench/command_bench.py). Coordinates are spliced in by Python (`repr` is the
shortest exact form; SQLite's JSON would round them to 15 digits).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, case, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.access.policy import release_filter
from cmcc.command.models import Unit
from cmcc.command.orbat import valid_at
from cmcc.command.readout import TREE_FIELDS
from cmcc.core.clock import utcnow
from cmcc.core.releasability import MarkingKind, Viewer

_OWN_WAY = {"lineage", "parent", "owner", "releasability", "lon", "lat", "illustrative"}
# The tree's fields taken as stored (JSON numbers, strings, dates as ISO text, null).
_PLAIN = tuple(c for c in TREE_FIELDS if c not in _OWN_WAY)


def _unit_object(dialect: str) -> Any:
    pairs: list[Any] = []
    for name in _PLAIN:
        pairs += [literal(name), getattr(Unit, name)]
    trim = func.trim if dialect == "sqlite" else func.btrim
    marking = case(
        (
            Unit.releasability == MarkingKind.REL.value,
            "rel:" + func.replace(trim(Unit.release_to, "|"), "|", ","),
        ),
        else_=Unit.releasability,
    )
    illustrative: Any = Unit.illustrative
    if dialect == "sqlite":  # a 0/1 integer there: make it a JSON boolean
        illustrative = func.json(case((Unit.illustrative, "true"), else_="false"))
    pairs += [
        literal("illustrative"),
        illustrative,
        literal("owner"),
        Organization.code,
        literal("releasability"),
        marking,
    ]
    if dialect == "sqlite":
        return type_coerce(func.json_object(*pairs), String)
    return func.json_build_object(*pairs).cast(String)  # text: the driver would decode json


def _number(value: float | None) -> str:
    return "null" if value is None else repr(value)


def orbat_json(session: Session, viewer: Viewer, as_of: dt.datetime | None = None) -> bytes:
    """The forest of visible units valid at `as_of` (default now) as JSON: a list of
    {unit, totals: {authorized, assigned, present} over the subtree, children}."""
    dialect = session.get_bind().dialect.name
    lineage = func.coalesce(Unit.lineage, Unit.id)
    stmt = (
        select(
            lineage,
            Unit.parent_lineage,
            Unit.lon,
            Unit.lat,
            Unit.strength_authorized,
            Unit.strength_assigned,
            Unit.strength_present,
            _unit_object(dialect),
        )
        .join(Organization, Organization.id == Unit.owner_org_id)
        .where(release_filter(Unit, viewer), valid_at(Unit, as_of or utcnow()))
        .order_by(lineage)
    )
    rows = session.execute(stmt).all()
    seen = {r[0] for r in rows}
    units: dict[int, str] = {}
    own: dict[int, tuple[int, int, int]] = {}
    children: dict[int, list[int]] = {}
    roots: list[int] = []
    for lin, parent, lon, lat, a, s, p, text in rows:
        shown = parent if parent in seen else None
        units[lin] = (
            f'{text[:-1]},"lineage":{lin},"parent":{"null" if shown is None else shown},'
            f'"lon":{_number(lon)},"lat":{_number(lat)}}}'
        )
        own[lin] = (a, s, p)
        (children.setdefault(shown, []) if shown is not None else roots).append(lin)
    # Totals bottom-up, then the text top-down into one list of pieces (no recursion: deep
    # trees; no string copied more than once: large ones).
    order: list[int] = []
    stack = list(roots)
    while stack:
        lin = stack.pop()
        order.append(lin)
        stack.extend(children.get(lin, ()))
    totals = dict(own)
    for lin in reversed(order):
        a, s, p = totals[lin]
        for kid in children.get(lin, ()):
            ka, ks, kp = totals[kid]
            a, s, p = a + ka, s + ks, p + kp
        totals[lin] = (a, s, p)
    pieces: list[str] = ["["]
    todo: list[int | str] = [*reversed(_commas(roots))]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            pieces.append(item)
            continue
        a, s, p = totals[item]
        pieces.append(
            f'{{"unit":{units[item]},"totals":{{"authorized":{a},"assigned":{s},'
            f'"present":{p}}},"children":['
        )
        todo.append("]}")
        todo.extend(reversed(_commas(children.get(item, []))))
    pieces.append("]")
    return "".join(pieces).encode()


def _commas(lineages: list[int]) -> list[int | str]:
    """The lineages with a "," between each two (the items of a JSON array, in order)."""
    out: list[int | str] = []
    for i, lin in enumerate(lineages):
        if i:
            out.append(",")
        out.append(lin)
    return out
