"""The ORBAT as of a date in one query, as plain dicts (the tree of 5,000 nodes is read often:
no ORM objects, no per-row validation)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.access.policy import release_filter
from cmcc.command.models import Unit
from cmcc.command.orbat import valid_at
from cmcc.core.clock import utcnow
from cmcc.core.releasability import Marking, Viewer

_COLUMNS = (
    "id",
    "name",
    "short_name",
    "nation",
    "kind",
    "echelon",
    "sidc",
    "capability",
    "strength_authorized",
    "strength_assigned",
    "strength_present",
    "location",
    "lon",
    "lat",
    "pledge_id",
    "transfer_of_authority",
    "area_zone_lineage",
    "valid_from",
    "valid_to",
    "illustrative",
    "source",
    "version",
    "created_at",
    "updated_at",
)


# What a node of the tree carries: enough to draw it (symbol, strength bar, place) and to
# follow it (its lineage; `GET /api/v1/units/{lineage}` has the rest: source, validity, ...).
TREE_FIELDS = (
    "lineage",
    "parent",
    "owner",
    "releasability",
    "name",
    "short_name",
    "nation",
    "kind",
    "echelon",
    "sidc",
    "capability",
    "strength_authorized",
    "strength_assigned",
    "strength_present",
    "location",
    "lon",
    "lat",
    "illustrative",
)


def _iso(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, dt.datetime) else value


def orbat_records(
    session: Session, viewer: Viewer, as_of: dt.datetime | None
) -> list[dict[str, Any]]:
    """Every visible unit valid at `as_of` (default now), shaped like UnitPublic, with its
    parent only when the viewer may see it."""
    moment = as_of or utcnow()
    lineage = func.coalesce(Unit.lineage, Unit.id)
    stmt = (
        select(
            lineage,
            Unit.parent_lineage,
            Organization.code,
            Unit.releasability,
            Unit.release_to,
            *(getattr(Unit, c) for c in _COLUMNS),
        )
        .join(Organization, Organization.id == Unit.owner_org_id)
        .where(release_filter(Unit, viewer), valid_at(Unit, moment))
        .order_by(lineage)
    )
    rows = session.execute(stmt).all()
    seen = {r[0] for r in rows}
    out = []
    for r in rows:
        rec = {c: _iso(v) for c, v in zip(_COLUMNS, r[5:], strict=True)}
        rec["transfer_of_authority"] = (
            r[5 + _COLUMNS.index("transfer_of_authority")].isoformat()
            if rec["transfer_of_authority"] is not None
            else None
        )
        rec["lineage"] = r[0]
        rec["parent"] = r[1] if r[1] in seen else None
        rec["owner"] = r[2]
        rec["releasability"] = str(Marking.from_stored(r[3], r[4]))
        rec["area_zone"] = rec.pop("area_zone_lineage")
        out.append(rec)
    return out


def orbat_tree(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records as a forest of {unit (its TREE_FIELDS), totals, children}; strength totals
    over each subtree."""
    nodes: dict[int, dict[str, Any]] = {
        r["lineage"]: {"unit": {k: r[k] for k in TREE_FIELDS}, "totals": {}, "children": []}
        for r in records
    }
    roots: list[dict[str, Any]] = []
    for r in records:
        parent = nodes.get(r["parent"]) if r["parent"] is not None else None
        (parent["children"] if parent is not None else roots).append(nodes[r["lineage"]])

    keys = ("strength_authorized", "strength_assigned", "strength_present")
    # Totals bottom-up without recursion (deep trees).
    order: list[dict[str, Any]] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node["children"])
    for node in reversed(order):
        totals = {k.removeprefix("strength_"): node["unit"][k] for k in keys}
        for child in node["children"]:
            for k, v in child["totals"].items():
                totals[k] += v
        node["totals"] = totals
    return roots
