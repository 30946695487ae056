"""Bulk load mode of the incident import (`--bulk`): the same answers as the normal import,
refused while a server runs, all or nothing - on both backends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text
from typer.testing import CliRunner

from cmcc.access.domain import Principal, Role
from cmcc.access.service import org_by_code
from cmcc.api.app import create_app
from cmcc.audit.models import AuditEntry
from cmcc.audit.service import verify
from cmcc.bootstrap import Platform
from cmcc.cli import imports
from cmcc.core.errors import InvalidInput
from cmcc.core.releasability import Marking
from cmcc.incidents.bulk_import import bulk_import_incidents
from cmcc.incidents.importer import ImportOptions, ImportReport, import_incidents
from cmcc.incidents.models import Alert, Incident
from cmcc.ops.presence import ServerPresence, ServerRunning
from tests.factories import caller
from tests.probes import write_probe

SAFE = [[34.44, 31.50], [34.46, 31.50], [34.46, 31.52], [34.44, 31.52], [34.44, 31.50]]


def _feature(n: int, **over: Any) -> dict[str, Any]:
    lon = 34.25 + (n * 37 % 300) / 1000
    lat = 31.25 + (n * 53 % 300) / 1000
    if n % 10 == 0:  # in the safe zone
        lon, lat = 34.445 + (n % 7) / 1000, 31.505 + (n % 5) / 1000
    geometry: dict[str, Any] = {"type": "Point", "coordinates": [lon, lat]}
    if n % 17 == 0:
        d = 0.004
        ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
        geometry = {"type": "Polygon", "coordinates": [ring]}
    props = {
        "external_ref": f"B-{n}",
        "type": "ceasefire_violation_fire" if n % 3 else "unrest",
        "occurred_at": f"2026-0{1 + n % 5}-{1 + n % 27:02d}T{n % 24:02d}:00:00Z",
        "severity": 1 + n % 5,
        "narrative": f"bulk row {n}",
    }
    props.update(over)
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _options(platform: Platform, **over: Any) -> ImportOptions:
    with platform.unit_of_work(Principal.system_operator()) as s:
        org_id = org_by_code(s, "CMCC").id
    values: dict[str, Any] = {
        "owner_org_id": org_id,
        "marking": Marking.parse("owner"),
        "actor": "test:import",
        "aoi": platform.settings.aoi_bbox,
        "batch_size": 100,
    }
    values.update(over)
    return ImportOptions(**values)


def _env(platform: Platform) -> dict[str, str]:
    return {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
    }


def _counts(platform: Platform) -> tuple[int, int, int]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        imported = select(func.count()).where(AuditEntry.action == "import")
        return (
            s.scalar(select(func.count()).select_from(Incident)) or 0,
            s.scalar(select(func.count()).select_from(Alert)) or 0,
            s.scalar(imported.select_from(AuditEntry)) or 0,
        )


def _index_intact(platform: Platform) -> None:
    """The spatial index is in place and follows new rows (trigger / GiST)."""
    with platform.unit_of_work(Principal.system_operator()) as s:
        if platform.engine.dialect.name == "sqlite":
            names = s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            assert "incidents_rtree_insert" in set(names)
            rtree = s.scalar(text("SELECT count(*) FROM incidents_rtree"))
            assert rtree == s.scalar(select(func.count()).select_from(Incident))
        else:
            found = s.scalar(text("SELECT to_regclass('gist_incidents_geom_time')"))
            assert found is not None


def _answers(platform: Platform, client: TestClient, viewers: dict[str, dict[str, str]]) -> Any:
    """What the picture answers, with ids replaced by the incidents' refs."""
    with platform.unit_of_work(Principal.system_operator()) as s:
        ref = dict(s.execute(select(Incident.id, Incident.external_ref)).all())
    queries: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/incidents", {"limit": 500}),
        ("/api/v1/incidents", {"bbox": "34.30,31.30,34.45,31.52", "limit": 500}),
        ("/api/v1/incidents", {"bbox": "34.44,31.50,34.46,31.52", "limit": 500}),
        ("/api/v1/incidents", {"datetime": "2026-02-01T00:00:00Z/2026-03-15T00:00:00Z"}),
        (
            "/api/v1/incidents",
            {"bbox": "34.25,31.25,34.40,31.40", "datetime": "2026-03-01T00:00:00Z/..", "limit": 9},
        ),
        ("/ogc/collections/incidents/items", {"bbox": "34.30,31.30,34.45,31.52", "limit": 500}),
        ("/ogc/collections/incidents/items", {"datetime": "2026-04-01T00:00:00Z/.."}),
        ("/api/v1/alerts", {"limit": 500}),
    ]
    out = []
    for who, headers in viewers.items():
        for path, params in queries:
            body = client.get(path, headers=headers, params=params)
            assert body.status_code == 200, body.text
            doc = body.json()
            items = doc.get("data", doc.get("features", []))
            if path.endswith("alerts"):
                got = sorted((ref[a["incident_id"]], a["message"], a["status"]) for a in items)
            else:
                got = [ref[int(i["id"])] for i in items]
            count = doc.get("count", doc.get("numberMatched"))
            out.append((who, path, sorted(params.items()), got, count))
    return out


