"""`cmcc exercise run` against a real `cmcc serve` (set up by `cmcc demo --no-serve`), on both
backends: the units' tracks appear in the OGC `tracks` collection, incidents are filed and
verified, tips arrive in the triage queue through the public route, errors of the server are
counted without stopping either side, and nothing else is written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cmcc.bootstrap import Platform
from cmcc.cli import app
from cmcc.exercise.schemas import read_script
from tests.factories import row_counts
from tests.serving import free_port, served

pytestmark = pytest.mark.e2e
WRITES = {  # what an exercise may write: its traffic, and the audit entries of it
    "tracks",
    "incidents",
    "incident_verification",
    "alerts",
    "deconfliction_advisories",  # a verified drill incident near a notified site or route
    "tips",
    "tip_challenges_used",
    "audit_log",
    "audit_head",
}


def _demo(platform: Platform, home: Path) -> dict[str, str]:
    """`cmcc demo --no-serve`; each demo user's token, read from the credentials file."""
    env = {
        "CMCC_HOME": str(home),
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
    }
    done = CliRunner().invoke(app, ["demo", "--no-serve"], env=env)
    assert done.exit_code == 0, done.output
    lines = (home / "demo-credentials.txt").read_text().splitlines()
    return {
        words[0]: words[2]
        for words in (line.split() for line in lines)
        if len(words) == 3 and words[2].startswith("cmcc_")
    }


def _exercise(base: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cmcc", "exercise", "run", "--server", base, *args],
        env={**os.environ, "CMCC_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_exercise_drives_a_real_server(gaza: Platform, tmp_path: Path) -> None:
    platform = gaza  # the scenario loaded: `cmcc demo` only issues its logins
    tokens = _demo(platform, tmp_path)
    staff = {"Authorization": f"Bearer {tokens['staff']}"}
    cot_port = free_port()
    env = {"CMCC_COT_TCP_PORT": str(cot_port), "CMCC_TIP_RATE_PER_HOUR": "2"}
    with served(platform, tmp_path, extra_env=env) as (base, log):
        before = row_counts(platform)
        run = _exercise(
            base,
            tmp_path,
            *("--token", tokens["staff"], "--cot-port", str(cot_port), "--seed", "7"),
            *("--incidents-per-minute", "30", "--tips-per-minute", "40"),
            *("--report-seconds", "1", "--duration", "15"),
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "exercise stopped:" in run.stdout
        # Tips past the server's hourly limit were refused (429): logged, counted, harmless.
        assert "tip errors" in run.stdout and "429" in run.stderr
        assert httpx.get(f"{base}/api/v1/health").status_code == 200

        tracks = httpx.get(
            f"{base}/ogc/collections/tracks/items", params={"f": "json"}, headers=staff
        ).json()["features"]
        units = {u.uid: u.org for u in read_script("gaza-2025").units}
        assert {t["id"]: t["properties"]["owner"] for t in tracks} == units
        assert all(t["properties"]["speed"] > 0 for t in tracks)

        incidents = httpx.get(
            f"{base}/api/v1/incidents", params={"limit": 500}, headers=staff
        ).json()["data"]
        drills = [i for i in incidents if i["narrative"].startswith("EXERCISE. ")]
        assert len(drills) >= 2
        assert any(i["status"] == "verified" for i in drills)
        assert all(i["source"].startswith("Exercise inject") for i in drills)

        tips = httpx.get(f"{base}/api/v1/tips", headers=staff).json()["data"]
        assert 1 <= len(tips) <= 2 and all(t["text"].startswith("EXERCISE. ") for t in tips)

        alerts = httpx.get(f"{base}/api/v1/alerts", headers=staff).json()["data"]
        assert not [a for a in alerts if a["kind"] == "caveat_violation"]
        assert "Traceback" not in log.read_text()
    after = row_counts(platform)
    changed = {table for table in after if after[table] != before[table]}
    assert {"tracks", "incidents", "incident_verification", "tips"} <= changed
    assert changed <= WRITES, changed - WRITES


def test_a_refused_token_stops_the_exercise_at_once(gaza: Platform, tmp_path: Path) -> None:
    platform = gaza  # the scenario loaded: `cmcc demo` only issues its logins
    _demo(platform, tmp_path)
    with served(platform, tmp_path) as (base, _log):
        before = row_counts(platform)
        run = _exercise(base, tmp_path, "--token", "cmcc_not-a-token", "--duration", "60")
        assert run.returncode == 1
        assert "refused the token" in run.stderr and "start errors" in run.stdout
        assert httpx.get(f"{base}/api/v1/health").status_code == 200
        assert row_counts(platform) == before


def _serve_demo(platform: Platform, home: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cmcc", "demo", "--port", str(free_port()), *args],
        env={
            **os.environ,
            "CMCC_HOME": str(home),
            "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
            "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
            "CMCC_COT_TCP_PORT": str(free_port()),
            "CMCC_COT_TAK_PORT": "0",
            "CMCC_COT_UDP_PORT": "0",
            "CMCC_EXERCISE_REPORT_SECONDS": "1",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _tracks(platform: Platform) -> int:
    return row_counts(platform)["tracks"]


def test_the_demo_runs_the_exercise_and_stops_it_on_ctrl_c(
    gaza: Platform, tmp_path: Path
) -> None:
    platform = gaza  # the scenario loaded: `cmcc demo` only issues its logins
    demo = _serve_demo(platform, tmp_path)
    try:
        for _ in range(300):
            if _tracks(platform) >= 6:
                break
            assert demo.poll() is None, demo.stdout.read() if demo.stdout else ""
            time.sleep(0.2)
        else:
            pytest.fail("no unit reported")
    finally:
        demo.send_signal(signal.SIGINT)  # Ctrl-C: the server stops, then the driver
        out, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, out
    assert "exercise stopped:" in out and "positions sent" in out
    assert "Traceback" not in out


def test_no_exercise_keeps_the_demo_quiet(gaza: Platform, tmp_path: Path) -> None:
    platform = gaza  # the scenario loaded: `cmcc demo` only issues its logins
    demo = _serve_demo(platform, tmp_path, "--no-exercise")
    try:
        for _ in range(300):
            if demo.stdout and "Application startup complete" in demo.stdout.readline():
                break
        time.sleep(5)
        assert demo.poll() is None
        assert _tracks(platform) == 0
    finally:
        demo.send_signal(signal.SIGINT)
        out, _ = demo.communicate(timeout=60)
    assert "exercise" not in out.lower().replace("--no-exercise", "")
