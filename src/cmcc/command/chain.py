"""A unit's chain of command in one query: the unit as it stood at a moment and its parents up
to the root, every marking (for the platform's checks, never shown).

The same answer as `orbat.ancestors`, which reads one version per level (and matches a
lineage through `coalesce(lineage, id)`, which no index serves): a task's acceptance checks
walk the chain three times (authority, caveats, pledge), so over a deep ORBAT most of their
time is these reads (bench/command_bench.py). Here a recursive query follows the parents,
each step through the indexed `id` and `lineage` columns.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, literal, or_, select
from sqlalchemy.orm import Session, aliased

from cmcc.command.models import Unit
from cmcc.command.orbat import valid_at

MAX_DEPTH = 64  # deeper than any ORBAT (team to corps is ten echelons); stops a cycle


def ancestor_chain(session: Session, lineage: int, at: dt.datetime) -> list[Unit]:
    """The unit valid at `at` and its parents up to the root, nearest first; empty when the
    unit did not exist then. A cycle in the parents stops at its first repetition."""
    step = aliased(Unit)
    # (the version valid at `at`, its parent's lineage, how far up): each step through the
    # indexed id and lineage columns, the versions then read by primary key.
    first = select(
        step.id.label("unit_id"),
        step.parent_lineage.label("up"),
        literal(0, Integer).label("depth"),
    ).where(or_(step.id == lineage, step.lineage == lineage), valid_at(step, at))
    chain = first.cte("chain", recursive=True)
    above = aliased(Unit)
    chain = chain.union_all(
        select(above.id, above.parent_lineage, chain.c.depth + 1)
        .join(chain, or_(above.id == chain.c.up, above.lineage == chain.c.up))
        .where(valid_at(above, at), chain.c.depth < MAX_DEPTH)
    )
    stmt = select(Unit).join(chain, Unit.id == chain.c.unit_id).order_by(chain.c.depth)
    out: list[Unit] = []
    seen: set[int] = set()
    for unit in session.scalars(stmt):
        if unit.lineage_id in seen:
            break
        seen.add(unit.lineage_id)
        out.append(unit)
    return out
