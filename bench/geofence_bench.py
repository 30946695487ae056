"""Geofence engine at scale: 10,000 polygon zones over the Gaza Strip, 1,000,000 points.

Compares `GeofenceEngine.check_many` with a naive shapely baseline (an STRtree query) and with
PostGIS (a GiST-indexed table joined to the points), checks that all three find the same
(point, zone) pairs, and measures single-point `zones_at` latency. Prints figures; asserts
nothing. The targets from the issue: at least 1,000,000 checks per second in batch against
10,000 zones, and a single check p99 under 50 microseconds.

    .venv/bin/python bench/geofence_bench.py [--points 1000000] [--zones 10000]

Zones: seeded random polygons of 6-40 vertices, half convex and half concave (star-shaped),
with diameters log-uniform between 50 m and 5 km, centred in the Strip's bounding box
(lon 34.22-34.57, lat 31.22-31.60). Points: uniform in a slightly larger box. PostgreSQL is
used through psycopg in a scratch database that is dropped at the end, even on error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform as host
import statistics
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import psycopg
import shapely

from cmcc.geo.geofence import FenceZone, GeofenceEngine

PG_ADMIN = os.environ.get("CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LON0, LON1, LAT0, LAT1 = 34.22, 34.57, 31.22, 31.60
MARGIN = 0.02  # points fall up to this many degrees outside the zones' box
M_PER_DEG_LAT = 111_320.0
KINDS = ["civilian_safe_zone", "notified_humanitarian_site", "restricted_area"]
T0 = dt.datetime(2025, 10, 10, tzinfo=dt.UTC)
PG_BUDGET_S = 45.0  # PostGIS gets all the points when the estimate stays under this
PG_FALLBACK_POINTS = 200_000
R = TypeVar("R")


def make_zones(rng: np.random.Generator, n: int) -> list[FenceZone]:
    zones: list[FenceZone] = []
    while len(zones) < n:
        cx, cy = rng.uniform(LON0, LON1), rng.uniform(LAT0, LAT1)
        radius_m = math.exp(rng.uniform(math.log(50), math.log(5000))) / 2
        k = int(rng.integers(6, 41))
        step = 2 * math.pi / k
        angles = np.arange(k) * step + rng.uniform(-0.4, 0.4, k) * step
        concave = len(zones) % 2 == 1
        radii = radius_m * (rng.uniform(0.35, 1.0, k) if concave else np.ones(k))
        xs = cx + radii * np.cos(angles) / (M_PER_DEG_LAT * math.cos(math.radians(cy)))
        ys = cy + radii * np.sin(angles) / M_PER_DEG_LAT
        polygon = shapely.Polygon(np.c_[xs, ys])
        if not polygon.is_valid:  # not expected (star-shaped by construction); never kept
            continue
        start = T0 + dt.timedelta(days=int(rng.integers(-30, 30))) if rng.random() < 0.3 else None
        end = T0 + dt.timedelta(days=int(rng.integers(1, 60))) if rng.random() < 0.3 else None
        zones.append(FenceZone(len(zones) + 1, KINDS[len(zones) % 3], polygon, start, end))
    return zones


def timed(fn: Callable[[], R], runs: int) -> tuple[list[float], R]:
    """Wall-clock seconds of each run, and the last result."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return times, result


def rate(points: int, seconds: float) -> str:
    return f"{points / seconds:>12,.0f} checks/s ({seconds:.3f} s)"


def check_counts(label: str, counts: dict[str, int]) -> None:
    shown = ", ".join(f"{k}={v:,}" for k, v in counts.items())
    if len(set(counts.values())) == 1:
        print(f"  pairs found ({label}): {shown} -> all equal")
    else:
        print("!" * 78)
        print(f"!!! MISMATCH in pairs found ({label}): {shown}")
        print("!" * 78)


