"""Load a scenario (a folder of TOML files, each fact with its source) through the services.

Loading is idempotent: records are keyed by their natural key (organization code, state
transition step and date, pledge and SUR reference, target name, fact key), and what is stored
already is left as it is. The whole scenario loads in one transaction: all or nothing.
Illustrative records may date themselves from the load day (`cmcc.scenarios.dates`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import OrgKind, Principal
from cmcc.access.models import Organization
from cmcc.access.service import org_by_code, resolve_marking, upsert_organization
from cmcc.core.clock import utcnow
from cmcc.core.errors import InvalidInput, NotFound
from cmcc.cot import devices
from cmcc.cot.devices import CotDevice
from cmcc.exercise.schemas import UnitSpec
from cmcc.forces import service as forces
from cmcc.forces.models import (
    Contribution,
    ForceTarget,
    Pledge,
    Requirement,
    State,
    StateTransition,
)
from cmcc.forces.schemas import (
    ContributionCreate,
    PledgeCreate,
    RequirementCreate,
    TargetCreate,
    TransitionCreate,
)
from cmcc.funding import flows as funding_flows
from cmcc.funding import projects as funding_projects
from cmcc.funding import service as funding_service
from cmcc.funding.models import Flow, Phase, Plan, Programme, Project
from cmcc.funding.schemas import (
    FlowCreate,
    PhaseCreate,
    PlanCreate,
    ProgrammeCreate,
    ProjectCreate,
)
from cmcc.geo.backend import backend_for
from cmcc.geo.geofence import GeofenceEngine
from cmcc.geo.geometry import BBox
from cmcc.hazards import records as hazard_records
from cmcc.hazards import service as hazard_service
from cmcc.hazards.models import EOSpotReport, HazardArea
from cmcc.hazards.schemas import HazardCreate, SpotCreate
from cmcc.incidents import service as incident_service
from cmcc.incidents.models import Incident
from cmcc.incidents.schemas import IncidentCreate
from cmcc.remains import service as search_service
from cmcc.remains.models import SearchTask
from cmcc.remains.schemas import GridCut
from cmcc.scenarios import dates, humanitarian_access
from cmcc.scenarios.folders import read_toml, scenario_dir
from cmcc.scenarios.force import ForceLoader
from cmcc.scenarios.humanitarian_aid import AidFlowLoader
from cmcc.scenarios.humanitarian_notifications import NotificationLoader
from cmcc.scenarios.models import ReportedFact
from cmcc.scenarios.parsing import parse_record as _parse
from cmcc.scenarios.parsing import source_text as _source
from cmcc.zones import service as zone_service
from cmcc.zones.models import Zone
from cmcc.zones.schemas import ZoneCreate

Progress = Callable[[str], None]
FILES = (
    "organizations",
    "states",
    "requirements",
    "targets",
    "pledges",
    "contributions",
    "facts",
    "zones",
    "incidents",
    "hazards",
    "search",
    "funding",
    "crossings",  # crossings, their status history and targets (cmcc.scenarios.humanitarian_aid)
    "aid_flow",
    "exercise",
    "units",  # the force (cmcc.scenarios.force): ORBAT, command, tasks, unit reports
    "command",
    "tasks",
    "unit_reports",
    "notifications",  # after the picture and the force: advisories (humanitarian_notifications)
    "access_constraints",  # cmcc.scenarios.humanitarian_access
)


def read_scenario(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in ("scenario", *FILES):
        geojson = folder / f"{name}.geojson"
        if geojson.exists():
            try:
                data[name] = json.loads(geojson.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise InvalidInput.field(geojson.name, f"not valid JSON: {exc}") from None
            continue
        data[name] = read_toml(folder / f"{name}.toml")
    return data


def _date(value: Any) -> dt.date | None:
    """A TOML date or an ISO date string."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _as(org: Organization) -> Principal:
    return Principal.system_operator(org.id, org.code)


