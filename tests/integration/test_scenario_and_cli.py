"""The gaza-2025 scenario loads through the services, with sources, and loading twice changes
nothing; the CLI commands work against both backends."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tomllib
from decimal import Decimal
from importlib import resources

import pytest
from sqlalchemy import Connection, func, select, text
from typer.testing import CliRunner

from cmcc.access.domain import Principal
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.cli import app
from cmcc.forces.models import Pledge, Requirement, State, StateTransition
from cmcc.funding.models import Flow, Phase, Plan
from cmcc.geo import maintenance
from cmcc.hazards.models import EOSpotReport, HazardArea
from cmcc.incidents.models import Alert, Incident
from cmcc.remains.models import SearchTask, SearchTaskHazard
from cmcc.scenarios.models import ReportedFact
from cmcc.zones.models import Zone
from tests.factories import row_counts


def _env(platform: Platform) -> dict[str, str]:
    return {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
    }


def test_scenario_loads_once_with_sources(platform: Platform) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["scenario", "load", "gaza-2025"], env=_env(platform))
    assert first.exit_code == 0, first.output
    after_first = row_counts(platform)
    second = runner.invoke(app, ["scenario", "load", "gaza-2025"], env=_env(platform))
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert row_counts(platform) == after_first  # audit log included: not one write

    with platform.unit_of_work(Principal.system_operator()) as s:
        pledges = list(s.scalars(select(Pledge)))
        assert pledges
        assert all(p.source for p in pledges)
        usa = [p for p in pledges if p.state.iso3 == "USA"]
        assert usa
        assert usa[0].strength == 200
        assert "gaza_strip" in usa[0].caveats["forbidden_zone_kinds"]
        idn = sum(p.strength for p in pledges if p.state.iso3 == "IDN")
        assert idn <= 8000
        assert s.scalar(select(func.count()).select_from(Requirement)) >= 10
        facts = {f.key: f for f in s.scalars(select(ReportedFact))}
        assert all(f.source for f in facts.values())
        assert any(f.value == 19 for f in facts.values())
        assert any(f.value == 70 and f.approx for f in facts.values())
        aze = s.scalars(select(State).where(State.iso3 == "AZE")).one()
        assert aze.status == "declined"
        assert s.scalar(select(func.count()).select_from(StateTransition)) > 10
        actors = set(s.scalars(select(AuditEntry.actor).distinct()))
        zones = {z.name: z for z in s.scalars(select(Zone))}
        assert zones["Area under IDF control behind the yellow line (notional)"].notional
        assert sum(z.kind == "civilian_safe_zone" for z in zones.values()) == 2
        assert sum(z.kind == "crossing" for z in zones.values()) == 5
        drawn = [z for z in zones.values() if z.derived_from is None]  # not from notifications
        assert all("[approx" in z.source for z in drawn)  # every drawing is approximate
        incidents = list(s.scalars(select(Incident)))
        assert len(incidents) == 5
        assert all("[illustrative]" in i.source for i in incidents)
        alerts = list(s.scalars(select(Alert)))
        hazards = {h.name: h for h in s.scalars(select(HazardArea))}
        assert len(hazards) == 2 and all(h.status == "open" for h in hazards.values())
        assert all(h.description.startswith("Illustrative") for h in hazards.values())
        spots = list(s.scalars(select(EOSpotReport)))
        assert [sp.hazard_id for sp in spots] == [
            hazards["Notional CHA 2 (Khan Younis, open ground)"].id
        ]
        tasks = list(s.scalars(select(SearchTask)))
        assert len(tasks) == 42 and {t.status for t in tasks} == {"not_started"}
        under_sha = set(
            s.scalars(
                select(SearchTaskHazard.task_id).where(
                    SearchTaskHazard.hazard_id
                    == hazards["Notional SHA 1 (Khan Younis, rubble of a residential block)"].id
                )
            )
        )
        assert 0 < len(under_sha) < len(tasks)  # the east of the search area needs an escort
        plan = s.scalars(select(Plan)).one()
        assert plan.budget_usd == Decimal("67000000000.00")
        phases = sorted(s.scalars(select(Phase)), key=lambda ph: ph.number)
        assert [ph.budget_usd for ph in phases] == [
            Decimal("3500000000.00"),
            Decimal("30000000000.00"),
            Decimal("33500000000.00"),
        ]
        flows = list(s.scalars(select(Flow)))
        assert {f.status for f in flows} == {"pledge", "commitment", "paid"}
        assert all("[illustrative]" in f.source for f in flows)
    assert "scenario:gaza-2025" in actors
    # The illustrative fire next to notional safe zone 1 lies inside it: one alert; the
    # Moroccan battalion's illustrative LOGSTAT is short of water: another; and the force's
    # tasks on the convoys' routes meet three notified convoys (one of them twice).
    assert sorted(a.kind for a in alerts) == [
        "incident_in_zone",
        "supply_low",
        *["task_conflicts_movement"] * 4,
    ]


def test_scenario_files_carry_a_source_on_every_record() -> None:
    folder = resources.files("cmcc.scenarios").joinpath("gaza-2025")
    for name in (
        "organizations",
        "states",
        "pledges",
        "requirements",
        "targets",
        "facts",
        "contributions",
    ):
        data = tomllib.loads(folder.joinpath(f"{name}.toml").read_text(encoding="utf-8"))
        for record in data[name]:
            assert record.get("source"), (name, record)


def test_a_bad_scenario_is_refused_whole(platform: Platform, tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path)) / "bad"
    folder.mkdir()
    (folder / "requirements.toml").write_text(
        '[[requirements]]\ncode = "OK-1"\ntitle = "fine"\ncapability = "engineers"\nunits = 1\n'
        'strength_per_unit = 100\nsource = "test"\n\n'
        '[[requirements]]\ncode = "BAD-1"\ntitle = "bad"\ncapability = "engineers"\nunits = -1\n'
        'strength_per_unit = 100\nsource = "test"\n'
    )
    before = row_counts(platform)
    result = CliRunner().invoke(app, ["scenario", "load", str(folder)], env=_env(platform))
    assert result.exit_code == 1
    assert "requirements.toml[1].units" in result.output
    assert row_counts(platform) == before


def test_user_token_and_report_commands(platform: Platform) -> None:
    runner = CliRunner()
    env = _env(platform)
    added = runner.invoke(
        app, ["user", "add", "watch1", "--org", "CMCC", "--role", "staff_officer"], env=env
    )
    assert added.exit_code == 0, added.output
    dup = runner.invoke(
        app, ["user", "add", "watch1", "--org", "CMCC", "--role", "staff_officer"], env=env
    )
    assert dup.exit_code == 1
    assert "already exists" in dup.output
    bad_org = runner.invoke(app, ["user", "add", "x", "--org", "NOPE", "--role", "admin"], env=env)
    assert bad_org.exit_code == 1
    token = runner.invoke(app, ["token", "create", "watch1"], env=env)
    assert token.exit_code == 0
    assert token.output.strip().startswith("cmcc_")
    assert len(token.output.strip().split()) == 1
    runner.invoke(app, ["scenario", "load", "gaza-2025"], env=env)
    report = runner.invoke(app, ["forces", "report"], env=env)
    assert report.exit_code == 0, report.output
    for words in (
        "Outreach pipeline",
        "Gaps by capability",
        "infantry_battalion",
        "Targets",
        "Projected deployed strength",
    ):
        assert words in report.output, words
    as_ngo = runner.invoke(app, ["forces", "report", "--as", "PRCS"], env=env)
    assert as_ngo.exit_code == 0, as_ngo.output


def test_config_check_refuses_default_secret_in_production() -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["config", "check"], env={"CMCC_ENVIRONMENT": "development"})
    assert ok.exit_code == 0
    assert "CMCC_DATABASE_URL" in ok.output
    bad = runner.invoke(app, ["config", "check"], env={"CMCC_ENVIRONMENT": "production"})
    assert bad.exit_code == 2
    assert "CMCC_SECRET_KEY" in bad.output


def test_token_revoke_command(platform: Platform) -> None:
    from fastapi.testclient import TestClient

    from cmcc.api.app import create_app

    runner = CliRunner()
    env = _env(platform)
    runner.invoke(
        app, ["user", "add", "lo1", "--org", "CMCC", "--role", "liaison_officer"], env=env
    )
    token = runner.invoke(app, ["token", "create", "lo1"], env=env).output.strip()
    with TestClient(create_app(platform)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
        revoked = runner.invoke(app, ["token", "revoke", "lo1"], env=env)
        assert revoked.exit_code == 0 and "1 token(s)" in revoked.output
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_database_errors_are_one_clear_line() -> None:
    bad = CliRunner().invoke(
        app, ["init"], env={"CMCC_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    )
    assert bad.exit_code == 1
    assert "error: the database is not available" in bad.output
    assert "Traceback" not in bad.output


def table_files(conn: Connection) -> dict[str, int]:
    """PostgreSQL: the file of each clustered table (CLUSTER writes a table anew: a new file;
    the flag `indisclustered` would stay from an earlier test of the same database)."""
    rows = conn.execute(
        text("SELECT relname, relfilenode FROM pg_class WHERE relname IN ('incidents', 'tracks')")
    )
    return {name: int(node) for name, node in rows}


def test_index_optimize_gives_up_on_a_table_in_use(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table another session holds: `cmcc index optimize` gives up after a bounded wait, says
    why, and changes nothing (PostgreSQL: CLUSTER's lock timeout, since every reader would
    queue behind it; SQLite: the write lock's wait, as for any writer)."""
    runner = CliRunner()
    env = _env(platform)
    assert runner.invoke(app, ["scenario", "load", "gaza-2025"], env=env).exit_code == 0
    if platform.engine.dialect.name == "postgresql":
        monkeypatch.setattr(maintenance, "CLUSTER_LOCK_WAIT", "300ms")
        with platform.engine.connect() as conn:
            before = table_files(conn)
        with platform.engine.connect() as other:
            other.execute(text("LOCK TABLE tracks IN ACCESS SHARE MODE"))  # a session reading
            done = runner.invoke(app, ["index", "optimize"], env=env)
            other.rollback()
        said = " ".join(done.output.split())
        assert done.exit_code == 1, done.output
        assert "error: tracks is in use by another session (CLUSTER waited 300ms" in said
        assert "and was left as it was" in said
        with platform.engine.connect() as conn:  # incidents, in a transaction of its own, done
            after = table_files(conn)
        assert after["tracks"] == before["tracks"] and after["incidents"] != before["incidents"]
        return
    nodes = "SELECT count(*), sum(length(data)) FROM incidents_rtree_node"
    with platform.engine.connect() as conn:
        before = conn.execute(text(nodes)).one()
    holder = sqlite3.connect(platform.engine.url.database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer
    try:
        done = runner.invoke(
            app, ["index", "optimize"], env={**env, "CMCC_DATABASE_WAIT_SECONDS": "0.3"}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert done.exit_code == 1, done.output
    assert "the database is busy, try again" in " ".join(done.output.split())
    with platform.engine.connect() as conn:
        assert conn.execute(text(nodes)).one() == before
        assert conn.execute(text("SELECT rtreecheck('incidents_rtree')")).scalar() == "ok"


def test_index_optimize_keeps_every_answer(platform: Platform) -> None:
    """After `cmcc index optimize` (R*Trees packed on SQLite, CLUSTER and ANALYZE on
    PostgreSQL) the same queries give the same incidents and zones."""
    from fastapi.testclient import TestClient

    from cmcc.access.domain import Role
    from cmcc.api.app import create_app
    from tests.factories import caller

    runner = CliRunner()
    env = _env(platform)
    assert runner.invoke(app, ["scenario", "load", "gaza-2025"], env=env).exit_code == 0
    today = dt.datetime.now(dt.UTC).date()  # the scenario's incidents date from the load day
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    queries = [
        ("/api/v1/incidents", {"bbox": "34.2,31.2,34.6,31.6"}),
        (
            "/api/v1/incidents",
            {
                "bbox": "34.40,31.48,34.52,31.56",
                "datetime": f"{today - dt.timedelta(days=10)}T00:00:00Z/{today}T00:00:00Z",
            },
        ),
        ("/api/v1/incidents", {"bbox": "34.25,31.20,34.30,31.25"}),
        ("/api/v1/zones", {"bbox": "34.42,31.50,34.45,31.53", "history": "true"}),
    ]

    def answers(client: TestClient) -> list[set[int]]:
        out = []
        for path, params in queries:
            r = client.get(path, headers=staff, params={**params, "limit": 500})
            assert r.status_code == 200, r.text
            out.append({item["id"] for item in r.json()["data"]})
        return out

    with TestClient(create_app(platform)) as client:
        before = answers(client)
        if platform.engine.dialect.name == "postgresql":
            with platform.engine.connect() as conn:
                files = table_files(conn)
        done = runner.invoke(app, ["index", "optimize"], env=env)
        assert done.exit_code == 0, done.output
        with platform.engine.connect() as conn:
            if platform.engine.dialect.name == "sqlite":
                assert "5 incidents, 30 zones" in done.output  # 11 from notifications
                check = "SELECT rtreecheck('incidents_rtree'), rtreecheck('zones_rtree')"
                assert conn.execute(text(check)).one() == ("ok", "ok")
            else:
                assert "incidents and tracks clustered" in done.output
                after = table_files(conn)  # written anew in the index's order
                assert after["incidents"] != files["incidents"]
                assert after["tracks"] != files["tracks"]
        assert answers(client) == before
    assert all(before[:2]) and before[3]
