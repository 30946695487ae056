"""Incident exchange files: export (GeoJSON, CSV, HXL) through the release policy, and the bulk
import with row checks, batches, resume, alerts and one audit entry per batch - on both
backends, through the service, the REST API and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hxl
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
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
from cmcc.incidents import importer
from cmcc.incidents.exchange_router import router as exchange_router
from cmcc.incidents.exporter import COLUMNS
from cmcc.incidents.importer import ImportOptions, ImportReport, import_incidents, rows_sha256
from cmcc.incidents.models import Alert, Incident
from cmcc.interop.tabular import iter_features
from tests.factories import caller

HEADER = "external_ref,type,occurred_at,reported_at,lat,lon,severity,killed_civilian,narrative"
SAFE = {
    "type": "Polygon",
    "coordinates": [
        [[34.44, 31.50], [34.46, 31.50], [34.46, 31.52], [34.44, 31.52], [34.44, 31.50]]
    ],
}
AREA = {
    "type": "Polygon",
    "coordinates": [
        [[34.30, 31.40], [34.32, 31.40], [34.32, 31.42], [34.30, 31.42], [34.30, 31.40]]
    ],
}


@pytest.fixture
def api(platform: Platform) -> Iterator[TestClient]:
    """The app with the exchange routes ahead of `/incidents/{incident_id}` (as mounted)."""
    app = create_app(platform)
    if not any(getattr(r, "path", "") == "/api/v1/incidents/export" for r in app.router.routes):
        before = len(app.router.routes)
        app.include_router(exchange_router)
        added = app.router.routes[before:]
        del app.router.routes[before:]
        app.router.routes[0:0] = added
    with TestClient(app) as client:
        yield client


def _env(platform: Platform) -> dict[str, str]:
    return {
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
    }


def _options(platform: Platform, org: str = "CMCC", **over: Any) -> ImportOptions:
    with platform.unit_of_work(Principal.system_operator()) as s:
        org_id = org_by_code(s, org).id
    values: dict[str, Any] = {
        "owner_org_id": org_id,
        "marking": Marking.parse("mission"),
        "actor": "test:import",
        "aoi": platform.settings.aoi_bbox,
    }
    values.update(over)
    return ImportOptions(**values)


def _import(platform: Platform, path: Path, **over: Any) -> ImportReport:
    return import_incidents(platform, path, _options(platform, **over))


def _csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _row(
    ref: str,
    *,
    lat: float = 31.4,
    lon: float = 34.35,
    when: str = "2026-03-01T10:00:00Z",
    kind: str = "ceasefire_violation_fire",
    severity: str = "3",
) -> str:
    return f"{ref},{kind},{when},,{lat},{lon},{severity},0,row {ref}"


def _stored(platform: Platform) -> dict[str, Incident]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        return {i.external_ref or "": i for i in s.scalars(select(Incident))}


def _report(client: TestClient, headers: dict[str, str], **over: Any) -> dict[str, Any]:
    body = {
        "type": "ceasefire_violation_fire",
        "occurred_at": "2026-03-01T10:00:00Z",
        "geometry": {"type": "Point", "coordinates": [34.45, 31.517]},
        "severity": 3,
        "source_reliability": "B",
        "info_credibility": 2,
        "narrative": "Small arms fire",
    }
    body.update(over)
    r = client.post("/api/v1/incidents", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


SNAPSHOT_FIELDS = (
    "type",
    "occurred_at",
    "reported_at",
    "severity",
    "killed_civilian",
    "killed_other",
    "injured_civilian",
    "injured_other",
    "source_reliability",
    "info_credibility",
    "narrative",
    "source",
    "owner_org_id",
    "releasability",
)


def _snapshot(platform: Platform) -> list[tuple[Any, ...]]:
    with platform.unit_of_work(Principal.system_operator()) as s:
        rows = s.scalars(select(Incident).order_by(Incident.occurred_at))
        return [(*(getattr(i, f) for f in SNAPSHOT_FIELDS), i.geometry.wkt) for i in rows]


@pytest.mark.parametrize("fmt", ["geojson", "csv", "hxl"])
def test_round_trip_export_then_import(
    platform: Platform, api: TestClient, tmp_path: Path, fmt: str
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    tricky = 'Fire, "heavy"\nsecond line\twith a tab and a \\ backslash; عربي'
    _report(
        api,
        staff,
        external_ref="R-1",
        narrative=tricky,
        killed_civilian=2,
        injured_other=4,
        source="UN report 12",
    )
    _report(
        api,
        staff,
        external_ref="R-2",
        type="aid_looting",
        geometry=AREA,
        severity=5,
        occurred_at="2026-03-02T08:30:00.250000+02:00",
        reported_at="2026-03-03T00:00:00Z",
    )
    _report(
        api,
        staff,
        occurred_at="2026-03-04T00:00:00Z",
        source_reliability="F",
        narrative='=HYPERLINK("http://x")',
        source="-2 sources",
    )
    before = _snapshot(platform)

    r = api.get("/api/v1/incidents/export", headers=staff, params={"format": fmt})
    assert r.status_code == 200, r.text
    path = tmp_path / {"geojson": "x.geojson", "csv": "x.csv", "hxl": "x.hxl.csv"}[fmt]
    path.write_bytes(r.content)
    if fmt == "geojson":
        assert r.headers["content-type"].startswith("application/geo+json")
        doc = json.loads(r.content)
        assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 3
        assert {f["geometry"]["type"] for f in doc["features"]} == {"Point", "Polygon"}
    if fmt == "hxl":
        data = hxl.data(str(path), hxl.InputOptions(allow_local=True)).cache()
        tags = set(data.display_tags)
        for tag in (
            "#event+type",
            "#date+occurred",
            "#geo+lat",
            "#geo+lon",
            "#severity",
            "#affected+killed+civilian",
            "#description",
            "#meta+ref",
        ):
            assert tag in tags, tag
        assert len(list(data)) == 3
        assert sorted(r.get("#meta+ref") or "" for r in data) == ["", "R-1", "R-2"]
        assert {r.get("#event+type") for r in data} == {"ceasefire_violation_fire", "aid_looting"}
        assert "'=HYPERLINK" in r.text  # a spreadsheet shows the formula as text

    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        s.execute(delete(Alert))
        s.execute(delete(Incident))
    report = _import(platform, path)
    assert (report.stored, report.bad_rows, report.stopped) == (3, 0, None), report.errors
    assert report.fmt == fmt
    assert _snapshot(platform) == before
    refs = set(_stored(platform))
    assert {"R-1", "R-2"} <= refs
    (generated,) = refs - {"R-1", "R-2"}
    assert generated.startswith(report.file_sha256[:12] + ":")


def test_bad_rows_are_reported_by_line_and_good_rows_stored(
    platform: Platform, tmp_path: Path
) -> None:
    rows = [
        _row("G-1"),  # line 2
        _row("B-type", kind="shelling"),
        _row("B-naive", when="2026-03-01T10:00:00"),
        "B-order,ceasefire_violation_fire,2026-03-02T10:00:00Z,2026-03-01T10:00:00Z,31.4,34.35,3,0,x",
        _row("B-sev", severity="9"),
        "B-count,ceasefire_violation_fire,2026-03-01T10:00:00Z,,31.4,34.35,3,-1,x",
        _row("B-range", lat=131.4),
        _row("B-swap", lat=34.35, lon=31.4),
        _row("B-far", lat=48.85, lon=2.35),
        _row("B-future", when="2099-01-01T00:00:00Z"),
        "B-nolat,ceasefire_violation_fire,2026-03-01T10:00:00Z,,,34.35,3,0,x",
        _row("G-2", when="2026-03-01T12:00:00+02:00"),  # line 13
    ]
    path = _csv(tmp_path / "in.csv", rows)
    report = _import(platform, path, batch_size=5)
    assert report.stored == 2 and report.bad_rows == 10 and report.rows_read == 12
    by_line = {e.line: (e.field, e.reason) for e in report.errors}
    expected = {
        3: ("type", "'shelling' is not an incident type"),
        4: ("occurred_at", "needs a time zone"),
        5: ("reported_at", "reported_at is before occurred_at"),
        6: ("severity", "must be 1 to 5"),
        7: ("killed_civilian", "must be 0 to 100000"),
        8: ("lat/lon", "out of range"),
        9: ("lat/lon", "look swapped"),
        10: ("lat/lon", "outside the mission's area of interest"),
        11: ("occurred_at", "in the future"),
        12: ("lat/lon", "required"),
    }
    for line, (field, words) in expected.items():
        assert by_line[line][0] == field, (line, by_line[line])
        assert words in by_line[line][1], (line, by_line[line])
    assert set(_stored(platform)) == {"G-1", "G-2"}
    far_ok = _csv(tmp_path / "far.csv", [_row("F-1", lat=48.85, lon=2.35)])
    assert _import(platform, far_ok, outside_aoi=True).stored == 1


def test_hxl_file_from_another_tool(platform: Platform, tmp_path: Path) -> None:
    """Hashtags in any attribute order, a title row above, unknown columns ignored."""
    path = tmp_path / "other.csv"
    path.write_text(
        "Incidents reported by partners,,,,,\n"
        "What,When,Latitude,Longitude,How bad,Remarks,Region\n"
        "#event+type,#date+occurred,#geo+lat,#geo+lon,#severity,#description,#adm1+name\n"
        "aid_obstruction,2026-03-05T09:00:00Z,31.35,34.30,2,Convoy stopped,Khan Younis\n",
        encoding="utf-8",
    )
    report = _import(platform, path)
    assert (report.fmt, report.stored, report.bad_rows) == ("hxl", 1, 0)
    assert report.ignored_columns == ["Region #adm1+name"]
    (stored,) = _stored(platform).values()
    assert stored.narrative == "Convoy stopped" and stored.external_ref.endswith(":4")


def test_running_the_same_file_again_adds_nothing(platform: Platform, tmp_path: Path) -> None:
    header = "type,occurred_at,lat,lon,severity"  # no ref column: <sha>:<line> refs
    rows = [f"unrest,2026-03-01T10:{m:02d}:00Z,31.4,34.35,2" for m in range(12)]
    path = _csv(tmp_path / "plain.csv", rows, header)
    first = _import(platform, path, batch_size=5)
    assert (first.stored, first.skipped, first.batches) == (12, 0, 3)
    again = _import(platform, path, batch_size=5)
    assert (again.stored, again.skipped) == (0, 12)
    assert len(_stored(platform)) == 12


def test_a_failing_batch_keeps_earlier_batches_and_writes_nothing_after(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _csv(tmp_path / "f.csv", [_row(f"F-{n}") for n in range(1, 16)])
    _import(platform, _csv(tmp_path / "one.csv", [_row("F-8")]))  # stored before: batch 2 clashes
    monkeypatch.setattr(importer, "_stored_refs", lambda session, refs, dialect: set())
    report = _import(platform, path, batch_size=5)
    assert report.stored == 5 and report.batches == 1
    assert report.stopped is not None and "batch 2 (lines 7-11)" in report.stopped
    assert set(_stored(platform)) == {"F-8", *(f"F-{n}" for n in range(1, 6))}
    monkeypatch.undo()
    resumed = _import(platform, path, batch_size=5)
    assert (resumed.stored, resumed.skipped, resumed.stopped) == (9, 6, None)
    assert len(_stored(platform)) == 15
    with platform.unit_of_work(Principal.system_operator()) as s:
        assert verify(s).ok


def test_export_respects_the_release_policy(platform: Platform, api: TestClient) -> None:
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    own = _report(api, gbr, external_ref="GBR-OWN", releasability="owner")
    shared = _report(api, gbr, external_ref="GBR-MISSION")
    public = _report(api, staff, external_ref="CMCC-PUBLIC", releasability="public")

    def ids(headers: dict[str, str], fmt: str) -> set[int]:
        r = api.get("/api/v1/incidents/export", headers=headers, params={"format": fmt})
        assert r.status_code == 200, r.text
        if fmt == "geojson":
            return {f["id"] for f in r.json()["features"]}
        return {int(row["id"]) for row in csv.DictReader(io.StringIO(r.text))}

    for fmt in ("geojson", "csv"):
        assert ids(staff, fmt) == {shared["id"], public["id"]}
        assert ids(gbr, fmt) == {own["id"], shared["id"], public["id"]}
        assert ids({}, fmt) == {public["id"]}
    filtered = api.get(
        "/api/v1/incidents/export", headers=gbr, params={"format": "geojson", "min_severity": 4}
    )
    assert filtered.json()["features"] == []
    boxed = api.get(
        "/api/v1/incidents/export",
        headers=gbr,
        params={"format": "csv", "bbox": "34.40,31.48,34.52,31.56"},
    )
    assert len(list(csv.DictReader(io.StringIO(boxed.text)))) == 3
    elsewhere = api.get(
        "/api/v1/incidents/export",
        headers=gbr,
        params={"format": "csv", "bbox": "34.20,31.20,34.30,31.30"},
    )
    assert list(csv.DictReader(io.StringIO(elsewhere.text))) == []
    assert api.get("/api/v1/incidents/export", params={"bbox": "1,2"}).status_code == 422


def test_imported_rows_in_a_safe_zone_raise_alerts(
    platform: Platform, api: TestClient, tmp_path: Path
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    zone = {
        "name": "Safe zone A",
        "kind": "civilian_safe_zone",
        "geometry": SAFE,
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_to": "2026-06-01T00:00:00Z",
        "notional": True,
    }
    assert api.post("/api/v1/zones", headers=staff, json=zone).status_code == 201
    rows = [
        _row("IN-1", lat=31.51, lon=34.45),
        _row("IN-START", lat=31.51, lon=34.45, when="2026-01-01T00:00:00Z"),
        _row("OUT-PLACE", lat=31.40, lon=34.35),
        _row("OUT-TIME", lat=31.51, lon=34.45, when="2026-07-01T00:00:00Z"),
        _row("IN-2", lat=31.505, lon=34.455, when="2026-05-31T23:59:59Z"),
    ]
    report = _import(
        platform, _csv(tmp_path / "z.csv", rows), batch_size=2, marking=Marking.parse("owner")
    )
    assert report.alerts == 3
    refs = {i.id: ref for ref, i in _stored(platform).items()}
    with platform.unit_of_work(Principal.system_operator()) as s:
        alerts = list(s.scalars(select(Alert)))
    assert sorted(refs[a.incident_id or 0] for a in alerts) == ["IN-1", "IN-2", "IN-START"]
    for alert in alerts:
        assert alert.message == 'Ceasefire violation: fire inside civilian safe zone "Safe zone A"'
        assert (alert.kind, alert.status, alert.marking_text) == (
            "incident_in_zone",
            "open",
            "owner",
        )
    listed = api.get("/api/v1/alerts", headers=staff).json()["data"]
    assert len(listed) == 3  # the owner (CMCC) sees them


def test_one_audit_entry_per_batch_and_the_chain_holds(platform: Platform, tmp_path: Path) -> None:
    path = _csv(tmp_path / "a.csv", [_row(f"A-{n}") for n in range(12)])
    report = _import(platform, path, batch_size=5)
    with platform.unit_of_work(Principal.system_operator()) as s:
        entries = list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.action == "import").order_by(AuditEntry.seq)
            )
        )
        assert verify(s).ok
        ids = sorted(s.scalars(select(Incident.id)))
    assert len(entries) == 3
    assert {e.entity for e in entries} == {"incidents"} and {e.actor for e in entries} == {
        "test:import"
    }
    changes = [json.loads(e.changes) for e in entries]
    assert [c["rows"] for c in changes] == [5, 5, 2]
    assert [c["lines"] for c in changes] == ["2-6", "7-11", "12-13"]
    assert {c["file_sha256"] for c in changes} == {report.file_sha256}
    assert entries[0].record_id == f"{ids[0]}-{ids[4]}"
    with platform.unit_of_work(Principal.system_operator()) as s:  # the digest is verifiable
        first = list(s.scalars(select(Incident).where(Incident.id <= ids[4]).order_by(Incident.id)))
    assert changes[0]["sha256_of_rows"] == rows_sha256(_as_rows(first))


def _as_rows(incidents: list[Incident]) -> importer.Rows:
    """Stored incidents in the form the importer hashed them."""
    counts = {c: [getattr(i, c) for i in incidents] for c in importer.COUNTS}
    return importer.Rows(
        lines=[0] * len(incidents),
        refs=[i.external_ref or "" for i in incidents],
        types=[i.type for i in incidents],
        occurred=[importer.utc_text(i.occurred_at) for i in incidents],
        reported=[importer.utc_text(i.reported_at) for i in incidents],
        ints={
            "severity": [i.severity for i in incidents],
            **counts,
            "info_credibility": [i.info_credibility for i in incidents],
        },
        grades=[i.source_reliability for i in incidents],
        narratives=[i.narrative for i in incidents],
        sources=[i.source for i in incidents],
        wkb=[i.geom_wkb for i in incidents],
        bounds=np.zeros((len(incidents), 4)),
        points=np.zeros((len(incidents), 2)),
    )


def test_rest_import_owned_by_the_callers_organization(platform: Platform, api: TestClient) -> None:
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    body = "\n".join([HEADER, _row("API-1"), _row("API-BAD", severity="x")]) + "\n"
    r = api.post(
        "/api/v1/incidents/import",
        headers={**gbr, "Content-Type": "text/csv"},
        content=body,
        params={"releasability": "owner"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["stored"], out["bad_rows"], out["complete"]) == (1, 1, True)
    assert out["errors"] == [
        {"line": 3, "field": "severity", "reason": "'x' is not a whole number"}
    ]
    (stored,) = _stored(platform).values()
    assert stored.releasability == "owner"
    with platform.unit_of_work(Principal.system_operator()) as s:
        assert stored.owner_org_id == org_by_code(s, "GBR").id
    anonymous = api.post("/api/v1/incidents/import", content=body)
    assert anonymous.status_code == 401
    donor = caller(platform, "NOR", Role.DONOR).headers
    assert api.post("/api/v1/incidents/import", headers=donor, content=body).status_code == 403


def test_cli_import_and_export(platform: Platform, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(platform)
    path = _csv(tmp_path / "cli.csv", [_row("C-1"), _row("C-2", kind="nope"), _row("C-3")])
    errors = tmp_path / "errors.csv"
    out = runner.invoke(
        imports.import_app,
        [
            "incidents",
            str(path),
            "--errors",
            str(errors),
            "--batch-size",
            "2",
            "--releasability",
            "owner",
        ],
        env=env,
    )
    assert out.exit_code == 1, out.output  # a bad row
    assert "Bad rows" in out.output and "'nope' is not an incident type" in out.output
    assert list(csv.reader(errors.open()))[1][:2] == ["3", "type"]
    again = runner.invoke(imports.import_app, ["incidents", str(path), "--as", "CMCC"], env=env)
    assert again.exit_code == 1 and "2" in again.output
    nope = runner.invoke(imports.import_app, ["incidents", str(path), "--as", "NOPE"], env=env)
    assert nope.exit_code == 1 and "not found" in nope.output

    exported = runner.invoke(imports.export_app, ["incidents", "--format", "hxl"], env=env)
    assert exported.exit_code == 0, exported.output
    lines = exported.stdout.splitlines()
    assert lines[0].startswith("id,external_ref,type") and lines[1].startswith("#meta+id")
    assert len(lines) == 4
    caller(platform, "GBR", Role.LIAISON_OFFICER)  # creates the organization
    as_gbr = runner.invoke(imports.export_app, ["incidents", "--as", "GBR"], env=env)
    assert as_gbr.exit_code == 0 and json.loads(as_gbr.stdout)["features"] == []


def test_geojson_is_read_feature_by_feature() -> None:
    features = [
        {"type": "Feature", "geometry": None, "properties": {"n": n, "s": '}]"{'}}
        for n in range(50)
    ]
    text = json.dumps({"name": "x", "features": features, "type": "FeatureCollection"})
    got = list(iter_features(io.StringIO(text), chunk=7))
    assert [p for p, _ in got] == list(range(1, 51))
    assert [f["properties"]["n"] for _, f in got] == list(range(50))
    assert [c.hashtag for c in COLUMNS][:3] == ["#meta+id", "#meta+ref", "#event+type"]
    assert shapely.Point(0, 0).is_valid


@settings(deadline=None)  # microseconds each, but one stall of a loaded machine is 200 ms
@given(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)))
def test_fast_time_path_agrees_with_the_slow_one(moment: dt.datetime) -> None:
    text = moment.isoformat() + "Z"
    slow = importer.utc_text(dt.datetime.fromisoformat(text))
    assert importer._utc_texts((text,)) == [slow]


def test_a_file_broken_halfway_keeps_what_came_before(platform: Platform, tmp_path: Path) -> None:
    feature = (
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [34.35, 31.4]}, '
        '"properties": {"type": "unrest", "occurred_at": "2026-03-01T10:00:00Z", '
        '"severity": 2, "external_ref": "G-%d"}}'
    )
    good = ",\n".join(feature % n for n in range(7))
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [\n' + good + ",\n{oops\n")
    report = _import(platform, path, batch_size=5)
    assert report.stored == 5 and report.stopped is not None
    assert "cannot be read after line 5" in report.stopped
    not_json = tmp_path / "not.geojson"
    not_json.write_text("type,occurred_at\n")
    with pytest.raises(InvalidInput, match="not a GeoJSON FeatureCollection"):
        _import(platform, not_json)
