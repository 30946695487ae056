"""The geofence engine: point-in-zone answers, filters, changes, batches, threads."""

from __future__ import annotations

import datetime as dt
import math
import threading
import warnings
from enum import StrEnum

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon, box

from cmcc.geo.geofence import FenceZone, GeofenceEngine, _prepared_copies

T0 = dt.datetime(2025, 10, 10, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)

# A 10 x 10 square with a 2 x 2 hole in the middle, and a multipolygon of two unit squares.
SQUARE = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(4, 4), (6, 4), (6, 6), (4, 6)]])
PAIR = MultiPolygon([box(20, 0, 21, 1), box(30, 0, 31, 1)])


class Kind(StrEnum):
    SAFE = "civilian_safe_zone"
    RESTRICTED = "restricted_area"


def ids(zones: list[FenceZone]) -> list[int]:
    return [z.id for z in zones]


@pytest.fixture
def engine() -> GeofenceEngine:
    return GeofenceEngine(
        [
            FenceZone(1, Kind.SAFE, SQUARE),
            FenceZone(2, Kind.RESTRICTED, PAIR),
            FenceZone(3, "other", box(8, 8, 12, 12), T0, T0 + HOUR),
        ]
    )


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (1.0, 1.0, [1]),  # inside
        (-1.0, 1.0, []),  # outside
        (0.0, 5.0, [1]),  # on an edge
        (10.0, 10.0, [1, 3]),  # on a corner of both
        (5.0, 5.0, []),  # in the hole
        (4.0, 5.0, [1]),  # on the hole's edge
        (20.5, 0.5, [2]),  # first part
        (30.5, 0.5, [2]),  # second part
        (25.0, 0.5, []),  # between the parts
        (11.0, 11.0, [3]),
        (1e9, -1e9, []),  # far away
    ],
)
def test_zones_at(engine: GeofenceEngine, lon: float, lat: float, expected: list[int]) -> None:
    assert ids(engine.zones_at(lon, lat)) == expected
    pts, zone_ids = engine.check_many(np.array([lon]), np.array([lat]))
    assert zone_ids.tolist() == expected
    assert pts.tolist() == [0] * len(expected)


def test_zones_at_returns_the_zones_given(engine: GeofenceEngine) -> None:
    zone = FenceZone(7, "x", box(0, 0, 1, 1))
    engine.upsert(zone)
    assert engine.zones_at(0.5, 0.5)[-1] is zone


@pytest.mark.parametrize(
    ("at", "hit"),
    [
        (None, True),  # validity ignored
        (T0 - dt.timedelta(microseconds=1), False),  # before
        (T0, True),  # from valid_from on
        (T0 + HOUR / 2, True),
        (T0 + HOUR - dt.timedelta(microseconds=1), True),
        (T0 + HOUR, False),  # valid_to is exclusive
        ((T0 + HOUR / 2).astimezone(dt.timezone(dt.timedelta(hours=2))), True),  # any offset
    ],
)
def test_validity(engine: GeofenceEngine, at: dt.datetime | None, hit: bool) -> None:
    assert ids(engine.zones_at(11, 11, at=at)) == ([3] if hit else [])
    assert engine.check_many([11.0], [11.0], at=at)[1].tolist() == ([3] if hit else [])
    assert ids(engine.zones_at(1, 1, at=at)) == [1]  # open bounds: always valid


def test_open_ended_validity() -> None:
    engine = GeofenceEngine(
        [
            FenceZone(1, "a", box(0, 0, 1, 1), valid_from=T0),
            FenceZone(2, "a", box(0, 0, 1, 1), valid_to=T0),
        ]
    )
    assert ids(engine.zones_at(0.5, 0.5, at=T0 - HOUR)) == [2]
    assert ids(engine.zones_at(0.5, 0.5, at=T0)) == [1]
    assert ids(engine.zones_at(0.5, 0.5, at=T0 + 1000 * HOUR)) == [1]


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (None, [1, 3]),
        ({Kind.SAFE}, [1]),
        (["civilian_safe_zone", "other"], [1, 3]),
        (frozenset({Kind.RESTRICTED}), []),
        ("other", [3]),  # a bare string is one kind
        ((), []),
    ],
)
def test_kinds(engine: GeofenceEngine, kinds: list[str] | None, expected: list[int]) -> None:
    assert ids(engine.zones_at(9, 9, kinds=kinds)) == expected
    assert engine.check_many([9.0], [9.0], kinds=kinds)[1].tolist() == expected


