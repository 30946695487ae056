"""The converted totals kept per marking on the gaza-2025 scenario (its flows recorded through
the service): the kept rows equal their rebuild from the flows (what migration 0016 does), and
every caller's summary equals the reference computation over the flows."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

from alembic import command
from sqlalchemy import select

from cmcc.access.domain import OrgKind, Principal
from cmcc.access.models import Organization
from cmcc.bootstrap import Platform
from cmcc.core.releasability import Viewer
from cmcc.funding import flows, reference, reports, service, totals
from cmcc.funding.models import Flow, Total
from cmcc.funding.reports import GroupBy
from cmcc.funding.schemas import FlowCreate, PlanCreate
from cmcc.schema import alembic_config
from tests.factories import org


def _rows(platform: Platform) -> dict[tuple[object, ...], tuple[int, int]]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return {
            (t.grouping, t.plan_id, t.donor_org_id, t.group_key, t.status, t.marking,
             t.conversions): (t.cents, t.flows)
            for t in s.scalars(select(Total))
        }  # fmt: skip


def test_kept_totals_equal_their_rebuild(gaza: Platform) -> None:
    kept = _rows(gaza)
    with gaza.unit_of_work(Principal.system_operator()) as s:
        assert s.scalar(select(Flow.id).limit(1)) is not None  # the scenario has flows
    assert kept
    with gaza.engine.begin() as conn:
        assert totals.rebuild(conn) == len(kept)
    assert _rows(gaza) == kept


def test_the_migration_fills_the_totals_from_the_flows(gaza: Platform) -> None:
    kept = _rows(gaza)
    cfg = alembic_config(gaza.engine.url.render_as_string(hide_password=False))
    gaza.engine.dispose()
    command.downgrade(cfg, "0015")
    command.upgrade(cfg, "head")
    assert _rows(gaza) == kept


def test_every_callers_summary_equals_the_reference(gaza: Platform) -> None:
    with gaza.unit_of_work(Principal.system_operator()) as s:
        orgs = list(s.execute(select(Organization.id, Organization.code)))
    viewers = [Principal.system_operator().viewer]
    for id_, code in orgs:
        viewers += [Viewer(id_, code, True), Viewer(id_, code, False)]
    with gaza.unit_of_work(Principal.system_operator()) as s:
        for viewer in viewers:
            for by in GroupBy:
                got = reports.summary(s, viewer, by)
                assert got == reference.summary(s, viewer, by), (viewer, by)


def test_concurrent_conversions_of_one_pledge_keep_the_totals(platform: Platform) -> None:
    """Writes converting one pledge at the same time apply one after the other (PostgreSQL:
    the pledge's current version is locked; SQLite: the database's write lock): the kept rows
    end equal to their rebuild."""
    org(platform, "DEU", OrgKind.NATION, member=True)
    with platform.unit_of_work(Principal.system_operator()) as s:
        ids: dict[str, int] = dict(s.execute(select(Organization.code, Organization.id)).all())
    officer = Principal.system_operator(ids["CMCC"], "CMCC")
    with platform.unit_of_work(officer, write=True) as s:
        plan = service.create_plan(
            s,
            officer,
            PlanCreate(
                code="PLAN-C",
                title="Plan",
                start_date=dt.date(2026, 1, 1),
                end_date=dt.date(2030, 12, 31),
                budget_usd=Decimal("1000000.00"),
                iati_identifier="XM-CMCC-PLAN-C",
            ),
        ).id
        pledge = flows.create_flow(
            s,
            officer,
            FlowCreate(
                status="pledge",
                donor="DEU",
                amount=Decimal("1000.00"),
                currency="USD",
                decision_date=dt.date(2026, 2, 1),
                plan_id=plan,
            ),
        ).id
    start, errors = threading.Barrier(4), []

    def commit(marking: str) -> None:
        body = FlowCreate(
            status="commitment",
            donor="DEU",
            fulfils_id=pledge,
            amount=Decimal("400.00"),
            currency="USD",
            decision_date=dt.date(2026, 3, 1),
            plan_id=plan,
            releasability=marking,
        )
        try:
            start.wait()
            with platform.unit_of_work(officer, write=True) as s:
                flows.create_flow(s, officer, body)
        except Exception as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=commit, args=(m,)) for m in ("mission", "owner", "mission", "owner")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    kept = _rows(platform)
    with platform.engine.begin() as conn:
        totals.rebuild(conn)
    assert _rows(platform) == kept
    owner_view = Viewer(ids["CMCC"], "CMCC", True)
    member = Viewer(ids["DEU"], "DEU", True)  # sees the commitments marked mission only
    with platform.unit_of_work(officer) as s:
        for viewer in (Principal.system_operator().viewer, owner_view, member):
            got = reports.summary(s, viewer, GroupBy.DONOR)
            assert got == reference.summary(s, viewer, GroupBy.DONOR)
        # 1,600 converts the pledge of 1,000 entirely for whoever sees all four
        assert reports.summary(s, owner_view, GroupBy.DONOR).total.total_usd == Decimal("1600.00")
