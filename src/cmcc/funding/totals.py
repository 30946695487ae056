"""Converted totals kept per marking (`funding_totals`), maintained on every write of a flow, so
that the funding summary of any caller is a sum over a few thousand rows, not a pass over the
flows.

Each current flow contributes, per grouping (phase, sector, month), to the row of its plan,
donor, group, status and marking: its amount with no conversions (`conversions` ''), and for a
pledge or a commitment the terms of `domain.conversion_terms` under the sets of markings of the
flows converting it. A caller sums the rows whose marking and conversions they may see: the
outstanding part, floored at 0, of exactly the conversions they see.

A write first notes the contributions of the lineages it touches (`Change`, which locks their
current versions on PostgreSQL, so that concurrent writes to one lineage apply one after the
other), then, after the write, adds the difference. A re-marked flow (or converting flow) so
moves its figures to the rows of its new marking. The rows are derived from audited flows and
recomputable from them (`rebuild`): they are written outside the ORM and not audited."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Connection,
    Table,
    and_,
    delete,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cmcc.funding.domain import FlowStatus, conversion_terms
from cmcc.funding.models import Flow, Total, TotalMarking

GROUPINGS = ("phase", "sector", "month")
# (grouping, plan, donor, group key, status, marking, conversions)
Key = tuple[str, int, int, int, str, str, str]
Member = tuple[str, int, str | None]  # releasability, owner, release_to

FLOWS = cast(Table, Flow.__table__)
TOTALS = cast(Table, Total.__table__)
MARKINGS = cast(Table, TotalMarking.__table__)
_KEY_COLUMNS = ("grouping", "plan_id", "donor_org_id", "group_key", "status", "marking")


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _member_key(member: Member) -> str:
    releasability, owner, release_to = member
    return _digest(f"{owner}:{releasability}:{release_to or ''}")


def set_key(members: Iterable[Member]) -> str:
    """The digest naming a set of markings ('' for the empty set)."""
    keys = sorted({_member_key(m) for m in members})
    return _digest(" ".join(keys)) if keys else ""


class Contributions:
    """The rows' cents (and flows: the rows without conversions count them, so that a group of
    flows of 0.00 USD is still a group) the current versions of some lineages make, and the
    sets they name."""

    def __init__(self) -> None:
        self.cents: Counter[Key] = Counter()
        self.flows: Counter[Key] = Counter()
        self.sets: dict[str, frozenset[Member]] = {}

    def named(self, members: frozenset[Member]) -> str:
        key = set_key(members)
        if key:
            self.sets.setdefault(key, members)
        return key


def contributions(db: Session | Connection, lineages: Iterable[int] | None) -> Contributions:
    """What the current versions of `lineages` (None: of every lineage) add to the rows."""
    wanted = None if lineages is None else sorted(set(lineages))
    out = Contributions()
    if wanted == []:
        return out
    f = FLOWS.c
    cents = type_coerce(f.amount_usd, BigInteger)
    parents = select(
        f.lineage_id,
        f.status,
        f.plan_id,
        f.donor_org_id,
        f.phase_id,
        f.programme_id,
        f.flow_date,
        f.releasability,
        f.owner_org_id,
        f.release_to,
        cents,
    ).where(f.is_current.is_(True))
    converting = (
        select(f.fulfils_id, f.releasability, f.owner_org_id, f.release_to, func.sum(cents))
        .where(f.is_current.is_(True), f.fulfils_id.is_not(None))
        .group_by(f.fulfils_id, f.releasability, f.owner_org_id, f.release_to)
    )
    if wanted is not None:
        parents = parents.where(f.lineage_id.in_(wanted))
        converting = converting.where(f.fulfils_id.in_(wanted))
    converted: dict[int, dict[Member, int]] = {}
    for lineage, rel, owner, release_to, total in db.execute(converting):
        converted.setdefault(lineage, {})[(rel, owner, release_to)] = int(total or 0)
    for row in db.execute(parents):
        lineage, status, plan, donor, phase, programme, day, rel, owner, release_to, amount = row
        marking = out.named(frozenset([(rel, owner, release_to)]))
        terms: dict[frozenset[Member], int] = {frozenset(): int(amount)}
        if status != FlowStatus.PAID.value:
            by_key = {_member_key(m): m for m in converted.get(lineage, {})}
            raw = conversion_terms(
                int(amount), {_member_key(m): c for m, c in converted.get(lineage, {}).items()}
            )
            terms.update({frozenset(by_key[k] for k in ks): v for ks, v in raw.items() if ks})
        groups = (
            ("phase", phase or 0),
            ("sector", programme or 0),
            ("month", day.year * 100 + day.month),
        )
        for members, value in terms.items():
            conversions = out.named(members)
            for grouping, group_key in groups:
                key = (grouping, plan, donor, group_key, status, marking, conversions)
                out.cents[key] += value
                out.flows[key] += 0 if members else 1
    return out


def _lock(session: Session, lineages: list[int]) -> None:
    """PostgreSQL: hold the lineages' current versions until the end of the transaction (a
    concurrent write to one of them waits, then reads what this one wrote). SQLite: the write
    transaction holds the database's lock already; FOR UPDATE is not rendered."""
    if lineages:
        stmt = (
            select(Flow.id)
            .where(Flow.lineage_id.in_(lineages), Flow.is_current.is_(True))
            .order_by(Flow.id)
            .with_for_update()
        )
        session.execute(stmt).all()