def test_kinds_and_validity_together(engine: GeofenceEngine) -> None:
    assert ids(engine.zones_at(9, 9, at=T0, kinds=["other"])) == [3]
    assert ids(engine.zones_at(9, 9, at=T0 + HOUR, kinds=["other"])) == []


def test_upsert_remove_replace_all(engine: GeofenceEngine) -> None:
    assert len(engine) == 3
    engine.upsert(FenceZone(1, "moved", box(100, 100, 101, 101)))  # replaces zone 1
    assert len(engine) == 3
    assert ids(engine.zones_at(1, 1)) == []
    assert [(z.id, z.kind) for z in engine.zones_at(100.5, 100.5)] == [(1, "moved")]
    engine.upsert(FenceZone(4, "new", box(0, 0, 2, 2)))
    assert ids(engine.zones_at(1, 1)) == [4]
    engine.remove(4)
    engine.remove(4)  # absent: no error
    engine.remove(12345)
    assert ids(engine.zones_at(1, 1)) == []
    assert len(engine) == 3
    engine.replace_all([FenceZone(9, "only", box(-1, -1, 1, 1))])
    assert len(engine) == 1
    assert ids(engine.zones_at(0, 0)) == [9]
    assert ids(engine.zones_at(100.5, 100.5)) == []
    engine.replace_all([])
    assert len(engine) == 0
    assert engine.zones_at(0, 0) == []


def test_upsert_far_away_reindexes() -> None:
    """A zone far from the others changes the best cell size; answers stay right."""
    engine = GeofenceEngine([FenceZone(i, "a", box(i, 0, i + 0.001, 0.001)) for i in range(20)])
    engine.upsert(FenceZone(100, "a", box(-170, -80, 170, 80)))
    assert ids(engine.zones_at(3.0005, 0.0005)) == [3, 100]
    assert ids(engine.zones_at(-100, 50)) == [100]
    engine.remove(100)
    assert ids(engine.zones_at(3.0005, 0.0005)) == [3]


