"""An ORBAT import: the whole file is checked first (every row or unit, its parent, its pledge,
against the schema of a new unit), and only a file without a problem is written, unit by unit
through `cmcc.command.orbat.create_unit`, in the caller's one transaction: all or nothing.

A parent is named by its key in the same file (the `lineage` column, an ORBAT Mapper id), or
else by the lineage of a unit already in the ORBAT that the importer may see. The file's keys
come first: a file exported from this platform and imported again makes new units, under the
new units made from its own rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.access.policy import visible
from cmcc.command.exchange.readers import (
    Draft,
    FileErrors,
    drafts_from_csv,
    drafts_from_orbat_mapper,
)
from cmcc.command.models import Unit
from cmcc.command.orbat import create_unit, orbat_statement
from cmcc.command.schemas import UnitCreate
from cmcc.core.clock import utcnow
from cmcc.core.errors import DomainError, FieldError, InvalidInput
from cmcc.forces.models import Pledge

ImportFormat = Literal["csv", "orbatmapper"]
IMPORT_FORMATS: tuple[str, ...] = ("csv", "orbatmapper")


@dataclass(frozen=True)
class ImportedUnit:
    where: str
    key: str | None
    lineage: int
    name: str


@dataclass(frozen=True)
class Imported:
    units: list[ImportedUnit]


def read_drafts(data: bytes, fmt: str) -> list[Draft]:
    if fmt == "csv":
        return drafts_from_csv(data)
    if fmt == "orbatmapper":
        return drafts_from_orbat_mapper(data)
    raise InvalidInput.field("format", f"unknown format {fmt!r}; use csv or orbatmapper")


def import_units(
    session: Session,
    principal: Principal,
    data: bytes,
    fmt: str,
    *,
    owner_org_id: int | None = None,
    valid_from: dt.datetime | None = None,
) -> Imported:
    """Create the file's units (owned by `owner_org_id`, default the caller's organization),
    valid from `valid_from` (default now). InvalidInput naming every problem, and nothing
    written, when the file has one."""
    require(principal, Permission.WRITE_ORBAT)
    moment = valid_from or utcnow()
    try:
        drafts = read_drafts(data, fmt)
    except FileErrors as exc:
        raise _refusal(exc.errors) from None
    if not drafts:
        raise InvalidInput.field("file", "no units in the file")
    plan = _check(session, principal, drafts, moment)
    created: dict[int, int] = {}  # draft index -> new lineage
    out: list[ImportedUnit] = []
    for i in plan.order:
        draft = drafts[i]
        parent = plan.parents[i]
        lineage = created[parent[1]] if parent and parent[0] == "file" else None
        if parent and parent[0] == "orbat":
            lineage = parent[1]
        data_i = plan.models[i].model_copy(update={"parent": lineage})
        try:
            unit = create_unit(session, principal, data_i, owner_org_id=owner_org_id)
        except DomainError as exc:
            exc.detail = f"{draft.where}: {exc.detail}; nothing was imported"
            raise
        created[i] = unit.lineage_id
        out.append(ImportedUnit(draft.where, draft.key, unit.lineage_id, unit.name))
    return Imported(out)


@dataclass
class _Plan:
    models: dict[int, UnitCreate]
    parents: dict[int, tuple[str, int] | None]  # ("file", draft index) | ("orbat", lineage)
    order: list[int]


def _refusal(errors: list[FieldError]) -> InvalidInput:
    shown = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return InvalidInput(
        f"{len(errors)} problem(s) in the file, nothing was imported: {shown}{more}", errors
    )


def _check(
    session: Session, principal: Principal, drafts: list[Draft], moment: dt.datetime
) -> _Plan:
    errors: list[FieldError] = [p for d in drafts for p in d.problems]
    keys: dict[str, int] = {}
    for i, d in enumerate(drafts):
        if d.key is None:
            continue
        if d.key in keys:
            first = drafts[keys[d.key]].where
            errors.append(FieldError(d.label("lineage"), f"{d.key} is also the key of {first}"))
        else:
            keys[d.key] = i
    parents = _parents(session, principal, drafts, keys, moment, errors)
    pledges = _pledges(session, principal, drafts, errors)
    models: dict[int, UnitCreate] = {}
    for i, d in enumerate(drafts):
        values = dict(d.values, valid_from=moment)
        if d.pledge_ref is not None and d.pledge_ref in pledges:
            values["pledge_id"] = pledges[d.pledge_ref]
        try:
            models[i] = UnitCreate.model_validate(values)
        except ValidationError as exc:
            for e in exc.errors():
                name = str(e["loc"][0]) if e["loc"] else ""
                where = d.label(name) if name else d.where
                errors.append(FieldError(where, e["msg"].removeprefix("Value error, ")))
    order = _order(drafts, parents, errors)
    if errors:
        raise _refusal(errors)
    return _Plan(models, parents, order)


def _parents(
    session: Session,
    principal: Principal,
    drafts: list[Draft],
    keys: dict[str, int],
    moment: dt.datetime,
    errors: list[FieldError],
) -> dict[int, tuple[str, int] | None]:
    """Each draft's parent: a draft of the file (by its key), or a unit of the ORBAT."""
    wanted: set[int] = set()
    for d in drafts:
        if d.parent_key is not None and d.parent_key not in keys and d.parent_key.isdigit():
            wanted.add(int(d.parent_key))
    known: set[int] = set()
    if wanted:
        stmt = orbat_statement(principal.viewer, moment).where(
            Unit.id.in_(select(Unit.id).where((Unit.lineage.in_(wanted)) | Unit.id.in_(wanted)))
        )
        known = {u.lineage_id for u in session.scalars(stmt)}
    out: dict[int, tuple[str, int] | None] = {}
    for i, d in enumerate(drafts):
        if d.parent_key is None:
            out[i] = None
        elif d.parent_key in keys:
            out[i] = ("file", keys[d.parent_key])
        elif d.parent_key.isdigit() and int(d.parent_key) in known:
            out[i] = ("orbat", int(d.parent_key))
        else:
            out[i] = None
            errors.append(
                FieldError(
                    d.label("parent"),
                    f"{d.parent_key} is neither a unit of the file nor a unit of the ORBAT "
                    "you may see",
                )
            )
    return out


def _pledges(
    session: Session, principal: Principal, drafts: list[Draft], errors: list[FieldError]
) -> dict[str, int]:
    refs = {d.pledge_ref for d in drafts if d.pledge_ref is not None}
    if not refs:
        return {}
    stmt = visible(Pledge, principal.viewer, Pledge.ref.in_(refs))
    found = {p.ref: p.id for p in session.scalars(stmt)}
    for d in drafts:
        if d.pledge_ref is not None and d.pledge_ref not in found:
            errors.append(FieldError(d.label("pledge_id"), f"no pledge {d.pledge_ref} you may see"))
    return found


def _order(
    drafts: list[Draft],
    parents: dict[int, tuple[str, int] | None],
    errors: list[FieldError],
) -> list[int]:
    """The drafts, each after its parent in the file; a loop of parents is an error."""
    children: dict[int, list[int]] = {}
    roots: list[int] = []
    for i in range(len(drafts)):
        parent = parents.get(i)
        if parent is not None and parent[0] == "file":
            children.setdefault(parent[1], []).append(i)
        else:
            roots.append(i)
    order: list[int] = []
    todo = list(reversed(roots))
    while todo:
        i = todo.pop()
        order.append(i)
        todo.extend(reversed(children.get(i, [])))
    placed = set(order)
    for i, d in enumerate(drafts):
        if i not in placed:
            errors.append(FieldError(d.label("parent"), "the parents form a loop"))
    return order
