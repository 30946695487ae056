"""The gaza-2025 scenario's illustrative records date from the day it is loaded, with realistic
report times, while sourced facts keep their dates; loading again on a later day adds nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from typer.testing import CliRunner

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.cli import app
from cmcc.cli.common import operator_session
from cmcc.core.timeparse import as_aware
from cmcc.forces.models import Pledge
from cmcc.funding.models import Flow, Phase, Project
from cmcc.hazards.models import EOSpotReport
from cmcc.incidents.models import Incident
from cmcc.scenarios.loader import load_scenario
from cmcc.scenarios.models import ReportedFact
from tests.factories import row_counts


def test_the_demo_picture_is_recent_with_real_report_times(platform: Platform) -> None:
    env = {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
    }
    loaded = CliRunner().invoke(app, ["scenario", "load", "gaza-2025"], env=env)
    assert loaded.exit_code == 0, loaded.output
    now = dt.datetime.now(dt.UTC)
    with platform.unit_of_work(Principal.system_operator()) as s:
        incidents = list(s.scalars(select(Incident)))
        assert len(incidents) == 5
        for inc in incidents:
            occurred, reported = as_aware(inc.occurred_at), as_aware(inc.reported_at)
            assert occurred is not None and reported is not None
            # Inside the map's default window of 30 days, and in the past.
            assert now - dt.timedelta(days=30) < occurred < now, inc.external_ref
            # Reported some minutes or hours after it occurred, not when the demo was loaded.
            lag = reported - occurred
            assert dt.timedelta(minutes=5) <= lag <= dt.timedelta(hours=12), inc.external_ref
            assert now - reported > dt.timedelta(hours=1), inc.external_ref
        spot = s.scalars(select(EOSpotReport)).one()
        assert now - dt.timedelta(days=30) < (as_aware(spot.found_at) or now) < now
        flows = list(s.scalars(select(Flow)))
        assert all(
            now.date() - dt.timedelta(days=365) < f.decision_date < now.date() for f in flows
        )
        assert all(f.first_reported_date > f.decision_date for f in flows)
        assert any(
            p.planned_start is not None
            and p.planned_end is not None
            and p.planned_start <= now.date() <= p.planned_end
            for p in s.scalars(select(Project))
        )
        # Sourced facts keep the dates their sources report.
        facts = {f.key: f for f in s.scalars(select(ReportedFact))}
        assert all(f.as_of is None or f.as_of.year in (2025, 2026) for f in facts.values())
        phases = sorted(s.scalars(select(Phase)), key=lambda ph: ph.number)
        assert phases[0].start_date == dt.date(2025, 10, 16)
        usa = s.scalars(select(Pledge).where(Pledge.ref == "USA-2025-01")).one()
        assert usa.registered_on == dt.date(2025, 10, 17)


def test_loading_again_on_a_later_day_adds_nothing(platform: Platform) -> None:
    today = dt.datetime.now(dt.UTC).date()
    first_day = today - dt.timedelta(days=20)

    def load(day: dt.date) -> int:
        with operator_session(platform, write=True, actor="system:test") as session:
            added = load_scenario(
                session, "gaza-2025", aoi=platform.settings.aoi_bbox, fence=None, day=day
            )
        return sum(added.values())

    assert load(first_day) > 0
    before = row_counts(platform)
    with platform.unit_of_work(Principal.system_operator()) as s:
        occurred = {i.external_ref: i.occurred_at for i in s.scalars(select(Incident))}
    assert load(today) == 0
    assert row_counts(platform) == before  # audit log included: not one write
    with platform.unit_of_work(Principal.system_operator()) as s:
        assert {i.external_ref: i.occurred_at for i in s.scalars(select(Incident))} == occurred
        earliest = as_aware(s.scalar(select(func.min(Incident.occurred_at))))
    assert earliest is not None and earliest.date() == first_day - dt.timedelta(days=9)
