"""The daily SITREP, on both backends: its figures read back from the PDF (pdftotext), the
report for one nation holding nothing released only to the other, tips as counts only, the
archive and its audit, the schedule, and the API's permissions."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cmcc.access.domain import Principal, Role
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.command import sitrep_schedule, sitrep_service
from cmcc.command.models import Sitrep
from cmcc.command.sitrep_service import SitrepFormat
from tests.factories import caller, org
from tests.integration.sitrep_data import TIP_PLACE, TIP_TEXT, A, B, Nation, seed

DAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)


def pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "sitrep.pdf"
    path.write_bytes(content)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    return re.sub(r"[ \t]+", " ", out.stdout)


@pytest.fixture
def seeded(platform: Platform) -> Platform:
    for nation in (A, B):
        org(platform, nation.code)
    seed(platform, DAY)
    return platform


def report(platform: Platform, code: str, fmt: SitrepFormat) -> bytes:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return sitrep_service.generate(s, code, DAY, fmt, 3.0).content


def _own_figures(text: str, me: Nation) -> None:
    assert f"Incidents total: {me.incidents + 1}." in text  # its own and the mission-wide one
    assert "Tasks of the period: 1; refused by the nation: 1." in text
    assert me.task in text and me.reason in text
    assert me.unit in text
    assert re.search(rf"Tips received \(counted only\) {me.tips}\b", text)
    assert re.search(rf"\b{me.present}\b", text)  # present strength


def _nothing_of(text: str, other: Nation) -> None:
    for secret in (other.unit, other.task, other.reason, TIP_TEXT, TIP_PLACE):
        assert secret not in text
    assert not re.search(rf"\b{other.present}\b", text)


def test_pdf_has_the_period_figures_and_nothing_of_the_other_nation(
    seeded: Platform, tmp_path: Path
) -> None:
    for me, other in ((A, B), (B, A)):
        text = pdf_text(report(seeded, me.code, SitrepFormat.PDF), tmp_path)
        assert f"SITREP {DAY.isoformat()}" in text
        _own_figures(text, me)
        _nothing_of(text, other)
        assert re.search(r"Unit reports \(PERSTAT / LOGSTAT\) 1 ?/ ?0", text)


def test_html_is_self_contained_and_release_filtered(seeded: Platform) -> None:
    for me, other in ((A, B), (B, A)):
        html = report(seeded, me.code, SitrepFormat.HTML).decode()
        assert f'data-figure="incidents">{me.incidents + 1}<' in html
        assert f'data-figure="tips">{me.tips}<' in html
        assert f'data-nation="{me.code}"' in html and f'data-nation="{other.code}"' not in html
        for secret in (other.unit, other.task, other.reason, TIP_TEXT, TIP_PLACE):
            assert secret not in html
        assert f">{other.present}<" not in html
        # air-gapped: nothing is loaded from anywhere
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
        assert "<link" not in html and "<script" not in html and "@import" not in html
        assert "<svg" in html and 'id="sitrep-map"' in html
        assert '<path class="incidents"' in html and '<path class="units"' in html


def test_issue_and_archive_through_the_api(seeded: Platform, client: TestClient) -> None:
    idn = caller(seeded, A.code, Role.LIAISON_OFFICER)
    aze = caller(seeded, B.code, Role.STAFF_OFFICER)
    donor = caller(seeded, A.code, Role.DONOR)

    refused = client.get("/api/v1/sitrep", params={"date": DAY.isoformat()}, headers=donor.headers)
    assert refused.status_code == 403
    assert client.get("/api/v1/sitrep").status_code == 401
    bad = client.get("/api/v1/sitrep", params={"date": "2026-13-01"}, headers=idn.headers)
    assert bad.status_code == 422 and "date" in bad.text
    future = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)).isoformat()
    late = client.get("/api/v1/sitrep", params={"date": future}, headers=idn.headers)
    assert late.status_code == 422 and "query.date" in late.text
    fmt = client.get("/api/v1/sitrep", params={"format": "docx"}, headers=idn.headers)
    assert fmt.status_code == 422 and "format" in fmt.text

    got = client.get(
        "/api/v1/sitrep", params={"date": DAY.isoformat(), "format": "pdf"}, headers=idn.headers
    )
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/pdf"
    assert got.content.startswith(b"%PDF")
    idn_id = int(got.headers["x-sitrep-id"])
    html = client.get("/api/v1/sitrep", params={"date": DAY.isoformat()}, headers=aze.headers)
    assert html.status_code == 200 and B.unit in html.text and A.unit not in html.text
    aze_id = int(html.headers["x-sitrep-id"])

    listed = client.get("/api/v1/sitreps", headers=idn.headers).json()
    assert [r["id"] for r in listed["data"]] == [idn_id] and listed["count"] == 1
    assert listed["data"][0]["audience"] == A.code
    assert listed["data"][0]["owner"] == A.code and listed["data"][0]["releasability"] == "owner"
    other = client.get("/api/v1/sitreps", headers=aze.headers).json()
    assert [r["id"] for r in other["data"]] == [aze_id]
    assert client.get("/api/v1/sitreps").json()["count"] == 0  # anonymous: nothing

    assert client.get(f"/api/v1/sitreps/{idn_id}", headers=aze.headers).status_code == 404
    down = client.get(f"/api/v1/sitreps/{idn_id}", headers=idn.headers)
    assert down.status_code == 200 and down.content == got.content
    assert down.headers["x-content-sha256"] == hashlib.sha256(got.content).hexdigest()

    with seeded.unit_of_work(Principal.system_operator()) as s:
        row = s.get(Sitrep, idn_id)
        assert row is not None and row.sha256 == hashlib.sha256(row.content).hexdigest()
        entry = s.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "sitreps", AuditEntry.record_id == str(idn_id)
            )
        ).one()
        assert entry.action == "create" and entry.actor == f"{idn.username}@{A.code}"
        assert f'"audience":"{A.code}"' in entry.changes.replace(" ", "")
        assert row.sha256 in entry.changes and '"content":"<redacted>"' in entry.changes.replace(
            " ", ""
        )


def test_schedule_issues_once_per_day_and_audience(seeded: Platform) -> None:
    seeded.settings = seeded.settings.model_copy(
        update={"sitrep_time": "06:00", "sitrep_orgs": (A.code, B.code)}
    )
    day_after = DAY + dt.timedelta(days=1)
    early = dt.datetime.combine(day_after, dt.time(5, 59), tzinfo=dt.UTC)
    assert sitrep_schedule.issue_due(seeded, early) == []
    now = dt.datetime.combine(day_after, dt.time(6, 30), tzinfo=dt.UTC)
    assert sitrep_schedule.issue_due(seeded, now) == [A.code, B.code]
    assert sitrep_schedule.issue_due(seeded, now + dt.timedelta(hours=1)) == []  # not twice
    with seeded.unit_of_work(Principal.system_operator()) as s:
        rows = s.scalars(select(Sitrep).order_by(Sitrep.id)).all()
        assert [(r.audience, r.report_date, r.format, r.scheduled) for r in rows] == [
            (A.code, DAY, "pdf", True),
            (B.code, DAY, "pdf", True),
        ]
        assert [r.owner_code for r in rows] == [A.code, B.code]
        assert all(r.marking_text == "owner" for r in rows)


def test_cli_writes_the_report_for_an_organization(seeded: Platform, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cmcc.cli import app

    if seeded.settings.database_url:
        env = {"CMCC_DATABASE_URL": seeded.settings.database_url}
    else:
        env = {"CMCC_HOME": str(seeded.settings.home)}
    out = tmp_path / "a.pdf"
    args = ["report", "sitrep", "--date", DAY.isoformat(), "--as", A.code, "--format", "pdf"]
    result = CliRunner().invoke(app, [*args, "--output", str(out)], env=env)
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes(), tmp_path)
    _own_figures(text, A)
    _nothing_of(text, B)
    html = CliRunner().invoke(
        app, ["report", "sitrep", "--date", DAY.isoformat(), "--as", B.code], env=env
    )
    assert html.exit_code == 0 and B.unit in html.stdout and A.unit not in html.stdout
    unknown = CliRunner().invoke(app, ["report", "sitrep", "--as", "NOPE"], env=env)
    assert unknown.exit_code != 0


def test_web_page_shows_the_organizations_report(seeded: Platform, client: TestClient) -> None:
    from cmcc.api.session import SESSION_COOKIE

    def page(who: object, **params: str) -> tuple[int, str]:
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, who.token)  # type: ignore[attr-defined]
        response = client.get("/sitrep", params=params, follow_redirects=False)
        client.cookies.clear()
        return response.status_code, response.text

    assert client.get("/sitrep", follow_redirects=False).status_code == 303  # to the login
    lo = caller(seeded, A.code, Role.LIAISON_OFFICER)
    status, html = page(lo, date=DAY.isoformat())
    assert status == 200
    assert f'data-figure="incidents">{A.incidents + 1}<' in html and A.reason in html
    for secret in (B.unit, B.reason, TIP_TEXT, TIP_PLACE):
        assert secret not in html
    assert f"/api/v1/sitrep?date={DAY.isoformat()}&amp;format=pdf" in html
    assert 'href="/sitrep/report.css"' in html and "<style" not in html  # the page's CSP
    assert 'href="/sitrep"' in html  # in the navigation

    donor = caller(seeded, B.code, Role.DONOR)
    status, html = page(donor, date=DAY.isoformat())
    assert status == 200 and B.unit in html and A.unit not in html
    assert "download-pdf" not in html  # a donor may read, not issue

    status, html = page(lo, date="2999-01-01")
    assert status == 422 and "not a day up to today" in html

    client.cookies.set(SESSION_COOKIE, lo.token)
    css = client.get("/sitrep/report.css")
    client.cookies.clear()
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_funding_movements_of_the_day_follow_the_release_policy(
    seeded: Platform, client: TestClient
) -> None:
    officer = caller(seeded, "CMCC", Role.FUNDING_OFFICER).headers
    plan = client.post(
        "/api/v1/plans",
        headers=officer,
        json={
            "code": "PSE-RRP-2025",
            "title": "Gaza recovery and reconstruction plan",
            "start_date": "2026-01-01",
            "end_date": "2030-12-31",
            "budget_usd": "67000000000.00",
            "iati_identifier": "XM-CMCC-PSE-RRP-2025",
        },
    )
    assert plan.status_code == 201, plan.text
    for donor, amount, day in (
        (A.code, "1234567.89", DAY),
        (B.code, "7654321.01", DAY),
        (A.code, "5555555.55", DAY - dt.timedelta(days=1)),  # another day: not a movement
    ):
        flow = client.post(
            "/api/v1/flows",
            headers=officer,
            json={
                "status": "commitment",
                "donor": donor,
                "amount": amount,
                "currency": "USD",
                "decision_date": day.isoformat(),
                "plan_id": plan.json()["id"],
                "releasability": f"rel:{donor}",
            },
        )
        assert flow.status_code == 201, flow.text
    for me, mine, theirs in (
        (A, "1,234,567.89", "7,654,321.01"),
        (B, "7,654,321.01", "1,234,567.89"),
    ):
        html = report(seeded, me.code, SitrepFormat.HTML).decode()
        assert 'data-figure="flows">1<' in html
        assert mine in html and theirs not in html and "5,555,555.55" not in html


def test_recovery_progress_counts_only_what_the_nation_may_see(seeded: Platform) -> None:
    import shapely

    from cmcc.access.service import org_by_code
    from cmcc.core.releasability import Marking, MarkingKind
    from cmcc.remains.models import Recovery, SearchTask, SearchTaskStep

    noon = dt.datetime.combine(DAY, dt.time(12), tzinfo=dt.UTC)
    with seeded.unit_of_work(Principal.system_operator(), write=True) as s:
        for nation, found in ((A, 3), (B, 7)):
            owner = org_by_code(s, nation.code).id
            task = SearchTask(status="completed", owner_org_id=owner)
            task.marking = Marking(MarkingKind.OWNER)
            task.geometry = shapely.Point(34.45, 31.5)
            s.add(task)
            s.flush()
            s.add(
                SearchTaskStep(
                    task_id=task.id,
                    from_status="in_progress",
                    to_status="completed",
                    by="x",
                    created_at=noon,
                )
            )
            recovery = Recovery(
                task_id=task.id,
                recovered_at=noon,
                remains_found=found,
                remains_recovered=found,
                owner_org_id=owner,
            )
            recovery.marking = Marking(MarkingKind.OWNER)
            recovery.geometry = shapely.Point(34.45, 31.5)
            s.add(recovery)
    for me, found, theirs in ((A, 3, 7), (B, 7, 3)):
        text = report(seeded, me.code, SitrepFormat.HTML).decode()
        assert 'data-figure="recoveries">1<' in text
        assert f"1 ({found} / {found})" in text and f"({theirs} / {theirs})" not in text
        assert re.search(r"Search tasks moved to completed</th><td class=\"num\">1<", text)


def test_logstat_lowest_days_and_low_supplies(seeded: Platform) -> None:
    from cmcc.command.models import Unit, UnitReport
    from cmcc.core.releasability import Marking, MarkingKind

    with seeded.unit_of_work(Principal.system_operator(), write=True) as s:
        for nation, water in ((A, 1.5), (B, 0.25)):
            unit = s.scalars(select(Unit).where(Unit.name == nation.unit)).one()
            report_ = UnitReport(
                unit_lineage=unit.lineage_id,
                report_date=DAY,
                kind="logstat",
                figures={"days_of_supply": {"water": water, "fuel": 9.0}},
                submitted_by="lo",
                owner_org_id=unit.owner_org_id,
            )
            report_.marking = Marking(MarkingKind.OWNER)
            s.add(report_)
    with seeded.unit_of_work(Principal.system_operator()) as s:
        data = sitrep_service.generate(s, A.code, DAY, SitrepFormat.HTML, 2.0).data
    rep = data.force.reports
    assert (rep.perstat, rep.logstat) == (1, 1)
    assert rep.lowest_days == {"water": 1.5, "fuel": 9.0}
    assert rep.low_supply_units == [(A.code, "water", 1.5)]
    html = report(seeded, A.code, SitrepFormat.HTML).decode()
    assert 'IDN: Water</th><td class="num">1.5 days (low)' in html
    assert "0.2 days" not in html and "AZE" not in html