def _wipe(platform: Platform) -> None:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        s.execute(delete(Alert))
        s.execute(delete(Incident))


def test_bulk_answers_equal_the_normal_import(platform: Platform, tmp_path: Path) -> None:
    client = TestClient(create_app(platform))
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    zone = {
        "name": "Safe zone A",
        "kind": "civilian_safe_zone",
        "geometry": {"type": "Polygon", "coordinates": [SAFE]},
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_to": "2026-04-01T00:00:00Z",
        "notional": True,
    }
    assert client.post("/api/v1/zones", headers=staff, json=zone).status_code == 201
    viewers = {"CMCC": staff, "GBR": caller(platform, "GBR", Role.LIAISON_OFFICER).headers}
    base = _geojson(tmp_path / "base.geojson", [_feature(n) for n in range(1000, 1040)])
    features = [_feature(n) for n in range(450)]
    features.insert(200, _feature(5))  # repeated in the file: skipped
    features.insert(300, _feature(1003))  # stored already (by `base`): skipped
    path = _geojson(tmp_path / "load.geojson", features)

    results = []
    for load in (import_incidents, bulk_import_incidents):
        _wipe(platform)
        import_incidents(platform, base, _options(platform, marking=Marking.parse("mission")))
        report: ImportReport = load(platform, path, _options(platform))
        assert report.complete and (report.stored, report.skipped) == (450, 2), report.errors[:3]
        assert report.alerts > 0 and report.batches == 5
        _index_intact(platform)
        results.append((_answers(platform, client, viewers), report.alerts))
    normal, bulk = results
    assert bulk == normal
    assert any(got for _, _, _, got, _ in normal[0])  # the queries found rows
    with platform.unit_of_work(Principal.system_operator()) as s:
        assert verify(s).ok
        entries = list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.action == "import").order_by(AuditEntry.seq)
            )
        )
        ids = sorted(s.scalars(select(Incident.id).where(Incident.external_ref.like("B-%"))))
    last = [json.loads(e.changes) for e in entries][-5:]
    assert [c["rows"] for c in last] == [100, 100, 99, 99, 52]
    assert entries[-5].record_id == f"{ids[40]}-{ids[139]}"  # after the 40 of `base`


def test_refused_while_a_server_runs(platform: Platform, tmp_path: Path) -> None:
    path = _geojson(tmp_path / "a.geojson", [_feature(n) for n in range(5)])
    before = _counts(platform)
    presence = ServerPresence(platform.engine)  # what `cmcc serve` holds
    try:
        with pytest.raises(ServerRunning, match="a server runs on this database"):
            bulk_import_incidents(platform, path, _options(platform))
        out = CliRunner().invoke(
            imports.import_app, ["incidents", str(path), "--bulk"], env=_env(platform)
        )
        assert out.exit_code == 2, out.output
        assert "refused" in out.output and "server runs" in out.output
        assert _counts(platform) == before
        assert import_incidents(platform, path, _options(platform)).stored == 5  # normal: fine
    finally:
        presence.release()
    _wipe(platform)
    assert bulk_import_incidents(platform, path, _options(platform)).stored == 5
    _index_intact(platform)


def test_refused_while_the_table_is_in_use(platform: Platform, tmp_path: Path) -> None:
    """PostgreSQL: a session reading the table refuses the load (its ACCESS EXCLUSIVE lock is
    not granted at once). SQLite in WAL mode: a reader does not stand in a writer's way, so the
    load goes ahead beside it (a writer would make it wait like any other)."""
    path = _geojson(tmp_path / "a.geojson", [_feature(n) for n in range(5)])
    with platform.engine.connect() as other:
        other.execute(text("SELECT count(*) FROM incidents"))  # a reader in a transaction
        if platform.engine.dialect.name == "postgresql":
            with pytest.raises(ServerRunning, match="in use by another session"):
                bulk_import_incidents(platform, path, _options(platform))
            expected = 0
        else:
            assert bulk_import_incidents(platform, path, _options(platform)).stored == 5
            expected = 5
    assert _counts(platform)[0] == expected
    _index_intact(platform)


