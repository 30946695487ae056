"""The exercise's rules, without I/O: where a unit is on its route at a given moment, when the
next inject is due, what a filed incident's verification comes to.

A route is a list of waypoints (longitude, latitude). A unit drives it at a steady speed, then
back the way it came (or straight on to the first waypoint when the route is a loop), for as
long as the exercise runs. Distances are on a local flat approximation, good to a few metres
over the few kilometres of a patrol."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from enum import StrEnum

EARTH_M_PER_DEG_LAT = 110_540.0
EARTH_M_PER_DEG_LON_EQUATOR = 111_320.0
EXERCISE_MARK = "EXERCISE"  # every record the driver writes says so, as exercise traffic must


@dataclass(frozen=True)
class Fix:
    """A unit's place and movement at one moment."""

    lon: float
    lat: float
    course: float  # degrees from true north
    speed: float  # metres per second


def _leg_metres(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """East and north metres from a to b."""
    mid_lat = math.radians((a[1] + b[1]) / 2)
    east = (b[0] - a[0]) * EARTH_M_PER_DEG_LON_EQUATOR * math.cos(mid_lat)
    north = (b[1] - a[1]) * EARTH_M_PER_DEG_LAT
    return east, north


@dataclass(frozen=True)
class Route:
    waypoints: tuple[tuple[float, float], ...]  # (lon, lat)
    loop: bool = False  # drive on from the last waypoint to the first; else turn back

    @property
    def path(self) -> tuple[tuple[float, float], ...]:
        """The waypoints of one full round, ending where it started."""
        points = self.waypoints
        if self.loop:
            return (*points, points[0])
        return (*points, *reversed(points[:-1]))

    @property
    def length_m(self) -> float:
        path = self.path
        return sum(math.hypot(*_leg_metres(a, b)) for a, b in itertools.pairwise(path))

    def fix(self, travelled_m: float, speed: float) -> Fix:
        """Where a unit is after driving `travelled_m` metres from the first waypoint."""
        path = self.path
        total = self.length_m
        if total <= 0:
            lon, lat = path[0]
            return Fix(lon, lat, 0.0, 0.0)
        left = travelled_m % total
        for a, b in itertools.pairwise(path):
            east, north = _leg_metres(a, b)
            leg = math.hypot(east, north)
            if leg > 0 and left <= leg:
                share = left / leg
                course = math.degrees(math.atan2(east, north)) % 360
                return Fix(
                    a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share, course, speed
                )
            left -= leg
        lon, lat = path[-1]
        return Fix(lon, lat, 0.0, speed)


def next_interval(rng: random.Random, per_minute: float) -> float | None:
    """Seconds until the next inject of a stream running at `per_minute` on average (Poisson
    arrivals, so the picture does not tick like a clock); None when the stream is off."""
    if per_minute <= 0:
        return None
    return rng.expovariate(per_minute / 60.0)


def jitter(rng: random.Random, lon: float, lat: float, within_m: float) -> tuple[float, float]:
    """A point uniformly within `within_m` metres of (lon, lat)."""
    distance = within_m * math.sqrt(rng.random())
    angle = rng.uniform(0, 2 * math.pi)
    east, north = distance * math.sin(angle), distance * math.cos(angle)
    scale = EARTH_M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat))
    return lon + east / scale, lat + north / EARTH_M_PER_DEG_LAT


class Finding(StrEnum):
    """How the watch's verification of an exercise incident ends (domain words of
    cmcc.incidents: verified, not verified, false)."""

    VERIFIED = "verified"
    NOT_VERIFIED = "not_verified"
    FALSE = "false"


def finding(rng: random.Random) -> Finding:
    """Most reports are confirmed; some cannot be; a few prove false."""
    draw = rng.random()
    if draw < 0.7:
        return Finding.VERIFIED
    return Finding.NOT_VERIFIED if draw < 0.9 else Finding.FALSE


def marked(text: str) -> str:
    """Exercise traffic is marked as such, so nobody takes it for a real report."""
    return text if text.startswith(EXERCISE_MARK) else f"{EXERCISE_MARK}. {text}"