class Loader:
    def __init__(
        self,
        session: Session,
        data: dict[str, Any],
        progress: Progress,
        *,
        aoi: BBox,
        fence: GeofenceEngine | None,
        day: dt.date,
    ) -> None:
        self.session = session
        self.data = data
        self.progress = progress
        self.aoi = aoi
        self.fence = fence
        self.day = day  # the load day: "D" of the illustrative records' relative dates
        self.home = org_by_code(session, "CMCC")
        self.added: Counter[str] = Counter()
        self.force = ForceLoader(self)
        self.aid = AidFlowLoader(self)

    def records(self, file: str, table: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """The `[[table]]` records of `file.toml` (`[[file]]` by default), each named as errors
        name it, with dates relative to the load day resolved."""
        table = table or file
        items = self.data.get(file, {}).get(table, [])
        name = f"{file}.toml" if table == file else f"{file}.toml {table}"
        return [
            (f"{name}[{i}]", dates.resolve_record(item, self.day, f"{name}[{i}]"))
            for i, item in enumerate(items)
        ]

    def run(self) -> Counter[str]:
        for step in FILES:
            self.progress(step)
            getattr(self, f"load_{step}")()
        return self.added

    def load_organizations(self) -> None:
        for where, rec in self.records("organizations"):
            try:
                kind = OrgKind(rec["kind"])
            except (KeyError, ValueError):
                raise InvalidInput.field(f"{where}.kind", "unknown organization kind") from None
            exists = self.session.scalars(
                select(Organization.id).where(Organization.code == rec["code"].upper())
            ).first()
            if exists is None:
                upsert_organization(
                    self.session,
                    rec["code"],
                    rec["name"],
                    kind,
                    is_member=rec.get("is_member", True),
                )
                self.added["organizations"] += 1

    def load_states(self) -> None:
        for where, rec in self.records("states"):
            state = self.session.scalars(select(State).where(State.iso3 == rec["iso3"])).first()
            if state is None:
                raise InvalidInput.field(f"{where}.iso3", f"unknown state {rec['iso3']!r}")
            done = {
                (t.to_status, t.date)
                for t in self.session.scalars(
                    select(StateTransition).where(StateTransition.state_id == state.id)
                )
            }
            for i, step in enumerate(rec.get("transitions", [])):
                body = _parse(TransitionCreate, self._clean(step), f"{where}.transitions[{i}]")
                if (body.to.value, body.date) in done:
                    continue
                forces.transition_state(self.session, _as(self.home), state.iso3, body)
                self.added["state transitions"] += 1
            if "releasability" in rec:
                marking = resolve_marking(self.session, rec["releasability"])
                if state.marking != marking:
                    state.marking = marking

    def load_requirements(self) -> None:
        for where, rec in self.records("requirements"):
            if self._exists(Requirement.code, rec.get("code")):
                continue
            body = _parse(RequirementCreate, self._clean(rec), where)
            forces.create_requirement(self.session, _as(self.home), body)
            self.added["requirements"] += 1

    def load_targets(self) -> None:
        for where, rec in self.records("targets"):
            if self._exists(ForceTarget.name, rec.get("name")):
                continue
            forces.create_target(
                self.session, _as(self.home), _parse(TargetCreate, self._clean(rec), where)
            )
            self.added["targets"] += 1

    def load_pledges(self) -> None:
        for where, rec in self.records("pledges"):
            if self._exists(Pledge.ref, rec.get("ref")):
                continue
            fields = self._clean(rec, drop=("requirement",))
            body = _parse(PledgeCreate, fields, where)
            owner = self._nation_or_home(body.state)
            pledge = forces.create_pledge(self.session, _as(owner), body)
            self.added["pledges"] += 1
            if rec.get("requirement"):
                req = self.session.scalars(
                    select(Requirement).where(Requirement.code == rec["requirement"])
                ).first()
                if req is None:
                    raise InvalidInput.field(
                        f"{where}.requirement", f"unknown SUR {rec['requirement']!r}"
                    )
                forces.match_pledge(self.session, _as(self.home), req.id, pledge.id)

    def load_contributions(self) -> None:
        for where, rec in self.records("contributions"):
            if not rec.get("ref"):
                raise InvalidInput.field(f"{where}.ref", "a scenario contribution needs a ref")
            if self._exists(Contribution.ref, rec["ref"]):
                continue
            body = _parse(ContributionCreate, self._clean(rec), where)
            forces.create_contribution(self.session, _as(self._nation_or_home(body.state)), body)
            self.added["contributions"] += 1

    def load_facts(self) -> None:
        scenario = self.data.get("scenario", {}).get("name", "")
        for where, rec in self.records("facts"):
            if self._exists(ReportedFact.key, rec.get("key")):
                continue
            try:
                fact = ReportedFact(
                    key=rec["key"],
                    scenario=scenario,
                    topic=rec["topic"],
                    statement=rec["statement"],
                    value=Decimal(str(rec["value"])) if rec.get("value") is not None else None,
                    unit=rec.get("unit", ""),
                    as_of=_date(rec.get("as_of")),
                    source=_source(rec),
                    approx=bool(rec.get("approx", False)),
                    owner_org_id=self.home.id,
                )
            except (KeyError, ValueError) as exc:
                raise InvalidInput.field(where, f"bad fact: {exc}") from None
            fact.marking = resolve_marking(self.session, rec.get("releasability", "public"))
            self.session.add(fact)
            self.added["facts"] += 1
        self.session.flush()

    def load_zones(self) -> None:
        """zones.geojson: a FeatureCollection; a zone is known by its name and kind."""
        for i, feature in enumerate(self.data.get("zones", {}).get("features", [])):
            where = f"zones.geojson features[{i}]"
            props = dict(feature.get("properties") or {})
            known = self.session.scalars(
                select(Zone.id).where(
                    Zone.name == props.get("name"), Zone.kind == props.get("kind")
                )
            ).first()
            if known is not None:
                continue
            fields = self._clean(props, drop=("key",))
            body = _parse(ZoneCreate, {**fields, "geometry": feature.get("geometry")}, where)
            zone_service.create_zone(
                self.session,
                _as(self.home),
                body,
                aoi=self.aoi,
                fence=self.fence,
                field=f"{where}.geometry",
            )
            self.added["zones"] += 1

    def load_incidents(self) -> None:
        # The zones of this load are flushed but not committed: check against an engine filled
        # inside this transaction (the platform's engine learns them after the commit).
        local = GeofenceEngine()
        zone_service.load_fence(self.session, local)
        for where, rec in self.records("incidents"):
            if self._exists(Incident.external_ref, rec.get("external_ref")):
                continue
            body = _parse(IncidentCreate, self._clean(rec), where)
            incident_service.create_incident(
                self.session,
                _as(self.home),
                body,
                aoi=self.aoi,
                fence=local,
                bus=None,
                field=f"{where}.geometry",
            )
            self.added["incidents"] += 1

    def load_hazards(self) -> None:
        """hazards.toml: `[[hazards]]` known by name, `[[eo_spots]]` known by found_at and
        description, whose `hazard` names a hazard of the file. These records have no `source`
        field: an illustrative record says so in its description."""
        refs: dict[str, str] = {}
        for where, rec in self.records("hazards"):
            hazard = self.session.scalars(
                select(HazardArea).where(HazardArea.name == rec.get("name"))
            ).first()
            if hazard is None:
                body = _parse(HazardCreate, self._unsourced(rec), where)
                hazard = hazard_service.create_hazard(
                    self.session, _as(self.home), body, aoi=self.aoi
                )
                self.added["hazards"] += 1
            refs[hazard.name] = hazard.ref
        raw_spots = self.data.get("hazards", {}).get("eo_spots", [])
        for (where, rec), raw in zip(self.records("hazards", "eo_spots"), raw_spots, strict=True):
            fields = self._unsourced(rec)
            if "hazard" in fields:
                if fields["hazard"] not in refs:
                    raise InvalidInput.field(f"{where}.hazard", "no hazard of this name")
                fields["hazard"] = refs[fields["hazard"]]
            body = _parse(SpotCreate, fields, where)
            known = select(EOSpotReport.id).where(EOSpotReport.description == body.description)
            if not dates.is_relative(raw.get("found_at")):  # a moving date is no key
                known = known.where(EOSpotReport.found_at == body.found_at)
            if self.session.scalars(known).first() is not None:
                continue
            hazard_records.create_spot(self.session, _as(self.home), body, aoi=self.aoi)
            self.added["eo_spots"] += 1

    def load_search(self) -> None:
        """search.toml: `[[grids]]`, each cut into search sectors; known by the grid name."""
        for where, rec in self.records("search", "grids"):
            if self._exists(SearchTask.grid, rec.get("grid")):
                continue
            body = _parse(GridCut, self._unsourced(rec), where)
            spatial = backend_for(self.session.get_bind())
            _grid, tasks = search_service.cut_grid(
                self.session, _as(self.home), spatial, body, aoi=self.aoi
            )
            self.added["search_tasks"] += len(tasks)

    def load_funding(self) -> None:
        """funding.toml: `[[plans]]`, `[[phases]]` (`plan` = its code), `[[programmes]]` and
        `[[projects]]` (`plan`, `phase` number, `dac_code`), `[[flows]]` (the same, `project` =
        its IATI identifier, `fulfils` = another flow's `key`). A flow is known by its `key`,
        kept in its `source`."""
        who = _as(self.home)

        def rows(name: str) -> list[tuple[str, dict[str, Any]]]:
            return self.records("funding", name)

        def one(stmt: Any, where: str, what: str) -> Any:
            found = self.session.scalars(stmt).first()
            if found is None:
                raise InvalidInput.field(where, f"no {what} of this scenario matches")
            return found

        def phase_of(rec: dict[str, Any], where: str) -> Phase:
            plan = one(select(Plan).where(Plan.code == rec.get("plan")), f"{where}.plan", "plan")
            phase: Phase = one(
                select(Phase).where(Phase.plan_id == plan.id, Phase.number == rec.get("phase")),
                f"{where}.phase",
                "phase",
            )
            return phase

        def programme_of(rec: dict[str, Any], where: str) -> Programme:
            phase = phase_of(rec, where)
            programme: Programme = one(
                select(Programme).where(
                    Programme.phase_id == phase.id, Programme.dac_code == rec.get("dac_code")
                ),
                f"{where}.dac_code",
                "programme",
            )
            return programme

        for where, rec in rows("plans"):
            if not self._exists(Plan.code, rec.get("code")):
                funding_service.create_plan(
                    self.session, who, _parse(PlanCreate, self._clean(rec), where)
                )
                self.added["plans"] += 1
        for where, rec in rows("phases"):
            plan = one(select(Plan).where(Plan.code == rec.get("plan")), f"{where}.plan", "plan")
            known = select(Phase.id).where(
                Phase.plan_id == plan.id, Phase.number == rec.get("number")
            )
            if self.session.scalars(known).first() is None:
                fields = {**self._unsourced(rec), "plan_id": plan.id}
                del fields["plan"]
                funding_service.create_phase(self.session, who, _parse(PhaseCreate, fields, where))
                self.added["phases"] += 1
        for where, rec in rows("programmes"):
            phase = phase_of(rec, where)
            known = select(Programme.id).where(
                Programme.phase_id == phase.id, Programme.dac_code == rec.get("dac_code")
            )
            if self.session.scalars(known).first() is None:
                fields = {
                    k: v for k, v in self._unsourced(rec).items() if k not in {"plan", "phase"}
                }
                body = _parse(ProgrammeCreate, {**fields, "phase_id": phase.id}, where)
                funding_service.create_programme(self.session, who, body)
                self.added["programmes"] += 1
        for where, rec in rows("projects"):
            if self._exists(Project.iati_identifier, rec.get("iati_identifier")):
                continue
            programme = programme_of(rec, where)
            drop = {"plan", "phase", "dac_code"}
            fields = {k: v for k, v in self._unsourced(rec).items() if k not in drop}
            body = _parse(ProjectCreate, {**fields, "programme_id": programme.id}, where)
            funding_projects.create_project(self.session, who, body, aoi=self.aoi)
            self.added["projects"] += 1
        keys: dict[str, int] = {}
        for where, rec in rows("flows"):
            key = rec.get("key")
            if not key:
                raise InvalidInput.field(f"{where}.key", "required: the flow's natural key")
            source = _source({**rec, "source": f"scenario flow {key}"})
            current = select(Flow).where(Flow.source == source, Flow.is_current.is_(True))
            stored = self.session.scalars(current).first()
            if stored is not None:
                keys[key] = stored.id
                continue
            drop = {"key", "fulfils", "plan", "phase", "dac_code", "project"}
            fields = {k: v for k, v in self._unsourced(rec).items() if k not in drop}
            fields["source"] = source
            if "fulfils" in rec:
                if rec["fulfils"] not in keys:
                    raise InvalidInput.field(f"{where}.fulfils", "no earlier flow has this key")
                fields["fulfils_id"] = keys[rec["fulfils"]]
            if "project" in rec:
                fields["project_id"] = one(
                    select(Project.id).where(Project.iati_identifier == rec["project"]),
                    f"{where}.project",
                    "project",
                )
            elif "dac_code" in rec:
                fields["programme_id"] = programme_of(rec, where).id
            elif "phase" in rec:
                fields["phase_id"] = phase_of(rec, where).id
            else:
                plan = select(Plan.id).where(Plan.code == rec.get("plan"))
                fields["plan_id"] = one(plan, f"{where}.plan", "plan")
            flow = funding_flows.create_flow(self.session, who, _parse(FlowCreate, fields, where))
            keys[key] = flow.id
            self.added["flows"] += 1

    def load_crossings(self) -> None:
        self.aid.load_crossings()

    def load_aid_flow(self) -> None:
        self.aid.load_aid_flow()

    def load_exercise(self) -> None:
        """exercise.toml: the `[[units]]` of the exercise script become TAK devices of their
        contingents (known by uid); its injects are for the exercise driver, not stored."""
        for where, rec in self.records("exercise", "units"):
            if self._exists(CotDevice.uid, rec.get("uid")):
                continue
            unit: UnitSpec = _parse(UnitSpec, rec, where)
            try:
                devices.register(
                    self.session,
                    unit.uid,
                    unit.org,
                    callsign=unit.callsign,
                    pledge_ref=unit.pledge,
                    releasability=unit.releasability,
                )
            except (InvalidInput, NotFound) as exc:
                raise InvalidInput.field(where, exc.detail) from None
            self.added["TAK devices"] += 1

    def load_units(self) -> None:
        self.force.load_units()

    def load_command(self) -> None:
        self.force.load_command()

    def load_tasks(self) -> None:
        self.force.load_tasks()

    def load_unit_reports(self) -> None:
        self.force.load_unit_reports()

    def load_notifications(self) -> None:
        NotificationLoader(self).load()

    def load_access_constraints(self) -> None:
        humanitarian_access.load_access_constraints(self)

    def _exists(self, column: Any, value: Any) -> bool:
        return (
            value is not None
            and self.session.scalars(select(column).where(column == value)).first() is not None
        )

    def _nation_or_home(self, iso3: str) -> Organization:
        org = self.session.scalars(select(Organization).where(Organization.code == iso3)).first()
        return org or self.home

    @staticmethod
    def _unsourced(rec: dict[str, Any]) -> dict[str, Any]:
        """For records without a `source` field: the markers are dropped (the record's text
        says it is illustrative)."""
        return {k: v for k, v in rec.items() if k not in {"approx", "illustrative", "source"}}

    @staticmethod
    def _clean(rec: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
        out = {k: v for k, v in rec.items() if k not in {"approx", "illustrative", *drop}}
        if "source" in rec or rec.get("approx") or rec.get("illustrative"):
            out["source"] = _source(rec)
        return out


def load_scenario(
    session: Session,
    name_or_path: str,
    progress: Progress = lambda _step: None,
    *,
    aoi: BBox,
    fence: GeofenceEngine | None = None,
    day: dt.date | None = None,
) -> Counter[str]:
    """Load into an open write session (the caller's unit of work commits or rolls back).
    Incidents inside protected zones raise their alerts as any incident does. `day` is the
    load day from which illustrative records' relative dates count (default: today, UTC)."""
    session.info["actor"] = f"scenario:{name_or_path}"
    data = read_scenario(scenario_dir(name_or_path))
    day = day or utcnow().date()
    return Loader(session, data, progress, aoi=aoi, fence=fence, day=day).run()
