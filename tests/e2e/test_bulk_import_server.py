"""`cmcc import incidents --bulk` beside a real `cmcc serve`: refused while it runs (exit 2,
nothing written), accepted once it has stopped - on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.incidents.models import Incident
from tests.serving import free_port, until_healthy

pytestmark = pytest.mark.e2e


def _feature(n: int) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [34.3 + n / 1000, 31.4]},
        "properties": {
            "external_ref": f"E-{n}",
            "type": "unrest",
            "occurred_at": "2026-03-01T10:00:00Z",
            "severity": 2,
        },
    }


def _incidents(platform: Platform) -> int:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return s.scalar(select(func.count()).select_from(Incident)) or 0


def test_bulk_import_refused_while_the_server_runs(platform: Platform, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CMCC_HOME": str(tmp_path),
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
        "COLUMNS": "400",
    }
    path = tmp_path / "load.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": [_feature(n) for n in range(20)]})
    )
    bulk = [sys.executable, "-m", "cmcc", "import", "incidents", str(path), "--bulk"]
    port = free_port()
    serve = [sys.executable, "-m", "cmcc", "serve", "--port", str(port), "--no-gateway"]
    proc = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        until_healthy(proc, f"http://127.0.0.1:{port}")
        refused = subprocess.run(bulk, env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "a server runs on this database" in refused.stderr
        assert _incidents(platform) == 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    done = subprocess.run(bulk, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _incidents(platform) == 20