def postgis(
    zones: list[FenceZone], x: np.ndarray, y: np.ndarray
) -> tuple[int, float, int, list[str]]:
    """(pairs, seconds, points used, plan) for the points in PostGIS (a scratch database)."""
    db = f"cmcc_geofence_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + db
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("CREATE EXTENSION postgis")
            cur.execute("CREATE TABLE zones (id integer PRIMARY KEY, geom geometry(Polygon, 4326))")
            wkb = shapely.to_wkb([z.geometry for z in zones], hex=True)
            with cur.copy("COPY zones (id, geom) FROM STDIN") as copy:
                for z, w in zip(zones, wkb, strict=True):
                    copy.write_row((z.id, f"SRID=4326;{w}"))
            cur.execute("CREATE INDEX zones_geom ON zones USING gist (geom)")
            cur.execute("ANALYZE zones")
            query = (
                "SELECT count(*) FROM unnest(%s::float8[], %s::float8[]) AS pts(x, y)"
                " JOIN zones z ON ST_Intersects(z.geom, ST_SetSRID(ST_MakePoint(x, y), 4326))"
            )
            # Estimate on 10,000 points; all the points if that fits the time budget.
            probe = 10_000
            xs, ys = x[:probe].tolist(), y[:probe].tolist()
            t = time.perf_counter()
            cur.execute(query, (xs, ys))
            estimate = (time.perf_counter() - t) * len(x) / probe
            n = len(x) if estimate <= PG_BUDGET_S else min(PG_FALLBACK_POINTS, len(x))
            xs, ys = x[:n].tolist(), y[:n].tolist()
            cur.execute("EXPLAIN " + query, (xs[:10], ys[:10]))
            plan = [str(r[0]) for r in cur.fetchall()]
            t = time.perf_counter()
            cur.execute(query, (xs, ys))
            row = cur.fetchone()
            seconds = time.perf_counter() - t
            assert row is not None
            return int(row[0]), seconds, n, plan
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def latencies_us(fn: Callable[[float, float], object], x: np.ndarray, y: np.ndarray) -> str:
    out = []
    for lon, lat in zip(x.tolist(), y.tolist(), strict=True):
        t = time.perf_counter_ns()
        fn(lon, lat)
        out.append(time.perf_counter_ns() - t)
    q = np.percentile(np.array(out) / 1000, [50, 99, 100])
    return f"p50 {q[0]:7.1f}   p99 {q[1]:7.1f}   max {q[2]:8.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--zones", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="runs of our engine")
    parser.add_argument("--baseline-runs", type=int, default=1, help="runs of the STRtree")
    parser.add_argument("--single", type=int, default=20_000, help="points for zones_at")
    parser.add_argument("--seed", type=int, default=20251010)
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()

    print(
        f"machine: {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}; {host.platform()}"
    )
    print(
        f"python {host.python_version()}, numpy {np.__version__}, shapely {shapely.__version__}"
        f" (GEOS {shapely.geos_version_string})"
    )
    rng = np.random.default_rng(args.seed)
    zones = make_zones(rng, args.zones)
    x = rng.uniform(LON0 - MARGIN, LON1 + MARGIN, args.points)
    y = rng.uniform(LAT0 - MARGIN, LAT1 + MARGIN, args.points)
    polygons = [z.geometry for z in zones]
    vertices = shapely.get_num_coordinates(polygons) - 1
    print(
        f"zones: {len(zones):,} polygons, {vertices.min()}-{vertices.max()} vertices, "
        f"50 m - 5 km; points: {len(x):,}"
    )

    # (a) Our engine.
    t = time.perf_counter()
    engine = GeofenceEngine(zones)
    print(f"\n(a) GeofenceEngine.check_many   (index built in {time.perf_counter() - t:.2f} s)")
    times, result = timed(lambda: engine.check_many(x, y), args.runs)
    ours_pts, _ = result
    ours_best = min(times)
    print(f"  best of {args.runs}:   {rate(len(x), ours_best)}")
    print(f"  median of {args.runs}: {rate(len(x), statistics.median(times))}")
    print(f"  pairs: {len(ours_pts):,} ({len(ours_pts) / len(x):.2f} zones per point)")

    # (b) Naive baseline: one STRtree query.
    t = time.perf_counter()
    tree = shapely.STRtree(polygons)
    tree.query(shapely.Point(0, 0))  # GEOS builds the tree at the first query
    print(
        f"\n(b) shapely STRtree.query(points, 'intersects')   (tree built in "
        f"{time.perf_counter() - t:.2f} s; {args.baseline_runs} run each)"
    )
    times, found = timed(
        lambda: tree.query(shapely.points(x, y), predicate="intersects"), args.baseline_runs
    )
    tree_pairs = found.shape[1]
    with_points = min(times)
    points = shapely.points(x, y)
    times, _ = timed(lambda: tree.query(points, predicate="intersects"), args.baseline_runs)
    without_points = min(times)
    print(
        f"  with building the points:    {rate(len(x), with_points)}"
        f"   ours is {with_points / ours_best:5.1f}x faster"
    )
    print(
        f"  points built beforehand:     {rate(len(x), without_points)}"
        f"   ours is {without_points / ours_best:5.1f}x faster"
    )
    check_counts("ours vs STRtree, all points", {"ours": len(ours_pts), "STRtree": tree_pairs})

    # (c) PostGIS.
    if not args.no_postgis:
        pg_pairs, pg_seconds, n, plan = postgis(zones, x, y)
        subset = (
            "all the points"
            if n == len(x)
            else (
                f"first {n:,} points only: all {len(x):,} were estimated to take over "
                f"{PG_BUDGET_S:.0f} s"
            )
        )
        print(f"\n(c) PostGIS {subset}")
        print("  plan: " + " / ".join(line.strip() for line in plan[:4]))
        pg_rate = n / pg_seconds
        print(
            f"  one query, arrays sent:      {rate(n, pg_seconds)}"
            f"   ours is {len(x) / ours_best / pg_rate:5.1f}x faster"
        )
        ours_subset = len(engine.check_many(x[:n], y[:n])[0])
        check_counts(f"first {n:,} points", {"ours": ours_subset, "PostGIS": pg_pairs})

    # Single points.
    sx = rng.uniform(LON0 - MARGIN, LON1 + MARGIN, args.single)
    sy = rng.uniform(LAT0 - MARGIN, LAT1 + MARGIN, args.single)
    at = T0 + dt.timedelta(days=3)
    print(f"\nsingle point, {args.single:,} random points (microseconds per call)")
    print(f"  zones_at(lon, lat):              {latencies_us(engine.zones_at, sx, sy)}")
    print(
        "  zones_at(lon, lat, at, kinds):   "
        + latencies_us(lambda a, b: engine.zones_at(a, b, at=at, kinds=KINDS[:2]), sx, sy)
    )
    print(
        "  baseline STRtree.query(Point):   "
        + latencies_us(lambda a, b: tree.query(shapely.Point(a, b), "intersects"), sx, sy)
    )
    print(
        f"\ntotal {time.perf_counter() - started:.0f} s; load average now "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
