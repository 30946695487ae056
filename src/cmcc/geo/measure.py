"""Distances on the sphere (metres) for lon/lat geometries."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine), metres."""
    return float(distances_m(np.array([lon1]), np.array([lat1]), lon2, lat2)[0])


def distances_m(
    lons: npt.NDArray[np.float64], lats: npt.NDArray[np.float64], lon: float, lat: float
) -> npt.NDArray[np.float64]:
    p1, p2 = np.radians(lats), math.radians(lat)
    dp, dl = p2 - p1, np.radians(lon - lons)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dl / 2) ** 2
    out: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
    return out


def degrees_around(lat: float, metres: float) -> tuple[float, float]:
    """Half-widths in degrees (lon, lat) of a box that holds every point within `metres`."""
    dlat = math.degrees(metres / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
    return dlon, dlat


def to_local_metres(geoms: Any, lon0: float, lat0: float) -> Any:
    """Geometries in lon/lat as metres east and north of (lon0, lat0) (an equirectangular
    projection: within a few parts per thousand over the tens of kilometres of a mission area),
    for buffers and distances in metres."""
    kx = math.radians(1) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    ky = math.radians(1) * EARTH_RADIUS_M

    def forward(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.column_stack(((xy[:, 0] - lon0) * kx, (xy[:, 1] - lat0) * ky))

    return shapely.transform(geoms, forward)


def from_local_metres(geoms: Any, lon0: float, lat0: float) -> Any:
    """The inverse of `to_local_metres`."""
    kx = math.radians(1) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    ky = math.radians(1) * EARTH_RADIUS_M

    def back(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.column_stack((xy[:, 0] / kx + lon0, xy[:, 1] / ky + lat0))

    return shapely.transform(geoms, back)


def buffer_m(geom: BaseGeometry, metres: float) -> BaseGeometry:
    """The area within `metres` of a lon/lat geometry, as a lon/lat polygon."""
    c = geom.centroid
    local = to_local_metres(geom, c.x, c.y)
    out: BaseGeometry = from_local_metres(local.buffer(metres, quad_segs=8), c.x, c.y)
    return out