def test_empty_engine() -> None:
    engine = GeofenceEngine()
    assert len(engine) == 0
    assert engine.zones_at(1, 1) == []
    pts, zone_ids = engine.check_many(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert pts.dtype == zone_ids.dtype == np.int64
    assert len(pts) == len(zone_ids) == 0


def test_nan_and_infinite_points(engine: GeofenceEngine) -> None:
    assert engine.zones_at(math.nan, 1) == []
    assert engine.zones_at(1, math.nan) == []
    assert engine.zones_at(math.inf, 1) == []
    lons = np.array([math.nan, 1.0, 1.0, -math.inf, 1.0, 1e308])
    lats = np.array([1.0, math.nan, 1.0, 1.0, 1.0, 1.0])
    pts, zone_ids = engine.check_many(lons, lats)
    assert pts.tolist() == [2, 4]
    assert zone_ids.tolist() == [1, 1]


def test_check_many_input(engine: GeofenceEngine) -> None:
    pts, zone_ids = engine.check_many(np.zeros(0), np.zeros(0))
    assert len(pts) == len(zone_ids) == 0
    with pytest.raises(ValueError):
        engine.check_many(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError):
        engine.check_many(np.zeros((2, 2)), np.zeros((2, 2)))
    pts, zone_ids = engine.check_many([9, 1, 9], [9, 1, 9], at=T0)
    assert pts.tolist() == [0, 0, 1, 2, 2]
    assert zone_ids.tolist() == [1, 3, 1, 1, 3]


@pytest.mark.parametrize(
    "geometry",
    [
        shapely.Point(0, 0),
        shapely.LineString([(0, 0), (1, 1)]),
        shapely.MultiPoint([(0, 0), (1, 1)]),
        shapely.GeometryCollection([box(0, 0, 1, 1)]),
        Polygon(),
        "POLYGON ((0 0, 1 0, 1 1, 0 0))",
    ],
)
def test_refuses_other_geometries(geometry: object) -> None:
    with pytest.raises(ValueError):
        FenceZone(1, "a", geometry)  # type: ignore[arg-type]


def test_refuses_non_finite_coordinates() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # shapely warns about the NaN
        polygon = Polygon([(0, 0), (math.nan, 0), (1, 1)])
    with pytest.raises(ValueError):
        FenceZone(1, "a", polygon)


def test_refuses_naive_datetimes(engine: GeofenceEngine) -> None:
    with pytest.raises(ValueError):
        FenceZone(1, "a", box(0, 0, 1, 1), valid_from=dt.datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        engine.zones_at(1, 1, at=dt.datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        engine.check_many([1.0], [1.0], at=dt.datetime(2025, 1, 1))


def test_caller_geometry_left_unprepared() -> None:
    geometry = box(0, 0, 1, 1)
    GeofenceEngine([FenceZone(1, "a", geometry)])
    assert not shapely.is_prepared(geometry)


# --- Random zones against a brute-force reference ----------------------------------------


def _star(rng: np.random.Generator, cx: float, cy: float, r: float) -> Polygon:
    """A star-shaped polygon (convex or concave), maybe with a hole around its centre."""
    n = int(rng.integers(6, 41))
    step = 2 * math.pi / n
    angles = np.arange(n) * step + rng.uniform(-0.4, 0.4, n) * step
    radii = r * (rng.uniform(0.5, 1.0, n) if rng.random() < 0.6 else np.ones(n))
    shell = np.c_[cx + radii * np.cos(angles), cy + radii * np.sin(angles)]
    holes = []
    if rng.random() < 0.4:
        k = int(rng.integers(3, 9))
        a = np.arange(k) * 2 * math.pi / k
        holes.append(np.c_[cx + 0.3 * r * np.cos(a), cy + 0.3 * r * np.sin(a)])
    return Polygon(shell, holes)


def random_zones(rng: np.random.Generator, n: int) -> list[FenceZone]:
    """Zones around (0, 0) (negative coordinates too) of sizes from 1e-3 to 1 degree: stars,
    multipolygons of two stars, and boxes snapped to a 1/64 lattice (edges on grid lines)."""
    zones = []
    for i in range(n):
        cx, cy = rng.uniform(-1, 1, 2)
        r = math.exp(rng.uniform(math.log(1e-3), math.log(0.5)))
        shape = rng.random()
        geom: Polygon | MultiPolygon
        if shape < 0.2:
            x0, y0 = np.round(np.array([cx, cy]) * 64) / 64
            w, h = rng.integers(1, 33, 2) / 64
            geom = box(x0, y0, x0 + w, y0 + h)
            if rng.random() < 0.5 and w > 2 / 64 and h > 2 / 64:
                geom = Polygon(
                    geom.exterior,
                    [box(x0 + 1 / 64, y0 + 1 / 64, x0 + w - 1 / 64, y0 + 2 / 64).exterior],
                )
        elif shape < 0.35:
            geom = MultiPolygon([_star(rng, cx, cy, r), _star(rng, cx + 3 * r, cy, r)])
        else:
            geom = _star(rng, cx, cy, r)
        start = T0 + int(rng.integers(-5, 5)) * HOUR if rng.random() < 0.5 else None
        end = T0 + int(rng.integers(0, 10)) * HOUR if rng.random() < 0.5 else None
        zones.append(
            FenceZone(
                int(rng.integers(0, 10**9)) * 100 + i,
                str(rng.choice(["a", "b", "c"])),
                geom,
                start,
                end,
            )
        )
    return zones


def random_points(
    rng: np.random.Generator, zones: list[FenceZone], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points, points on a 1/64 lattice (grid lines, box edges and corners), zone
    vertices (boundaries) and a NaN."""
    xs = [rng.uniform(-2, 2, n), np.round(rng.uniform(-2, 2, n // 4) * 64) / 64]
    ys = [rng.uniform(-2, 2, n), np.round(rng.uniform(-2, 2, n // 4) * 64) / 64]
    vertices = shapely.get_coordinates([z.geometry for z in zones])
    pick = vertices[rng.integers(0, len(vertices), n // 4)]
    xs += [pick[:, 0], np.array([math.nan, 0.5])]
    ys += [pick[:, 1], np.array([0.5, math.nan])]
    return np.concatenate(xs), np.concatenate(ys)


def brute_force(
    zones: list[FenceZone],
    x: np.ndarray,
    y: np.ndarray,
    at: dt.datetime | None,
    kinds: list[str] | None,
) -> list[tuple[int, int]]:
    pairs = []
    for z in zones:
        if at is not None and not (
            (z.valid_from is None or z.valid_from <= at) and (z.valid_to is None or at < z.valid_to)
        ):
            continue
        if kinds is not None and z.kind not in kinds:
            continue
        pairs += [(int(i), z.id) for i in np.flatnonzero(shapely.intersects_xy(z.geometry, x, y))]
    return sorted(pairs)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_zones=st.integers(1, 60),
    at=st.sampled_from([None, T0 - 10 * HOUR, T0, T0 + 3 * HOUR]),
    kinds=st.sampled_from([None, ["a"], ["b", "c"]]),
)
def test_check_many_matches_brute_force(
    seed: int, n_zones: int, at: dt.datetime | None, kinds: list[str] | None
) -> None:
    rng = np.random.default_rng(seed)
    zones = random_zones(rng, n_zones)
    x, y = random_points(rng, zones, 300)
    engine = GeofenceEngine(zones)
    expected = brute_force(zones, x, y, at, kinds)

    pts, zone_ids = engine.check_many(x, y, at=at, kinds=kinds)
    assert pts.dtype == zone_ids.dtype == np.int64
    assert list(zip(pts.tolist(), zone_ids.tolist(), strict=True)) == expected  # sorted too
    singles = [(i, z.id) for i in range(len(x)) for z in engine.zones_at(x[i], y[i], at, kinds)]
    assert singles == expected

    # Built by changes instead of at once: the same answers.
    changed = GeofenceEngine(zones[: n_zones // 2])
    for z in zones[n_zones // 2 :]:
        changed.upsert(z)
    changed.upsert(FenceZone(-1, "a", box(-2, -2, 2, 2)))
    changed.remove(-1)
    pts, zone_ids = changed.check_many(x, y, at=at, kinds=kinds)
    assert list(zip(pts.tolist(), zone_ids.tolist(), strict=True)) == expected


# --- Threads -------------------------------------------------------------------------------


def test_concurrent_readers_see_whole_snapshots() -> None:
    rng = np.random.default_rng(7)
    a = random_zones(rng, 30)
    b = random_zones(rng, 30)
    extra = FenceZone(-5, "a", box(-1, -1, 1, 1))
    x, y = random_points(rng, a + b, 200)
    states = [a, b, [*a, extra]]
    expected = {tuple(brute_force(s, x, y, None, None)) for s in states}
    expected_one = {tuple(p[1] for p in pairs if p[0] == 0) for pairs in expected}
    engine = GeofenceEngine(a)
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[tuple[tuple[int, int], ...]] = []
    seen_one: list[tuple[int, ...]] = []

    def read() -> None:
        try:
            while not stop.is_set():
                pts, zone_ids = engine.check_many(x, y)
                seen.append(tuple(zip(pts.tolist(), zone_ids.tolist(), strict=True)))
                seen_one.append(tuple(ids(engine.zones_at(x[0], y[0]))))
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for _ in range(15):
            engine.replace_all(b)
            engine.replace_all(a)
            engine.upsert(extra)
            engine.remove(extra.id)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert not errors
    assert seen
    assert set(seen) <= expected
    assert set(seen_one) <= expected_one


def test_threads_never_share_a_prepared_geometry() -> None:
    """GEOS prepared geometries are not thread-safe: each thread gets its own copies."""
    engine = GeofenceEngine([FenceZone(i, "a", box(i, 0, i + 1, 1)) for i in range(5)])
    cells = engine._snap.cells
    mine = _prepared_copies(cells)
    assert all(a is b for a, b in zip(mine, _prepared_copies(cells), strict=True))  # kept
    theirs: list[shapely.Geometry] = []
    thread = threading.Thread(target=lambda: theirs.extend(_prepared_copies(cells)))
    thread.start()
    thread.join()
    assert len(theirs) == 5
    assert not any(a is b for a, b in zip(mine, theirs, strict=True))
    assert all(shapely.is_prepared(g) for g in theirs)
