"""Distances on the sphere (metres) for lon/lat geometries."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

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
