"""IATI 2.03 activity XML of the reconstruction plan, written with lxml (never by hand).

One `iati-activity` per plan (hierarchy 1), per phase (hierarchy 2, child of its plan) and per
project (hierarchy 3, child of its phase), linked both ways with `related-activity` (type 1
parent, 2 child) to the nearest ancestor the caller may see. Programmes are not activities:
their DAC codes are the sectors of the phases and plans, and each project's sector. Current
flows become transactions (codes: `iati_codes`). The file is streamed activity by activity and
flows are read in chunks, so memory stays small whatever the number of flows.

Every export validates against the official 2.03 schema (tests/integration/
test_funding_exports.py; docs/modules/funding.md says how to check a file by hand).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree
from shapely.geometry import Point
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.core.clock import utcnow
from cmcc.core.errors import NotFound
from cmcc.funding.dac import dac_name
from cmcc.funding.domain import FlowStatus, ProjectStatus
from cmcc.funding.exports import iati_codes as codes
from cmcc.funding.exports.selection import (
    ActivityKey,
    Selection,
    flow_chunks,
    organizations,
)
from cmcc.funding.models import Flow, Phase, Plan, Project

XML_NS = "http://www.w3.org/XML/1998/namespace"
LANG = f"{{{XML_NS}}}lang"
HIERARCHY = {"plan": "1", "phase": "2", "project": "3"}
Record = Plan | Phase | Project
IDS_PER_QUERY = 500  # flows fetched by id, this many per query


class _Sink:
    """Collects what lxml writes, for the caller to take as the next piece of the stream."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


@dataclass
class _Flows:
    """Pass one over the flows: which activity each belongs to, and its donors."""

    ids: dict[ActivityKey, list[int]] = field(default_factory=dict)
    donors: dict[ActivityKey, set[int]] = field(default_factory=dict)


def _place_flows(session: Session, sel: Selection) -> _Flows:
    stmt = sel.flows().with_only_columns(
        Flow.id, Flow.donor_org_id, Flow.plan_id, Flow.phase_id, Flow.programme_id, Flow.project_id
    )
    placed = _Flows()
    for flow_id, donor, plan, phase, programme, project in session.execute(stmt):
        key = sel.destination(plan, phase, programme, project)
        if key is None:
            continue  # the caller sees none of the flow's destinations: no activity to hold it
        placed.ids.setdefault(key, []).append(flow_id)
        placed.donors.setdefault(key, set()).add(donor)
    return placed


XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""What XML cannot carry: a record stored with one (before the API refused them) would stop the
export halfway (found by the API fuzz); it is written as U+FFFD."""


def _narrative(parent: etree._Element, text: str) -> None:
    etree.SubElement(parent, "narrative").text = XML_UNSAFE.sub("\ufffd", text)


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """An element holding one English narrative."""
    element = etree.SubElement(parent, tag)
    _narrative(element, text)
    return element


def _org(parent: etree._Element, tag: str, org: Organization, **attrs: str) -> etree._Element:
    """An organisation (ref: its code in the platform; type: from its kind) with its name.
    `attrs` uses underscores for hyphens (provider_activity_id=...)."""
    attrib = {"ref": org.code, "type": codes.org_type(org.kind)}
    attrib.update({k.replace("_", "-"): v for k, v in attrs.items()})
    element = etree.SubElement(parent, tag, attrib)
    _narrative(element, org.name)
    return element


class _Writer:
    def __init__(self, session: Session, sel: Selection) -> None:
        self.session, self.sel = session, sel
        self.today = utcnow().date()
        self.placed = _place_flows(session, sel)
        owners = [r.owner_org_id for r in self._records()]
        implementers = [p.implementing_org_id for p in sel.projects.values()]
        donors = [d for ds in self.placed.donors.values() for d in ds]
        self.orgs = organizations(session, [*owners, *implementers, *donors])
        self.kids: dict[ActivityKey, list[ActivityKey]] = {}
        for key in sel.activity_keys():
            parent = sel.parent(key)
            if parent is not None:
                self.kids.setdefault(parent, []).append(key)

    def _records(self) -> Iterator[Record]:
        yield from self.sel.plans.values()
        yield from self.sel.phases.values()
        yield from self.sel.projects.values()

    def record(self, key: ActivityKey) -> Record:
        level, record_id = key
        if level == "plan":
            return self.sel.plans[record_id]
        if level == "phase":
            return self.sel.phases[record_id]
        return self.sel.projects[record_id]

    def reporter(self, key: ActivityKey) -> Organization:
        """The plan's owner reports the whole tree; the record's own owner if the caller does
        not see the plan."""
        plan_key = key
        while plan_key[0] != "plan":
            parent = self.sel.parent(plan_key)
            if parent is None:
                return self.orgs[self.record(key).owner_org_id]
            plan_key = parent
        return self.orgs[self.sel.plans[plan_key[1]].owner_org_id]

    # --- the elements before the transactions, in schema order -----------------------------

    def head(self, key: ActivityKey) -> list[etree._Element]:
        record = self.record(key)
        root = etree.Element("head")
        etree.SubElement(root, "iati-identifier").text = record.iati_identifier
        reporter = self.reporter(key)
        _org(root, "reporting-org", reporter)
        _text(root, "title", record.title)
        _text(root, "description", self._description(key)).set("type", "1")
        _org(root, "participating-org", reporter, role=codes.ROLE_ACCOUNTABLE)
        for donor in sorted(self.placed.donors.get(key, ())):
            _org(root, "participating-org", self.orgs[donor], role=codes.ROLE_FUNDING)
        if isinstance(record, Project):
            implementer = self.orgs[record.implementing_org_id]
            _org(root, "participating-org", implementer, role=codes.ROLE_IMPLEMENTING)
        etree.SubElement(root, "activity-status", code=self._status(record))
        period = self._period(record)
        for date_type, day, note in self._dates(record, period):
            date = etree.SubElement(
                root, "activity-date", {"type": date_type, "iso-date": day.isoformat()}
            )
            if note:
                _narrative(date, note)
        etree.SubElement(root, "recipient-country", code=codes.RECIPIENT_COUNTRY)
        if isinstance(record, Project):
            self._location(root, record)
        for code, share in self._sectors(key):
            sector = etree.SubElement(
                root,
                "sector",
                vocabulary=codes.SECTOR_VOCABULARY_DAC,
                code=code,
                percentage=str(share),
            )
            etree.SubElement(sector, "narrative").text = dac_name(code) or code
        if period is not None:
            budget = etree.SubElement(
                root, "budget", type=codes.BUDGET_ORIGINAL, status=codes.BUDGET_INDICATIVE
            )
            etree.SubElement(budget, "period-start", {"iso-date": period[0].isoformat()})
            etree.SubElement(budget, "period-end", {"iso-date": period[1].isoformat()})
            value = etree.SubElement(
                budget, "value", {"currency": "USD", "value-date": period[0].isoformat()}
            )
            value.text = codes.amount_text(record.budget_usd)
        return list(root)

    def _description(self, key: ActivityKey) -> str:
        record = self.record(key)
        if isinstance(record, Phase):
            plan = self.sel.plans.get(record.plan_id)
            of = f" of {plan.title}" if plan is not None else ""
            return (
                f"Phase {record.number}{of}: {record.title}, "
                f"{record.start_date.isoformat()} to {record.end_date.isoformat()}"
            )
        return record.description or record.title

    def _status(self, record: Record) -> str:
        if isinstance(record, Project):
            return codes.PROJECT_STATUS[ProjectStatus(record.status)]
        return codes.period_status(record.start_date, record.end_date, self.today)

    def _period(self, record: Record) -> tuple[dt.date, dt.date] | None:
        """The activity's period (for its budget): planned dates, or its phase's period."""
        if not isinstance(record, Project):
            return (record.start_date, record.end_date)
        start = record.planned_start or record.actual_start
        end = record.planned_end or record.actual_end
        if start is not None and end is not None and end >= start:
            return (start, end)
        phase = self.sel.phase_record(self.sel.phase_of(record.id))
        return (phase.start_date, phase.end_date) if phase is not None else None

    def _dates(
        self, record: Record, period: tuple[dt.date, dt.date] | None
    ) -> list[tuple[str, dt.date, str]]:
        if not isinstance(record, Project):
            return [
                (codes.PLANNED_START, record.start_date, ""),
                (codes.PLANNED_END, record.end_date, ""),
            ]
        given = [
            (code, day, "")
            for code, day in (
                (codes.PLANNED_START, record.planned_start),
                (codes.ACTUAL_START, record.actual_start),
                (codes.PLANNED_END, record.planned_end),
                (codes.ACTUAL_END, record.actual_end),
            )
            if day is not None
        ]
        if given:
            return given
        if period is not None:  # no date of its own: its phase's period
            note = "period of the phase; the project has no planned dates yet"
            return [(codes.PLANNED_START, period[0], note), (codes.PLANNED_END, period[1], note)]
        note = "date the project was recorded; it has no planned dates yet"
        return [(codes.PLANNED_START, record.created_at.date(), note)]

    def _location(self, root: etree._Element, project: Project) -> None:
        geometry = project.geometry
        exact = isinstance(geometry, Point)
        point = geometry if isinstance(geometry, Point) else geometry.representative_point()
        location = etree.SubElement(root, "location", ref=f"{project.iati_identifier}-L1")
        etree.SubElement(location, "location-reach", code=codes.REACH_ACTIVITY)
        if project.adm1:
            _text(location, "name", project.adm1)
        where = "the project's site" if exact else "a point inside the project's area"
        _text(location, "description", where)
        pos = etree.SubElement(etree.SubElement(location, "point", srsName=codes.WGS84), "pos")
        pos.text = f"{point.y:.6f} {point.x:.6f}"  # IATI: latitude first
        exactness = codes.EXACT if exact else codes.APPROXIMATE
        etree.SubElement(location, "exactness", code=exactness)

    def _sectors(self, key: ActivityKey) -> list[tuple[str, Decimal]]:
        level, record_id = key
        sel = self.sel
        if level == "project":
            programme = sel.programme_of(sel.projects[record_id])
            return [(programme.dac_code, Decimal(100))] if programme is not None else []
        if level == "phase":
            members = [g for g in sel.programmes.values() if g.phase_id == record_id]
        else:
            phases = {p for p, plan in sel.phase_plan.items() if plan == record_id}
            members = [g for g in sel.programmes.values() if g.phase_id in phases]
        return codes.sector_shares((g.dac_code, g.budget_usd) for g in members)

    # --- transactions and links ------------------------------------------------------------

    def transactions(self, key: ActivityKey) -> Iterator[list[etree._Element]]:
        ids = self.placed.ids.get(key, [])
        reporter = self.reporter(key)
        activity_id = self.record(key).iati_identifier
        project = self.sel.projects.get(key[1]) if key[0] == "project" else None
        for start in range(0, len(ids), IDS_PER_QUERY):
            stmt = self.sel.flows(Flow.id.in_(ids[start : start + IDS_PER_QUERY]))
            for flows in flow_chunks(self.session, stmt):
                out = []
                for flow in flows:
                    donor = self.orgs[flow.donor_org_id]
                    status = FlowStatus(flow.status)
                    out.append(
                        _transaction(flow, codes.INCOMING[status], donor, reporter, activity_id)
                    )
                    if project is not None:
                        implementer = self.orgs[project.implementing_org_id]
                        out.append(
                            _transaction(
                                flow, codes.OUTGOING[status], reporter, implementer, activity_id
                            )
                        )
                yield out

    def related(self, key: ActivityKey) -> list[etree._Element]:
        out = []
        parent = self.sel.parent(key)
        if parent is not None:
            ref = self.record(parent).iati_identifier
            out.append(etree.Element("related-activity", ref=ref, type=codes.RELATED_PARENT))
        for child in self.kids.get(key, []):
            ref = self.record(child).iati_identifier
            out.append(etree.Element("related-activity", ref=ref, type=codes.RELATED_CHILD))
        return out


def _transaction(
    flow: Flow, code: str, provider: Organization, receiver: Organization, activity_id: str
) -> etree._Element:
    """One transaction. Incoming (13, 11, 1): from the donor to the reporter; outgoing
    (12, 2, 3): from the reporter to the project's implementing organization."""
    lineage = flow.lineage_id or flow.id
    outgoing = code in codes.OUTGOING.values()
    element = etree.Element("transaction", ref=f"flow-{lineage}-v{flow.version_no}-{code}")
    etree.SubElement(element, "transaction-type", code=code)
    etree.SubElement(element, "transaction-date", {"iso-date": flow.flow_date.isoformat()})
    value = etree.SubElement(
        element, "value", {"currency": flow.currency, "value-date": flow.rate_date.isoformat()}
    )
    value.text = codes.amount_text(flow.amount)
    if flow.notes:
        _text(element, "description", flow.notes)
    if outgoing:
        _org(element, "provider-org", provider, provider_activity_id=activity_id)
        _org(element, "receiver-org", receiver)
    else:
        _org(element, "provider-org", provider)
        _org(element, "receiver-org", receiver, receiver_activity_id=activity_id)
    return element


