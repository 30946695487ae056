"""The scenario's force: its ORBAT, command arrangements, tasks and unit reports, loaded through
the command and control services (and the force generation services for the illustrative
deployment of a pledge), idempotently like the rest of a scenario.

Files of the scenario folder: `units.toml` (`[[deployments]]`, `[[units]]`, `[[pledge_units]]`),
`command.toml` (`[[relationships]]`, `[[areas]]`, `[[phases]]`), `tasks.toml` (`[[tasks]]`),
`unit_reports.toml` (`[[reports]]`). A unit has a `key` that the other records use to name it;
a zone is named by its name. Every record is known by a natural key (see each method), so what
is stored already is left as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from cmcc.access.domain import Principal
from cmcc.access.models import Organization
from cmcc.command import areas, orbat, relationships, reports, tasking
from cmcc.command.domain import RelationshipStatus, TaskStatus
from cmcc.command.models import (
    AreaAssignment,
    CommandRelationship,
    DeploymentPhase,
    Unit,
    UnitReport,
    UnitTask,
    unit_lineage_col,
)
from cmcc.command.schemas import (
    AreaAssign,
    PhaseCreate,
    PledgeUnits,
    RelationshipCreate,
    RelationshipStep,
    ReportCreate,
    TaskCreate,
    TaskStatusIn,
    UnitCreate,
)
from cmcc.core.errors import DomainError, InvalidInput
from cmcc.forces import service as forces
from cmcc.forces.models import Pledge
from cmcc.forces.schemas import PledgeUpdate, ReadinessChange
from cmcc.scenarios.parsing import parse_record, source_text
from cmcc.zones.models import Zone

if TYPE_CHECKING:
    from cmcc.scenarios.loader import Loader

# Illustrative-record markers and the loader's own fields: never passed to a service.
MARKERS = ("approx", "illustrative", "source")
STATUS_STEPS = {
    RelationshipStatus.PROPOSED: (),
    RelationshipStatus.AGREED: (RelationshipStatus.AGREED,),
    RelationshipStatus.EFFECTIVE: (RelationshipStatus.AGREED, RelationshipStatus.EFFECTIVE),
}


def _fields(rec: dict[str, Any], *drop: str) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in {*MARKERS, *drop}}


class ForceLoader:
    """Loads the force of a scenario for a `Loader` (its session, data, load day and counts)."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.session = loader.session
        self.keys: dict[str, int] = {}  # unit key -> lineage

    # --- helpers -------------------------------------------------------------------------------

    def _as(self, code: str, where: str) -> Principal:
        org = self.session.scalars(
            select(Organization).where(Organization.code == code.upper())
        ).first()
        if org is None:
            raise InvalidInput.field(where, f"unknown organization {code!r}")
        return Principal.system_operator(org.id, org.code)

    def _home(self) -> Principal:
        home = self.loader.home
        return Principal.system_operator(home.id, home.code)

    def _unit(self, key: Any, where: str) -> int:
        if key not in self.keys:
            raise InvalidInput.field(where, f"no unit with key {key!r} in units.toml")
        return self.keys[key]

    def _zone(self, name: Any, where: str) -> int:
        lineage = self.session.scalars(
            select(func.coalesce(Zone.lineage, Zone.id)).where(Zone.name == name)
        ).first()
        if lineage is None:
            raise InvalidInput.field(where, f"no zone named {name!r}")
        return int(lineage)

    def _pledge(self, ref: Any, where: str) -> Pledge:
        pledge = self.session.scalars(select(Pledge).where(Pledge.ref == ref)).first()
        if pledge is None:
            raise InvalidInput.field(where, f"unknown pledge {ref!r}")
        return pledge

    def _call(self, where: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """A service call whose refusal names the scenario record that caused it."""
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            raise InvalidInput.field(where, exc.detail) from None

    # --- units.toml ----------------------------------------------------------------------------

    def load_units(self) -> None:
        self._deployments()
        self._units()
        self._pledge_units()

    def _deployments(self) -> None:
        """An illustrative deployment of a pledge: its deployed date and the PCRS steps that
        made it ready. Known by the pledge: one deployed already is left as it is."""
        for where, rec in self.loader.records("units", "deployments"):
            pledge = self._pledge(rec.get("pledge"), f"{where}.pledge")
            if pledge.deployed_on is not None:
                continue
            owner = Principal.system_operator(pledge.owner_org_id)
            for i, step in enumerate(rec.get("readiness", [])):
                at = f"{where}.readiness[{i}]"
                body = parse_record(ReadinessChange, {**step, "version": pledge.version}, at)
                self._call(at, forces.change_readiness, self.session, owner, pledge.id, body)
            note = f"Deployment: {source_text(rec)}"
            changes = {
                "version": pledge.version,
                "deployed_on": rec.get("deployed_on"),
                "notes": f"{pledge.notes}\n{note}".strip(),
            }
            body = parse_record(PledgeUpdate, changes, where)
            self._call(where, forces.update_pledge, self.session, owner, pledge.id, body)
            self.loader.added["pledge deployments"] += 1

    def _units(self) -> None:
        """Headquarters and contingents, known by name."""
        for where, rec in self.loader.records("units"):
            key = rec.get("key")
            if not key or key in self.keys:
                raise InvalidInput.field(f"{where}.key", "each unit needs a key of its own")
            known = self.session.scalars(
                select(unit_lineage_col(Unit)).where(Unit.name == rec.get("name"))
            ).first()
            if known is not None:
                self.keys[key] = int(known)
                continue
            fields = _fields(rec, "key", "parent", "owner", "area")
            fields |= {"illustrative": bool(rec.get("illustrative")), "source": source_text(rec)}
            if "parent" in rec:
                fields["parent"] = self._unit(rec["parent"], f"{where}.parent")
            if "area" in rec:
                fields["area_zone"] = self._zone(rec["area"], f"{where}.area")
            body = parse_record(UnitCreate, fields, where)
            who = self._as(str(rec.get("owner", self.loader.home.code)), f"{where}.owner")
            unit = self._call(where, orbat.create_unit, self.session, who, body)
            self.keys[key] = unit.lineage_id
            self.loader.added["units"] += 1

    def _pledge_units(self) -> None:
        """A deployed pledge becomes units; known by the pledge (units made from it already)."""
        for where, rec in self.loader.records("units", "pledge_units"):
            pledge = self._pledge(rec.get("pledge"), f"{where}.pledge")
            keys = list(rec.get("keys", []))
            if len(keys) != pledge.units:
                raise InvalidInput.field(f"{where}.keys", f"give {pledge.units} keys, one per unit")
            made = list(
                self.session.scalars(
                    select(Unit)
                    .where(Unit.pledge_id == pledge.id, Unit.lineage.is_(None))
                    .order_by(Unit.id)
                )
            )
            if not made:
                fields = _fields(rec, "pledge", "keys")
                fields["parent"] = self._unit(rec.get("parent"), f"{where}.parent")
                body = parse_record(PledgeUnits, fields, where)
                made = self._call(
                    where, orbat.units_from_pledge, self.session, self._home(), pledge.id, body
                )
                for unit in made:  # the pledge's own source, and this record's
                    unit.illustrative = bool(rec.get("illustrative", True))
                    unit.source = source_text({**rec, "illustrative": unit.illustrative})
                self.session.flush()
                self.loader.added["units"] += len(made)
            for key, unit in zip(keys, made, strict=True):
                self.keys[key] = unit.lineage_id

    # --- command.toml --------------------------------------------------------------------------

    def load_command(self) -> None:
        self._relationships()
        self._areas()
        self._phases()

    def _relationships(self) -> None:
        """Known by unit, headquarters and kind."""
        for where, rec in self.loader.records("command", "relationships"):
            unit = self._unit(rec.get("unit"), f"{where}.unit")
            hq = self._unit(rec.get("headquarters"), f"{where}.headquarters")
            known = self.session.scalars(
                select(CommandRelationship.id).where(
                    CommandRelationship.unit_lineage == unit,
                    CommandRelationship.hq_lineage == hq,
                    CommandRelationship.kind == rec.get("kind"),
                )
            ).first()
            if known is not None:
                continue
            try:
                target = RelationshipStatus(rec.get("status", "proposed"))
                steps = STATUS_STEPS[target]
            except (ValueError, KeyError):
                raise InvalidInput.field(
                    f"{where}.status", "one of proposed, agreed, effective"
                ) from None
            notes = rec.get("notes", "")
            tagged = f"{notes} [{source_text(rec)}]".strip() if rec.get("source") else notes
            fields = {**_fields(rec, "status", "notes"), "unit": unit, "headquarters": hq}
            body = parse_record(RelationshipCreate, {**fields, "notes": tagged}, where)
            rel = self._call(where, relationships.propose, self.session, self._home(), body)
            for status in steps:
                step = RelationshipStep(version=rel.version, status=status)
                # The system steps for the nation (agreed) and for the force (effective).
                home = self._home()
                rel = self._call(where, relationships.step, self.session, home, rel.id, step)
            self.loader.added["command relationships"] += 1

    def _areas(self) -> None:
        """Known by headquarters and zone."""
        for where, rec in self.loader.records("command", "areas"):
            hq = self._unit(rec.get("headquarters"), f"{where}.headquarters")
            zone = self._zone(rec.get("zone"), f"{where}.zone")
            known = self.session.scalars(
                select(AreaAssignment.id).where(
                    AreaAssignment.hq_lineage == hq, AreaAssignment.zone_lineage == zone
                )
            ).first()
            if known is not None:
                continue
            fields = {**_fields(rec), "headquarters": hq, "zone": zone}
            fields["notes"] = source_text(rec)
            body = parse_record(AreaAssign, fields, where)
            self._call(where, areas.assign_area, self.session, self._home(), body)
            self.loader.added["area assignments"] += 1

    def _phases(self) -> None:
        """Known by number."""
        for where, rec in self.loader.records("command", "phases"):
            known = self.session.scalars(
                select(DeploymentPhase.id).where(DeploymentPhase.number == rec.get("number"))
            ).first()
            if known is not None:
                continue
            body = parse_record(PhaseCreate, {**_fields(rec), "source": source_text(rec)}, where)
            self._call(where, areas.create_phase, self.session, self._home(), body)
            self.loader.added["deployment phases"] += 1

    # --- tasks.toml ----------------------------------------------------------------------------

    def load_tasks(self) -> None:
        """Issued through the tasking service (its acceptance checks apply); known by title."""
        for where, rec in self.loader.records("tasks"):
            known = self.session.scalars(
                select(UnitTask.id).where(UnitTask.title == rec.get("title"))
            ).first()
            if known is not None:
                continue
            fields = _fields(rec, "steps")
            fields["unit"] = self._unit(rec.get("unit"), f"{where}.unit")
            fields["issuer"] = self._unit(rec.get("issuer"), f"{where}.issuer")
            if "zone" in rec:
                fields["zone"] = self._zone(rec["zone"], f"{where}.zone")
            if rec.get("illustrative"):
                fields["description"] = f"Illustrative. {fields.get('description', '')}".strip()
            body = parse_record(TaskCreate, fields, where)
            task = self._call(where, tasking.issue_task, self.session, self._home(), body)
            for i, step in enumerate(rec.get("steps", [])):
                at = f"{where}.steps[{i}]"
                change = parse_record(TaskStatusIn, {**step, "version": task.version}, at)
                nation = Principal.system_operator(self._unit_owner(task.unit_lineage))
                actor = nation if change.status is not TaskStatus.CANCELLED else self._home()
                task = self._call(at, tasking.set_status, self.session, actor, task.id, change)
            self.loader.added["tasks"] += 1

    def _unit_owner(self, lineage: int) -> int:
        unit = self.session.scalars(
            select(Unit).where(unit_lineage_col(Unit) == lineage).order_by(Unit.id)
        ).first()
        assert unit is not None
        return unit.owner_org_id

    # --- unit_reports.toml ---------------------------------------------------------------------

    def load_unit_reports(self) -> None:
        """Filed through the reporting service; known by unit, kind and remarks (the dates move
        with the load day and are no key)."""
        for where, rec in self.loader.records("unit_reports", "reports"):
            unit = self._unit(rec.get("unit"), f"{where}.unit")
            known = self.session.scalars(
                select(UnitReport.id).where(
                    UnitReport.unit_lineage == unit,
                    UnitReport.kind == rec.get("kind"),
                    UnitReport.remarks == rec.get("remarks", ""),
                )
            ).first()
            if known is not None:
                continue
            body = parse_record(ReportCreate, {**_fields(rec), "unit": unit}, where)
            nation = Principal.system_operator(self._unit_owner(unit))
            self._call(where, reports.file_report, self.session, nation, body)
            self.loader.added["unit reports"] += 1