def test_a_bad_row_stores_nothing(platform: Platform, tmp_path: Path) -> None:
    features = [_feature(n) for n in range(250)]
    features[230]["properties"]["type"] = "nope"
    features[235]["geometry"] = {"type": "Point", "coordinates": [31.4, 34.35]}
    features[240]["geometry"] = {"type": "Point", "coordinates": [10.0, 10.0]}
    features[245]["geometry"] = {"type": "Point", "coordinates": [34.35, 31.4, 12.0]}  # 3-D: ok
    path = _geojson(tmp_path / "bad.geojson", features)
    before = _counts(platform)
    report = bulk_import_incidents(platform, path, _options(platform))
    assert report.stopped is not None and "nothing was stored" in report.stopped
    assert (report.stored, report.batches, report.bad_rows) == (0, 0, 3)
    assert [(e.line, e.field) for e in report.errors] == [
        (231, "type"),
        (236, "geometry"),
        (241, "geometry"),
    ]
    assert "look swapped" in report.errors[1].reason  # the API's messages
    assert "outside the mission's area of interest" in report.errors[2].reason
    assert _counts(platform) == before
    _index_intact(platform)
    out = CliRunner().invoke(
        imports.import_app, ["incidents", str(path), "--bulk"], env=_env(platform)
    )
    assert out.exit_code == 1 and "nothing was stored" in out.output
    assert _counts(platform) == before


def test_a_broken_file_stores_nothing(platform: Platform, tmp_path: Path) -> None:
    good = json.dumps({"type": "FeatureCollection", "features": [_feature(n) for n in range(300)]})
    path = tmp_path / "broken.geojson"
    path.write_text(good[: len(good) * 2 // 3] + "}}}]")
    report = bulk_import_incidents(platform, path, _options(platform))
    assert report.stopped is not None and "cannot be read" in report.stopped
    assert report.stored == 0 and _counts(platform)[0] == 0
    with pytest.raises(InvalidInput):
        bulk_import_incidents(platform, b"type,nothing\n", _options(platform, fmt="csv"))
    _index_intact(platform)


def test_a_failing_batch_rolls_back_the_whole_load(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cmcc.incidents import bulk_import, importer

    calls = {"n": 0}
    real = importer.store_batch

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_import, "store_batch", failing)
    path = _geojson(tmp_path / "a.geojson", [_feature(n) for n in range(450)])
    report = bulk_import_incidents(platform, path, _options(platform))
    assert report.stopped is not None and "rolled back whole" in report.stopped
    assert "disk full" in report.stopped and report.stored == 0
    assert _counts(platform) == (0, 0, 0)
    _index_intact(platform)


def test_killed_load_leaves_the_table_and_index_as_before(
    platform: Platform, tmp_path: Path
) -> None:
    path = _geojson(tmp_path / "big.geojson", [_feature(n) for n in range(60_000)])
    env = {**os.environ, **_env(platform)}
    cmd = [sys.executable, "-m", "cmcc", "import", "incidents", str(path), "--bulk"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _stop_midway(platform, proc, path)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _counts(platform) == (0, 0, 0)
    _index_intact(platform)
    # and the next load runs (no lock left behind)
    assert bulk_import_incidents(platform, path, _options(platform)).stored == 60_000
    _index_intact(platform)


def _stop_midway(platform: Platform, proc: subprocess.Popen[bytes], path: Path) -> None:
    """Freeze the load (SIGSTOP) inside its transaction once it has read 4 MiB more of the file
    than when the transaction was first seen (it reads 1 MiB at a time, one ahead of the parser;
    3 MiB parsed are about 12,000 rows: at least one batch of 5,000 is stored on either
    backend, PostgreSQL checking one batch ahead), and before it has committed: the kill that
    follows lands inside the transaction whatever the machine's speed. The file is read whole
    once for its hash before the transaction, hence the check of the transaction each time
    the position moves."""
    first = last = None
    deadline = time.monotonic() + 120
    with write_probe(platform) as writing:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            position = _read_position(proc.pid, path)
            if position is None or position == last:
                time.sleep(0.01)
                continue
            proc.send_signal(signal.SIGSTOP)
            last = position = _read_position(proc.pid, path)
            if position is not None and writing():
                if first is None:
                    first = position
                elif position >= first + 4 * 2**20:
                    return
            proc.send_signal(signal.SIGCONT)
    raise AssertionError("the load did not start")


def _read_position(pid: int, path: Path) -> int | None:
    """Where process `pid` is in its open `path` (Linux /proc), or None while it has none."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if Path(os.readlink(fd)) == path:
                info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
                return int(info.split("pos:")[1].split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return None
