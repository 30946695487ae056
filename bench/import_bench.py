"""Bulk import of incidents: rows per second into SQLite and PostgreSQL. Prints; asserts nothing.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--batch-size 5000]
                                           [--backends sqlite,postgresql]
                                           [--file geojson|csv] [--modes normal,bulk]

Generates N valid rows into a temporary GeoJSON (default) or CSV file (timed on its own), then
imports the file into a scratch SQLite database (CMCC_HOME in a temporary folder) and into a
scratch PostgreSQL database (created and dropped here; COPY), once per mode, each into a fresh
database, in the same run: `normal` (`cmcc.incidents.importer`: the R*Tree triggers / the GiST
index live) and `bulk` (`cmcc.incidents.bulk_import`, `--bulk`: the index built once after the
load). 20 zones, two of them civilian safe zones (one closing during the period), so that the
geofence runs and raises alerts.

Printed per backend and mode: end to end (file -> database: read, check, store, alerts, audit,
index build, commit), with where the time goes, against the targets of issue 18: normal
SQLite >= 100,000 and PostgreSQL >= 150,000 rows/s; bulk SQLite >= 150,000 and PostgreSQL >=
300,000 rows/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform as host
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
import psycopg

from cmcc.access.domain import Principal
from cmcc.access.service import org_by_code
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.core.releasability import Marking
from cmcc.incidents.bulk_import import bulk_import_incidents
from cmcc.incidents.domain import IncidentType
from cmcc.incidents.importer import ImportOptions, ImportReport, import_incidents
from cmcc.initialize import initialize
from cmcc.zones.schemas import ZoneCreate
from cmcc.zones.service import create_zone

PG_ADMIN = os.environ.get("CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-" + "x" * 32
TARGETS = {
    ("SQLite", "normal"): 100_000,
    ("PostgreSQL", "normal"): 150_000,
    ("SQLite", "bulk"): 150_000,
    ("PostgreSQL", "bulk"): 300_000,
}
HEADER = (
    "type,occurred_at,reported_at,lat,lon,severity,killed_civilian,killed_other,"
    "injured_civilian,injured_other,source_reliability,info_credibility,narrative,source"
)
BOX = (34.22, 31.22, 34.56, 31.58)  # the Gaza Strip, roughly
START = dt.datetime(2025, 10, 10, tzinfo=dt.UTC)
SPAN_S = 380 * 86400
BLOCK = 100_000


def generate(path: Path, n: int, seed: int = 2026) -> None:
    """N valid rows, written in blocks (memory stays bounded)."""
    rng = np.random.default_rng(seed)
    types = np.array([t.value for t in IncidentType])
    grades = np.array(list("ABCDEF"))
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        for start in range(0, n, BLOCK):
            m = min(BLOCK, n - start)
            secs = rng.integers(0, SPAN_S, m)
            occurred = np.datetime64("2025-10-10T00:00:00") + secs.astype("timedelta64[s]")
            reported = occurred + rng.integers(0, 7200, m).astype("timedelta64[s]")
            lon = np.round(rng.uniform(BOX[0], BOX[2], m), 6)
            lat = np.round(rng.uniform(BOX[1], BOX[3], m), 6)
            counts = rng.poisson(0.4, (m, 4))
            columns = [
                types[rng.integers(0, len(types), m)].tolist(),
                [t + "Z" for t in np.datetime_as_string(occurred, unit="s").tolist()],
                [t + "Z" for t in np.datetime_as_string(reported, unit="s").tolist()],
                lat.astype(str).tolist(),
                lon.astype(str).tolist(),
                rng.integers(1, 6, m).astype(str).tolist(),
                *(counts[:, k].astype(str).tolist() for k in range(4)),
                grades[rng.integers(0, 6, m)].tolist(),
                rng.integers(1, 7, m).astype(str).tolist(),
                [f"Bench incident {start + i}: patrol report" for i in range(m)],
                ["bench"] * m,
            ]
            f.write("\n".join(map(",".join, zip(*columns, strict=True))) + "\n")


def generate_geojson(path: Path, n: int, seed: int = 2026) -> None:
    """The same rows as `generate`, as a GeoJSON FeatureCollection of points."""
    csv_path = path.with_suffix(".csv")
    generate(csv_path, n, seed)
    names = HEADER.split(",")
    ints = {"severity", "killed_civilian", "killed_other", "injured_civilian", "injured_other"}
    with csv_path.open(encoding="utf-8") as src, path.open("wb") as out:
        next(src)
        out.write(b'{"type":"FeatureCollection","features":[\n')
        first = True
        for line in src:
            row = dict(zip(names, line.rstrip("\n").split(","), strict=True))
            lon, lat = float(row.pop("lon")), float(row.pop("lat"))
            props: dict[str, object] = {
                k: int(v) if k in ints or k == "info_credibility" else v for k, v in row.items()
            }
            feature = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": props,
            }
            out.write((b"" if first else b",\n") + orjson.dumps(feature))
            first = False
        out.write(b"\n]}\n")
    csv_path.unlink()


def square(lon: float, lat: float, half: float) -> dict[str, object]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def add_zones(platform: Platform) -> None:
    """20 zones: 2 civilian safe zones (one closes mid-period), 18 of kinds that raise nothing."""
    kinds = ["isf_sector", "administrative_area", "hazard_area", "cleared_area", "crossing"]
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        cmcc = org_by_code(s, "CMCC")
        who = Principal.system_operator(cmcc.id, cmcc.code)
        zones = [
            ZoneCreate(
                name="Safe zone A",
                kind="civilian_safe_zone",
                geometry=square(34.30, 31.30, 0.02),
                valid_from=dt.datetime(2025, 10, 1, tzinfo=dt.UTC),
            ),
            ZoneCreate(
                name="Safe zone B",
                kind="civilian_safe_zone",
                geometry=square(34.45, 31.50, 0.015),
                valid_from=dt.datetime(2025, 11, 1, tzinfo=dt.UTC),
                valid_to=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
            ),
        ]
        for k in range(18):
            lon = BOX[0] + 0.03 + (k % 6) * 0.05
            lat = BOX[1] + 0.05 + (k // 6) * 0.1
            zones.append(
                ZoneCreate(
                    name=f"Zone {k}",
                    kind=kinds[k % len(kinds)],
                    geometry=square(lon, lat, 0.02),
                    valid_from=dt.datetime(2025, 10, 1, tzinfo=dt.UTC),
                )
            )
        for zone in zones:
            create_zone(s, who, zone, aoi=platform.settings.aoi_bbox, fence=None)


def run_import(platform: Platform, path: Path, batch_size: int, mode: str) -> ImportReport:
    initialize(platform)
    add_zones(platform)
    with platform.unit_of_work(Principal.system_operator()) as s:
        owner = org_by_code(s, "CMCC").id
    options = ImportOptions(
        owner_org_id=owner,
        marking=Marking.parse("mission"),
        actor="bench:import",
        aoi=platform.settings.aoi_bbox,
        batch_size=batch_size,
    )
    platform.fence()  # loaded before the clock starts, as in a running server
    load = bulk_import_incidents if mode == "bulk" else import_incidents
    return load(platform, path, options)


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("nan")


def show(name: str, mode: str, report: ImportReport, extra: str) -> list[str]:
    t = report.timings
    n = report.stored
    target = TARGETS[name, mode]
    known = ("read", "check", "store", "index", "commit")
    other = t["total"] - sum(t.get(k, 0.0) for k in known)
    lines = [
        f"{name} {mode} ({extra}): {n:,} stored, {report.skipped:,} skipped, "
        f"{report.bad_rows:,} bad, {report.alerts:,} alerts, {report.batches} batches, "
        f"complete={report.complete}",
        f"  time: total {t['total']:.1f} s = read (parse) {t.get('read', 0):.1f} + check "
        f"{t.get('check', 0):.1f} + batches {t.get('store', 0):.1f} (of which insert statements "
        f"{t.get('insert', 0):.1f}) + index {t.get('index', 0):.1f} + commit "
        f"{t.get('commit', 0):.1f} + other {other:.1f}",
    ]
    for label, seconds in (
        ("end to end (file -> database)", t["total"]),
        ("batch transactions alone", t.get("store", 0.0)),
        ("insert statements alone", t.get("insert", 0.0)),
    ):
        r = rate(n, seconds)
        lines.append(f"  {label:<32} {r:>10,.0f} rows/s  = {r / target:.2f} x target {target:,}")
    return lines


def pg_url(db: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{db}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--file", choices=("geojson", "csv"), default="geojson")
    parser.add_argument("--modes", default="normal,bulk")
    args = parser.parse_args()
    load_before = os.getloadavg()
    print(
        f"machine: {host.node()}, {os.cpu_count()} CPUs, {host.machine()}, Python "
        f"{host.python_version()}, SQLite {sqlite3.sqlite_version}, load average "
        f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}"
    )
    out: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"incidents.{args.file}"
        t0 = time.perf_counter()
        (generate_geojson if args.file == "geojson" else generate)(path, args.rows)
        gen = time.perf_counter() - t0
        size = path.stat().st_size
        print(
            f"generated {args.rows:,} rows ({size / 1e6:.0f} MB) in {gen:.1f} s "
            f"({rate(args.rows, gen):,.0f} rows/s; not part of the figures below)"
        )
        for backend, mode in itertools.product(args.backends.split(","), args.modes.split(",")):
            if backend == "sqlite":
                home = Path(folder) / f"home-{mode}"
                p = bootstrap(Settings(home=home, secret_key=SECRET, environment="test"))
                try:
                    report = run_import(p, path, args.batch_size, mode)
                finally:
                    p.dispose()
                index = "R*Tree built after" if mode == "bulk" else "R*Tree triggers"
                out += show("SQLite", mode, report, f"WAL, {index}, batch {args.batch_size}")
            else:
                db = f"cmcc_import_bench_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{db}"')
                    version = conn.execute("SHOW server_version").fetchone()
                try:
                    p = bootstrap(Settings(database_url=pg_url(db), secret_key=SECRET))
                    try:
                        report = run_import(p, path, args.batch_size, mode)
                    finally:
                        p.dispose()
                finally:
                    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                server = version[0] if version else "?"
                index = "GiST built after" if mode == "bulk" else "GiST live"
                out += show("PostgreSQL", mode, report, f"{server}, COPY, {index}")
    print("\n".join(out))
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")


if __name__ == "__main__":
    main()
