"""The scenario's crossings and aid flow, loaded through the aid flow services, idempotently
like the rest of a scenario.

Files of the scenario folder: `crossings.toml` (`[[crossings]]` known by `code`, `[[statuses]]`
known by crossing and moment (a relative moment of an illustrative record by crossing, status
and note), `[[targets]]` known by scope and first day) and `aid_flow.toml` (`[[daily]]`: one
crossing's trucks of one category on consecutive days from `first_day`, a series known by
crossing, category and source)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cmcc.access.domain import Principal
from cmcc.access.service import resolve_marking
from cmcc.core.errors import DomainError, InvalidInput
from cmcc.humanitarian import aidflow, crossings
from cmcc.humanitarian.aidflow import Figure
from cmcc.humanitarian.aidflow_schemas import (
    AidFlowTargetCreate,
    CrossingCreate,
    CrossingStatusCreate,
)
from cmcc.humanitarian.domain import CargoCategory
from cmcc.humanitarian.models import AidFlowEntry, AidFlowTarget, Crossing, CrossingStatusChange
from cmcc.scenarios import dates
from cmcc.scenarios.parsing import parse_record, source_text

if TYPE_CHECKING:
    from cmcc.scenarios.loader import Loader

MARKERS = ("approx", "illustrative", "source")


class AidFlowLoader:
    """Loads the crossings and the aid flow of a scenario for a `Loader`."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.session = loader.session
        home = loader.home
        self.who = Principal.system_operator(home.id, home.code)

    def _crossing(self, code: Any, where: str) -> Crossing:
        found = self.session.scalars(
            select(Crossing).where(Crossing.code == str(code or "").upper())
        ).first()
        if found is None:
            raise InvalidInput.field(where, f"no crossing {code!r} in crossings.toml")
        return found

    def _call(self, where: str, fn: Any, *args: Any) -> Any:
        """A service call whose refusal names the scenario record that caused it."""
        try:
            return fn(self.session, self.who, *args)
        except DomainError as exc:
            raise InvalidInput.field(where, exc.detail) from None

    # --- crossings.toml ------------------------------------------------------------------------

    def load_crossings(self) -> None:
        for where, rec in self.loader.records("crossings"):
            if self.loader._exists(Crossing.code, str(rec.get("code", "")).upper()):
                continue
            fields = {k: v for k, v in rec.items() if k not in MARKERS}
            fields.update(approx=bool(rec.get("approx")), source=str(rec.get("source", "")))
            body = parse_record(CrossingCreate, fields, where)
            self._call(where, crossings.create_crossing, body)
            self.loader.added["crossings"] += 1
        self._statuses()
        self._targets()

    def _statuses(self) -> None:
        raw = self.loader.data.get("crossings", {}).get("statuses", [])
        for (where, rec), original in zip(
            self.loader.records("crossings", "statuses"), raw, strict=True
        ):
            crossing = self._crossing(rec.get("crossing"), f"{where}.crossing")
            fields = {k: v for k, v in rec.items() if k not in (*MARKERS, "crossing")}
            body = parse_record(
                CrossingStatusCreate,
                {
                    **fields,
                    "crossing_id": crossing.id,
                    "approx": bool(rec.get("approx")),
                    "illustrative": bool(rec.get("illustrative")),
                    "source": str(rec.get("source", "")),
                },
                where,
            )
            known = select(CrossingStatusChange.id).where(
                CrossingStatusChange.crossing_id == crossing.id
            )
            if dates.is_relative(original.get("since")):  # a moving moment is no key
                known = known.where(
                    CrossingStatusChange.status == body.status.value,
                    CrossingStatusChange.note == body.note,
                )
            else:
                known = known.where(CrossingStatusChange.since == body.since)
            if self.session.scalars(known).first() is not None:
                continue
            self._call(where, crossings.record_status, body)
            self.loader.added["crossing statuses"] += 1

    def _targets(self) -> None:
        for where, rec in self.loader.records("crossings", "targets"):
            fields = {k: v for k, v in rec.items() if k not in (*MARKERS, "crossing")}
            if rec.get("crossing") is not None:
                fields["crossing_id"] = self._crossing(rec["crossing"], f"{where}.crossing").id
            fields["source"] = source_text(rec)
            body = parse_record(AidFlowTargetCreate, fields, where)
            category = body.cargo_category.value if body.cargo_category else None
            known = select(AidFlowTarget.id).where(
                AidFlowTarget.crossing_id.is_(None)
                if body.crossing_id is None
                else AidFlowTarget.crossing_id == body.crossing_id,
                AidFlowTarget.cargo_category.is_(None)
                if category is None
                else AidFlowTarget.cargo_category == category,
                AidFlowTarget.starts_on == body.starts_on,
            )
            if self.session.scalars(known).first() is not None:
                continue
            self._call(where, aidflow.create_target, body)
            self.loader.added["aid flow targets"] += 1

    # --- aid_flow.toml -------------------------------------------------------------------------

    def load_aid_flow(self) -> None:
        for where, rec in self.loader.records("aid_flow", "daily"):
            crossing = self._crossing(rec.get("crossing"), f"{where}.crossing")
            category = str(rec.get("category", ""))
            if category not in {c.value for c in CargoCategory}:
                raise InvalidInput.field(
                    f"{where}.category", f"unknown cargo category {category!r}"
                )
            source = source_text(rec)
            if not source:
                raise InvalidInput.field(f"{where}.source", "required: where the figures are from")
            known = select(AidFlowEntry.id).where(
                AidFlowEntry.crossing_id == crossing.id,
                AidFlowEntry.cargo_category == category,
                AidFlowEntry.source == source,
            )
            if self.session.scalars(known).first() is not None:
                continue
            try:
                first = dt.date.fromisoformat(str(rec.get("first_day")))
            except ValueError:
                raise InvalidInput.field(f"{where}.first_day", "a date (or D-60)") from None
            trucks = rec.get("trucks")
            if not isinstance(trucks, list) or not all(
                isinstance(t, int) and t >= 0 for t in trucks
            ):
                raise InvalidInput.field(f"{where}.trucks", "a list of whole numbers, 0 or more")
            figures = [
                Figure(
                    crossing.id,
                    first + dt.timedelta(days=i),
                    category,
                    n,
                    source,
                    bool(rec.get("illustrative")),
                )
                for i, n in enumerate(trucks)
            ]
            marking = resolve_marking(self.session, rec.get("releasability", "mission"))
            done = self._call(where, aidflow.write_figures, figures, marking)
            self.loader.added["aid flow figures"] += done["created"] + done["updated"]
