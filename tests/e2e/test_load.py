"""A short load (issue 17): Locust, the real tool, runs bench/load/locustfile.py for a few seconds
against `cmcc serve --workers 2` (on NATS), with staff officers filing incidents inside a safe
zone and staff and a liaison officer of a party outside the mission reading the picture.
Behaviour only, never a timing: no request failed, every incident created is stored once and
audited (the chain verifies), each raised its geofence alert, and the liaison officer was never
given a record not released to it. The full run with figures is bench/load/run.py."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cmcc.access.domain import Principal, Role
from cmcc.access.models import Organization
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.core.releasability import Viewer, may_see
from cmcc.incidents.models import Alert, Incident
from tests.factories import caller, org
from tests.serving import platform_env, run_cmcc, served

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).with_name("locust"))
ZONE = [34.44, 31.50, 34.47, 31.53]
W, S, E, N = ZONE
POLYGON = {"type": "Polygon", "coordinates": [[[W, S], [E, S], [E, N], [W, N], [W, S]]]}
LOCUST_ARGS = [
    "-f",
    str(ROOT / "bench/load/locustfile.py"),
    "--headless",
    "-u",
    "8",
    "-r",
    "8",
    "-t",
    "4s",
    "--only-summary",
    "--stop-timeout",
    "10",
]


def _incident(marking: str) -> dict[str, Any]:
    return {
        "type": "ceasefire_violation_fire",
        "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat(),
        "geometry": {"type": "Point", "coordinates": [34.455, 31.515]},
        "severity": 2,
        "source_reliability": "B",
        "info_credibility": 2,
        "narrative": "Filed before the load",
        "source": "load test",
        "releasability": marking,
    }


def _lines(folder: Path, kind: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in folder.glob(f"{kind}-*.jsonl")
        for line in path.read_text().splitlines()
    ]


def test_the_picture_under_load_stays_whole_audited_and_released(
    platform: Platform, tmp_path: Path, nats_url: str, nats_namespace: str
) -> None:
    org(platform, "GBR")
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER)
    liaison = caller(platform, "EGY", Role.LIAISON_OFFICER, member=False)  # outside the mission
    cluster = {"CMCC_NATS_URL": nats_url, "CMCC_NATS_NAMESPACE": nats_namespace}
    record = tmp_path / "record"
    record.mkdir()
    with served(platform, tmp_path, extra_env=cluster, args=("--workers", "2")) as (base, log):
        zone = httpx.post(
            base + "/api/v1/zones",
            headers=staff.headers,
            json={
                "name": "Safe zone L",
                "kind": "civilian_safe_zone",
                "geometry": POLYGON,
                "valid_from": "2026-01-01T00:00:00Z",
            },
            timeout=30,
        )
        assert zone.status_code == 201, zone.text
        before = {}  # one of each marking, so that the liaison officer's reads have both kinds
        for marking in ("public", "rel:EGY", "owner", "rel:GBR", "mission"):
            r = httpx.post(
                base + "/api/v1/incidents", headers=staff.headers, json=_incident(marking)
            )
            assert r.status_code == 201, r.text
            before[r.json()["id"]] = marking
        since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        config = tmp_path / "load.json"
        config.write_text(
            json.dumps(
                {
                    "staff": staff.token,
                    "liaison": liaison.token,
                    "liaison_org": "EGY",
                    "zone": ZONE,
                    "since": since,
                    "record": str(record),
                    "box_half": 0.05,  # every box holds the whole zone
                }
            )
        )
        locust = subprocess.run(
            [LOCUST, *LOCUST_ARGS, "--host", base, "--csv", str(tmp_path / "locust")],
            env={**os.environ, "CMCC_LOAD_CONFIG": str(config)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "API worker" not in log.read_text()  # no worker stopped
    stats = {r["Name"]: r for r in csv.DictReader((tmp_path / "locust_stats.csv").open())}
    assert locust.returncode == 0, (
        locust.stderr[-3000:] + (tmp_path / "locust_failures.csv").read_text()
    )
    assert all(r["Failure Count"] == "0" for r in stats.values()), stats
    for kind in ("create incident", "incidents list", "OGC incidents items", "open alerts"):
        assert int(stats[kind]["Request Count"]) > 0, f"no {kind} request ran"

    created = {line["id"]: line["marking"] for line in _lines(record, "created")}
    assert len(created) == len(_lines(record, "created"))  # each id answered once
    assert not _lines(record, "failed")  # also those answered while Locust was stopping
    everything = {**before, **created}
    with platform.unit_of_work(Principal.system_operator()) as s:
        stored = s.scalars(select(Incident)).all()
        alerted = s.scalars(select(Alert.incident_id).where(Alert.zone_id == zone.json()["id"]))
        alerts = sorted(alerted)
        audited = set(
            s.scalars(select(AuditEntry.record_id).where(AuditEntry.entity == "incidents"))
        )
        egy = s.scalars(select(Organization.id).where(Organization.code == "EGY")).one()
    assert sorted(i.id for i in stored) == sorted(everything)  # each one stored, once
    assert {i.id: i.marking_text for i in stored} == everything
    assert alerts == sorted(everything)  # one geofence alert for each, in the zone
    assert {str(i) for i in everything} <= audited
    verify = run_cmcc(["audit", "verify"], platform_env(platform, tmp_path), tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    seen = {int(i) for line in _lines(record, "seen") for i in line["incidents"]}
    viewer = Viewer(egy, "EGY", is_member=False)
    released = {i.id for i in stored if may_see(i.marking, i.owner_org_id, viewer)}
    assert {i for i, m in before.items() if m in ("public", "rel:EGY")} <= seen
    assert seen <= released, f"given {len(seen - released)} records not released to it"


def test_several_workers_need_nats(platform: Platform, tmp_path: Path) -> None:
    """Without NATS a worker would never learn of another's zones: refused, said why."""
    done = run_cmcc(["serve", "--workers", "2"], platform_env(platform, tmp_path), tmp_path)
    assert done.returncode == 2
    assert "--workers above 1 needs CMCC_NATS_URL" in done.stderr
