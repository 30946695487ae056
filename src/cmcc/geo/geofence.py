"""The geofence engine: which zones contain a point (at a time), for one point or millions.

Zones are polygons or multipolygons in WGS84 lon/lat with a validity interval. A point on a
zone's boundary counts as inside; a point in a hole does not.

Design
------
* **Snapshots.** Every query structure lives in an immutable `_Snapshot`. Readers take the
  current reference once and never lock; writers, serialized by a lock, build a new snapshot
  and swap the reference (an atomic assignment), so a reader always sees one consistent state.
  GEOS prepared geometries are not thread-safe and shapely releases the GIL while it tests
  points, so each thread prepares its own copy of a zone (from WKB, on first use, kept across
  snapshots); the caller's geometries are never prepared or modified.
* **Grid index.** Space is cut into square cells of ``2**-exp`` degrees anchored at (0, 0), so
  ``floor(lon * 2**exp)`` is exact. For each cell a CSR list holds the zones touching it, in id
  order, each flagged *full* when the zone covers the whole cell (the point is inside without
  an exact test) or *partial* when the zone's boundary crosses the cell (a prepared
  ``shapely.intersects_xy`` decides). A zone's cells are computed once and reused by later
  snapshots: the cells its boundary segments cross are partial (computed with numpy,
  conservatively); every other cell of its bounding box lies wholly inside or wholly outside
  the zone, and the cell's centre tells which.
* **Batches** become vectorized cell look-ups, candidate pairs by ``np.repeat``, numpy masks for
  kinds and validity, and one ``intersects_xy`` call over all partial pairs, ordered by zone so
  each prepared geometry stays in the CPU cache (several times faster than point order).
* **One point** reads a second CSR layout (partial and full entries apart) with a few slices.
* **Cell size**: the finest power of two whose index stays within a budget that grows with the
  number of zones (`_choose_exp`); changes keep the current size while it still fits, so an
  upsert re-indexes only the changed zone (plus an O(index) regrouping in numpy).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from array import array
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["FenceZone", "GeofenceEngine"]

Ints = npt.NDArray[np.int64]
Ints32 = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Geoms = npt.NDArray[np.object_]

_AREA_TYPES = frozenset({"Polygon", "MultiPolygon"})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_SINCE_ALWAYS = int(np.iinfo(np.int64).min)  # valid_from=None
_STILL_VALID = int(np.iinfo(np.int64).max)  # valid_to=None

_MIN_EXP, _MAX_EXP = -8, 20  # cells from 256 degrees down to about 10 cm
_MAX_CELLS = 1 << 22  # cells of the dense grid over all zones
_CELLS_PER_ZONE = 256  # index budget: bounding-box cells per zone on average ...
_MIN_BUDGET, _MAX_BUDGET = 1 << 12, 1 << 22  # ... within these bounds
_CHUNK = 1 << 14  # points per step when check_many builds candidate pairs (cache-sized)
_INDEX_BATCH = 2048  # zones indexed at once
_SLACK = 1e-6  # cells added around each boundary segment against rounding


@dataclass(frozen=True)
class FenceZone:
    """A zone as the geofence sees it: validity bounds are aware; `valid_to` is exclusive."""

    id: int
    kind: str
    geometry: shapely.Geometry  # Polygon or MultiPolygon, lon/lat
    valid_from: dt.datetime | None = None  # None: since always
    valid_to: dt.datetime | None = None  # None: still valid

    def __post_init__(self) -> None:
        kind = getattr(self.geometry, "geom_type", type(self.geometry).__name__)
        if not isinstance(self.geometry, shapely.Geometry) or kind not in _AREA_TYPES:
            raise ValueError(
                f"zone {self.id}: a geofence needs a Polygon or MultiPolygon, not {kind}"
            )
        if shapely.is_empty(self.geometry):
            raise ValueError(f"zone {self.id}: the geometry is empty")
        if not np.isfinite(shapely.get_coordinates(self.geometry)).all():
            raise ValueError(f"zone {self.id}: the geometry has non-finite coordinates")
        _micros(self.valid_from, 0)  # refuses naive datetimes
        _micros(self.valid_to, 0)


def _micros(moment: dt.datetime | None, default: int) -> int:
    """Microseconds since the epoch (exact, unlike float timestamps)."""
    if moment is None:
        return default
    if moment.utcoffset() is None:
        raise ValueError("naive datetime given to the geofence (use aware UTC)")
    return (moment - _EPOCH) // _MICROSECOND


def _kind_filter(kinds: Collection[str] | None) -> Collection[str] | None:
    """A bare string is one kind (not a collection of characters)."""
    return (kinds,) if isinstance(kinds, str) else kinds


@dataclass(frozen=True)
class _ZoneCells:
    """A zone's index entries at one cell size (cached across snapshots), and its geometry as
    WKB, from which each thread makes its own prepared copy (see `_prepared_copies`)."""

    geometry: shapely.Geometry  # the zone's geometry object the entries were computed from
    exp: int
    wkb: bytes
    ix: Ints  # absolute cell column, row of each entry
    iy: Ints
    full: Bools  # the zone covers the cell
    local: threading.local = field(default_factory=threading.local, compare=False, repr=False)


def _prepare(wkb: Iterable[bytes]) -> Geoms:
    """Prepared geometries from WKB (new GEOS objects, owned by the engine)."""
    geoms: Geoms = shapely.from_wkb(np.array(list(wkb), dtype=object))
    shapely.prepare(geoms)
    return geoms


def _prepared_copies(cells: list[_ZoneCells]) -> list[shapely.Geometry]:
    """This thread's prepared copies of these zones' geometries, made on first use.

    GEOS prepared geometries are not thread-safe (libgeos/geos#825) and shapely releases the
    GIL while it tests points, so threads never share one: each has its own copies."""
    missing = [c for c in cells if getattr(c.local, "geom", None) is None]
    for c, geom in zip(missing, _prepare(c.wkb for c in missing), strict=True):
        c.local.geom = geom
    return [c.local.geom for c in cells]


def _index_zones(zones: list[FenceZone], exp: int) -> list[_ZoneCells]:
    """Index entries for each zone: the cells of its bounding box that it touches."""
    if not zones:
        return []
    scale = 2.0**exp
    wkb = shapely.to_wkb(_geom_array(z.geometry for z in zones), output_dimension=2)
    prepared = _prepare(wkb)  # this thread's copies (the caller's geometries stay untouched)
    bounds = shapely.bounds(prepared)
    cells = np.floor(bounds * scale).astype(np.int64)  # exact: the scale is a power of two
    x0, y0 = cells[:, 0], cells[:, 1]
    nx, ny = cells[:, 2] - x0 + 1, cells[:, 3] - y0 + 1

    # Every cell of every bounding box, numbered per zone row by row.
    per_zone = nx * ny
    first = np.cumsum(per_zone) - per_zone
    zone = np.repeat(np.arange(len(zones)), per_zone)
    local = np.arange(len(zone)) - first[zone]
    ix, iy = x0[zone] + local % nx[zone], y0[zone] + local // nx[zone]

    partial = np.zeros(len(zone), dtype=bool)
    b_zone, b_ix, b_iy = _boundary_cells(prepared, scale)
    bx, by = b_ix - x0[b_zone], b_iy - y0[b_zone]
    in_box = (bx >= 0) & (bx < nx[b_zone]) & (by >= 0) & (by < ny[b_zone])
    b_zone, bx, by = b_zone[in_box], bx[in_box], by[in_box]
    partial[first[b_zone] + by * nx[b_zone] + bx] = True

    # A cell the boundary does not touch is wholly inside or wholly outside: test its centre.
    clean = np.flatnonzero(~partial)
    inside = shapely.intersects_xy(
        prepared[zone[clean]], (ix[clean] + 0.5) / scale, (iy[clean] + 0.5) / scale
    )
    keep = partial.copy()
    keep[clean[inside]] = True
    zone, ix, iy, full = zone[keep], ix[keep], iy[keep], ~partial[keep]
    splits = np.cumsum(np.bincount(zone, minlength=len(zones)))[:-1]
    out = [
        _ZoneCells(z.geometry, exp, w, cx, cy, f)
        for z, w, cx, cy, f in zip(
            zones,
            wkb,
            np.split(ix, splits),
            np.split(iy, splits),
            np.split(full, splits),
            strict=True,
        )
    ]
    for c, p in zip(out, prepared, strict=True):
        c.local.geom = p
    return out


def _spans(first: Ints, count: Ints) -> tuple[Ints, Ints]:
    """For ranges first[k] .. first[k] + count[k] - 1: (k, value) of every value."""
    k = np.repeat(np.arange(len(first)), count)
    return k, first[k] + np.arange(len(k)) - (np.cumsum(count) - count)[k]


def _boundary_cells(prepared: Geoms, scale: float) -> tuple[Ints, Ints, Ints]:
    """(zone, column, row) of every cell whose closed square a boundary segment may touch.

    Conservative: a few extra cells near grid lines are harmless (they cost an exact test).
    In cell units, for each segment: the columns it spans; in each column, the rows spanned by
    the part of the segment inside the column, widened by the rounding error."""
    parts, part_zone = shapely.get_parts(prepared, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    seg = np.flatnonzero(coord_ring[1:] == coord_ring[:-1])
    seg_zone = part_zone[ring_part[coord_ring[seg]]]
    u0, v0 = coords[seg, 0] * scale, coords[seg, 1] * scale
    u1, v1 = coords[seg + 1, 0] * scale, coords[seg + 1, 1] * scale
    umin, umax = np.minimum(u0, u1), np.maximum(u0, u1)
    vmin, vmax = np.minimum(v0, v1), np.maximum(v0, v1)

    first_col = np.ceil(umin - _SLACK).astype(np.int64) - 1
    s, col = _spans(first_col, np.floor(umax + _SLACK).astype(np.int64) - first_col + 1)
    du = u1[s] - u0[s]
    slope = np.divide(v1[s] - v0[s], du, out=np.zeros(len(s)), where=du != 0)
    ua, ub = np.maximum(umin[s], col), np.minimum(umax[s], col + 1)
    va, vb = v0[s] + (ua - u0[s]) * slope, v0[s] + (ub - u0[s]) * slope
    err = _SLACK + np.abs(slope) * (np.abs(ua) + 1) * 1e-15  # steep segments: u rounding
    # fmax/fmin: a NaN from a degenerate slope falls back to the whole span of the segment.
    vlo = np.where(du == 0, vmin[s], np.fmax(np.minimum(va, vb) - err, vmin[s]))
    vhi = np.where(du == 0, vmax[s], np.fmin(np.maximum(va, vb) + err, vmax[s]))

    first_row = np.ceil(vlo - _SLACK).astype(np.int64) - 1
    k, row = _spans(first_row, np.floor(vhi + _SLACK).astype(np.int64) - first_row + 1)
    return seg_zone[s[k]], col[k], row


def _choose_exp(geoms: Iterable[shapely.Geometry]) -> int:
    """The finest cell size (a power of two, in degrees) whose index fits the budget."""
    bounds = shapely.bounds(_geom_array(geoms))
    if not len(bounds):
        return 0
    budget = min(max(_CELLS_PER_ZONE * len(bounds), _MIN_BUDGET), _MAX_BUDGET)
    for exp in range(_MAX_EXP, _MIN_EXP, -1):
        cells = np.floor(bounds * 2.0**exp)
        boxes = (cells[:, 2] - cells[:, 0] + 1) * (cells[:, 3] - cells[:, 1] + 1)
        width = cells[:, 2].max() - cells[:, 0].min() + 1
        height = cells[:, 3].max() - cells[:, 1].min() + 1
        if boxes.sum() <= budget and width * height <= _MAX_CELLS:
            return exp
    return _MIN_EXP


def _geom_array(geoms: Iterable[shapely.Geometry]) -> Geoms:
    """A 1-D object array of geometries."""
    out: Geoms = np.array(list(geoms), dtype=object)
    return out


def _ptr(counts: Ints) -> Ints:
    """CSR row pointers for these row lengths."""
    ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr


class _Snapshot:
    """The query structures for one set of zones; never modified once built (apart from each
    thread's own prepared geometries, see `geoms`)."""

    def __init__(
        self, zones: dict[int, FenceZone], cache: dict[int, _ZoneCells], exp: int | None
    ) -> None:
        self.by_id = zones
        self.zones = tuple(zones[i] for i in sorted(zones))  # zone index = rank of the id
        n = len(self.zones)
        self.exp = exp if exp is not None else _choose_exp(z.geometry for z in self.zones)
        self.scale = 2.0**self.exp

        # Per zone: id, validity, kind, and index entries (reused when geometry and size match).
        self.ids: Ints = np.array([z.id for z in self.zones], dtype=np.int64)
        self.valid_from: Ints = np.array(
            [_micros(z.valid_from, _SINCE_ALWAYS) for z in self.zones], dtype=np.int64
        )
        self.valid_to: Ints = np.array(
            [_micros(z.valid_to, _STILL_VALID) for z in self.zones], dtype=np.int64
        )
        # zones_at: (valid_from, valid_to, kind, zone) of each zone, Python objects.
        self.records = list(
            zip(
                self.valid_from.tolist(),
                self.valid_to.tolist(),
                [z.kind for z in self.zones],
                self.zones,
                strict=True,
            )
        )
        self.kind_names = sorted({z.kind for z in self.zones})
        code = {name: i for i, name in enumerate(self.kind_names)}
        self.kind_code: Ints = np.array([code[z.kind] for z in self.zones], dtype=np.int64)
        self.cache = {
            i: c
            for i, c in cache.items()
            if i in zones and c.geometry is zones[i].geometry and c.exp == self.exp
        }
        fresh = [z for z in self.zones if z.id not in self.cache]
        for lo in range(0, len(fresh), _INDEX_BATCH):  # in batches: bounded temporary memory
            batch = fresh[lo : lo + _INDEX_BATCH]
            self.cache.update(
                zip([z.id for z in batch], _index_zones(batch, self.exp), strict=True)
            )
        self.cells = cells = [self.cache[z.id] for z in self.zones]
        self.local = threading.local()  # this thread's prepared geometries: see `geoms`
        # numpy sorts 16-bit integers with a radix sort, much faster than its other sorts.
        self.zone_sort_type = np.uint16 if n <= 1 << 16 else np.int64

        # The dense grid over all entries, and the entries grouped by cell (zones in id order).
        ix = np.concatenate([c.ix for c in cells] + [np.zeros(0, np.int64)])
        iy = np.concatenate([c.iy for c in cells] + [np.zeros(0, np.int64)])
        full = np.concatenate([c.full for c in cells] + [np.zeros(0, bool)])
        zone = np.repeat(np.arange(n, dtype=np.int32), [len(c.ix) for c in cells])
        self.ix0, self.iy0 = (int(ix.min()), int(iy.min())) if len(ix) else (0, 0)
        self.nx = int(ix.max()) - self.ix0 + 1 if len(ix) else 0
        self.ny = int(iy.max()) - self.iy0 + 1 if len(iy) else 0
        cell = (iy - self.iy0) * self.nx + (ix - self.ix0)
        order = np.argsort(cell, kind="stable")
        cell, zone, full = cell[order], zone[order], full[order]
        n_cells = self.nx * self.ny
        # check_many: one list per cell with a flag per entry.
        self.indptr = _ptr(np.bincount(cell, minlength=n_cells))
        self.entry_zone: Ints32 = zone
        self.entry_full: Bools = full
        # zones_at: the partial and the full entries apart; Python arrays for scalar reads.
        partial = ~full
        self.part_ptr = array("q", _ptr(np.bincount(cell[partial], minlength=n_cells)).tobytes())
        self.full_ptr = array("q", _ptr(np.bincount(cell[full], minlength=n_cells)).tobytes())
        self.part_zone: Ints32 = zone[partial]
        self.full_zone: Ints32 = zone[full]

    def geoms(self, zones: Ints32) -> Geoms:
        """This thread's prepared geometries of these zones (by index)."""
        mine: Geoms | None = getattr(self.local, "geoms", None)
        if mine is None:
            mine = self.local.geoms = np.full(len(self.cells), None, dtype=object)
        geoms: Geoms = mine[zones]
        if None in geoms.tolist():
            missing = np.unique(zones[[g is None for g in geoms.tolist()]])
            mine[missing] = _prepared_copies([self.cells[i] for i in missing.tolist()])
            geoms = mine[zones]
        return geoms

    def zone_mask(self, at: dt.datetime | None, kinds: Collection[str] | None) -> Bools | None:
        """Which zones pass the validity and kind filters (None: every zone)."""
        mask: Bools | None = None
        if at is not None:
            t = _micros(at, 0)
            mask = (self.valid_from <= t) & (t < self.valid_to)
        if kinds is not None:
            wanted = [i for i, name in enumerate(self.kind_names) if name in kinds]
            by_kind = np.isin(self.kind_code, wanted)
            mask = by_kind if mask is None else mask & by_kind
        return mask


class GeofenceEngine:
    """Which zones contain a point. Thread-safe: readers never lock, writers serialize."""

    def __init__(self, zones: Iterable[FenceZone] = ()) -> None:
        self._lock = threading.Lock()
        self._snap = _Snapshot({}, {}, 0)
        self.replace_all(zones)

    def replace_all(self, zones: Iterable[FenceZone]) -> None:
        """Replace every zone (of two zones with one id, the later wins)."""
        by_id = {z.id: z for z in zones}
        with self._lock:
            self._snap = _Snapshot(by_id, self._snap.cache, None)

    def upsert(self, zone: FenceZone) -> None:
        """Add the zone, or replace the zone that has its id."""
        if not isinstance(zone, FenceZone):
            raise TypeError(f"upsert takes a FenceZone, not {type(zone).__name__}")
        with self._lock:
            self._publish({**self._snap.by_id, zone.id: zone})

    def remove(self, zone_id: int) -> None:
        """Remove the zone with this id (nothing happens when there is none)."""
        with self._lock:
            if zone_id in self._snap.by_id:
                self._publish({i: z for i, z in self._snap.by_id.items() if i != zone_id})

    def _publish(self, zones: dict[int, FenceZone]) -> None:
        """Swap in a snapshot of `zones`, keeping the cell size while it fits (and is not more
        than one step coarser than the best), so unchanged zones keep their index entries."""
        old = self._snap
        best = _choose_exp(z.geometry for z in zones.values())
        exp = old.exp if old.zones and best - 1 <= old.exp <= best else best
        self._snap = _Snapshot(zones, old.cache, exp)

    def __len__(self) -> int:
        return len(self._snap.zones)

    def zones_at(
        self,
        lon: float,
        lat: float,
        at: dt.datetime | None = None,
        kinds: Collection[str] | None = None,
    ) -> list[FenceZone]:
        """The zones containing the point (boundary included), sorted by id.

        `at`: only zones valid at that moment (valid_from <= at < valid_to); None ignores
        validity. `kinds`: only zones of these kinds; None means every kind."""
        t = None if at is None else _micros(at, 0)
        s = self._snap
        u, v = lon * s.scale, lat * s.scale
        if not (s.ix0 <= u < s.ix0 + s.nx and s.iy0 <= v < s.iy0 + s.ny):  # NaN: False
            return []
        cell = (math.floor(v) - s.iy0) * s.nx + math.floor(u) - s.ix0
        found: list[int] = s.full_zone[s.full_ptr[cell] : s.full_ptr[cell + 1]].tolist()
        start, stop = s.part_ptr[cell], s.part_ptr[cell + 1]
        if start < stop:
            unsure = s.part_zone[start:stop]
            inside = shapely.intersects_xy(s.geoms(unsure), lon, lat)
            if True in inside.tolist():
                found += unsure[inside].tolist()
                found.sort()
        if t is None and kinds is None:
            zones = s.zones
            return [zones[i] for i in found]
        wanted = _kind_filter(kinds)
        out = []
        for i in found:
            valid_from, valid_to, kind, zone = s.records[i]
            if (t is None or valid_from <= t < valid_to) and (wanted is None or kind in wanted):
                out.append(zone)
        return out

    def check_many(
        self,
        lons: npt.ArrayLike,
        lats: npt.ArrayLike,
        at: dt.datetime | None = None,
        kinds: Collection[str] | None = None,
    ) -> tuple[Ints, Ints]:
        """Every (point index, zone id) pair with the point in the zone, as two int64 arrays
        sorted by point index, then zone id. Filters as in `zones_at`; NaN points hit nothing."""
        x = np.ascontiguousarray(lons, dtype=np.float64)
        y = np.ascontiguousarray(lats, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape:
            raise ValueError("lons and lats must be 1-D arrays of the same length")
        s = self._snap
        mask = s.zone_mask(at, _kind_filter(kinds))
        if not s.zones or not len(x) or (mask is not None and not mask.any()):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if mask is not None and mask.all():
            mask = None
        point_type = np.int32 if len(x) < 1 << 31 else np.int64  # less memory traffic
        chunks = [
            _candidates(s, x[lo : lo + _CHUNK], y[lo : lo + _CHUNK], lo, point_type, mask)
            for lo in range(0, len(x), _CHUNK)
        ]
        _exact_tests(s, x, y, chunks)
        hits = [int(np.count_nonzero(hit)) for _, _, hit in chunks]
        points = np.empty(sum(hits), dtype=np.int64)
        zone_ids = np.empty(sum(hits), dtype=np.int64)
        done = 0
        for (p, z, hit), n in zip(chunks, hits, strict=True):
            points[done : done + n] = p[hit]
            np.take(s.ids, z[hit], out=zone_ids[done : done + n])
            done += n
        return points, zone_ids


Pairs = tuple[npt.NDArray[np.integer[Any]], Ints32, Bools]  # point index, zone index, hit


def _exact_tests(s: _Snapshot, x: Floats, y: Floats, chunks: list[Pairs]) -> None:
    """Settle the unsure pairs of all chunks in place (their hit flag becomes the answer).

    All the tests in one call, ordered by zone: consecutive tests then share one prepared
    geometry, which stays in the CPU cache (several times faster than in point order)."""
    tests = [np.flatnonzero(~hit) for _, _, hit in chunks]
    tz = np.concatenate([z[t] for (_, z, _), t in zip(chunks, tests, strict=True)])
    tp = np.concatenate([p[t] for (p, _, _), t in zip(chunks, tests, strict=True)])
    if not len(tz):
        return
    order = np.argsort(tz.astype(s.zone_sort_type), kind="stable")
    tp = tp[order].astype(np.intp)
    per_zone = np.bincount(tz.astype(np.intp), minlength=len(s.cells))
    used = np.flatnonzero(per_zone).astype(np.int32)
    geoms = np.repeat(s.geoms(used), per_zone[used])
    inside = np.empty(len(order), dtype=bool)
    inside[order] = shapely.intersects_xy(geoms, x[tp], y[tp])
    done = 0
    for (_, _, hit), t in zip(chunks, tests, strict=True):
        hit[t] = inside[done : done + len(t)]
        done += len(t)


def _candidates(
    s: _Snapshot,
    x: Floats,
    y: Floats,
    offset: int,
    point_type: type[np.integer[Any]],
    mask: Bools | None,
) -> Pairs:
    """Candidate pairs for the points from index `offset` on: point index, zone index, and
    whether the zone surely holds the point (else an exact test decides). Sorted by point
    index, then zone id; zones outside `mask` are left out."""
    with np.errstate(invalid="ignore", over="ignore"):
        cx = np.floor(x * s.scale) - s.ix0
        cy = np.floor(y * s.scale) - s.iy0
        pts = np.flatnonzero((cx >= 0) & (cx < s.nx) & (cy >= 0) & (cy < s.ny))  # NaN: out
    cell = cy[pts].astype(np.int64) * s.nx + cx[pts].astype(np.int64)
    start = s.indptr[cell]
    count = s.indptr[cell + 1] - start
    # Each point with each entry of its cell (a cell's entries are in zone-id order).
    pair_pt = np.repeat((pts + offset).astype(point_type), count)
    ends = np.cumsum(count)
    pos = np.repeat(start - (ends - count), count) + np.arange(len(pair_pt))
    pair_zone = s.entry_zone[pos]
    sure = s.entry_full[pos]  # a copy: the exact tests update it in place
    if mask is not None:
        keep = mask[pair_zone]
        pair_pt, pair_zone, sure = pair_pt[keep], pair_zone[keep], sure[keep]
    return pair_pt, pair_zone, sure