def check_not_empty(sel: Selection) -> None:
    """An IATI file holds at least one activity: NotFound if the caller sees none."""
    if not (sel.plans or sel.phases or sel.projects):
        raise NotFound("no plan, phase or project of the reconstruction plan is released to you")


def iati_bytes(session: Session, sel: Selection) -> Iterator[bytes]:
    """The `iati-activities` file, a piece per activity or per chunk of transactions."""
    check_not_empty(sel)
    writer = _Writer(session, sel)
    sink = _Sink()
    generated = utcnow().replace(microsecond=0).isoformat()
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(
            "iati-activities", {"version": codes.VERSION, "generated-datetime": generated}
        ):
            for key in sel.activity_keys():
                record = writer.record(key)
                attrib = {
                    LANG: "en",
                    "default-currency": "USD",
                    "hierarchy": HIERARCHY[key[0]],
                    "last-updated-datetime": record.updated_at.replace(microsecond=0).isoformat(),
                }
                with xf.element("iati-activity", attrib, nsmap={"xml": XML_NS}):
                    for element in writer.head(key):
                        xf.write(element)
                    for chunk in writer.transactions(key):
                        for element in chunk:
                            xf.write(element)
                        xf.flush()
                        yield sink.take()
                    for element in writer.related(key):
                        xf.write(element)
                xf.flush()
                yield sink.take()
    yield sink.take()