class Change:
    """Note the contributions of the lineages a write touches, before it; `apply` after it
    adds the difference to the rows (the lineages given again: a new flow's own is known only
    then)."""

    def __init__(self, session: Session, *lineages: int | None) -> None:
        self.session = session
        self.lineages = sorted({x for x in lineages if x is not None})
        _lock(session, self.lineages)
        self.before = contributions(session, self.lineages)

    def apply(self, *lineages: int | None) -> None:
        self.session.flush()
        touched = sorted(set(self.lineages) | {x for x in lineages if x is not None})
        after = contributions(self.session, touched)
        cents, flows = Counter(after.cents), Counter(after.flows)
        cents.subtract(self.before.cents)
        flows.subtract(self.before.flows)
        _add(self.session.connection(), cents, flows, after.sets)


def _upsert(conn: Connection, table: Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _add(
    conn: Connection,
    cents: Counter[Key],
    flows: Counter[Key],
    sets: dict[str, frozenset[Member]],
    prune: bool = True,
) -> None:
    """Add the non-zero differences to the rows; `prune`: remove the rows they bring to 0."""
    changed = {k: (cents[k], flows[k]) for k in cents.keys() | flows.keys() if cents[k] or flows[k]}
    if not changed:
        return
    _name_sets(conn, {k[6] for k in changed} | {k[5] for k in changed}, sets)
    insert = _upsert(conn, TOTALS)
    stmt = insert.on_conflict_do_update(
        index_elements=[*_KEY_COLUMNS, "conversions"],
        set_={
            "cents": TOTALS.c.cents + insert.excluded.cents,
            "flows": TOTALS.c.flows + insert.excluded.flows,
        },
    )
    conn.execute(stmt, [_row(k, v) for k, v in changed.items()])
    gone = [
        and_(*(TOTALS.c[c] == v for c, v in zip((*_KEY_COLUMNS, "conversions"), k, strict=True)))
        for k in changed
    ]
    for i in range(0, len(gone) if prune else 0, 50):
        conn.execute(
            delete(TOTALS).where(TOTALS.c.cents == 0, TOTALS.c.flows == 0, or_(*gone[i : i + 50]))
        )


def _row(key: Key, values: tuple[int, int]) -> dict[str, Any]:
    row = dict(zip((*_KEY_COLUMNS, "conversions"), key, strict=True))
    return {**row, "cents": values[0], "flows": values[1]}


def _name_sets(conn: Connection, keys: set[str], sets: dict[str, frozenset[Member]]) -> None:
    """Record the members of each set named for the first time (sets are never removed: they
    are as many as the combinations of markings in use)."""
    keys.discard("")
    if not keys:
        return
    known = set(conn.scalars(select(MARKINGS.c.set_key).where(MARKINGS.c.set_key.in_(keys))))
    rows = [
        {
            "set_key": key,
            "member": _member_key(m),
            "releasability": m[0],
            "owner_org_id": m[1],
            "release_to": m[2],
        }
        for key in sorted(keys - known)
        for m in sorted(sets[key], key=_member_key)
    ]
    if rows:
        insert = _upsert(conn, MARKINGS)
        conn.execute(insert.on_conflict_do_nothing(index_elements=["set_key", "member"]), rows)


def rebuild(conn: Connection) -> int:
    """Recompute every row from the current flows (the migration fills the table so; a bulk
    load of flows calls it after). Returns the number of rows."""
    conn.execute(delete(TOTALS))
    every = contributions(conn, None)
    _add(conn, every.cents, every.flows, every.sets, prune=False)
    return int(conn.scalar(select(func.count()).select_from(TOTALS)) or 0)
