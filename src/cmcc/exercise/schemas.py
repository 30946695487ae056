"""The exercise script of a scenario (`exercise.toml`): the simulated contingent units and the
injects the driver plays, checked before anything runs.

```toml
[[units]]                 # one TAK device of a contingent; `cmcc scenario load` registers it
uid = "isf-idn-garuda-11"
callsign = "GARUDA 1-1"
org = "IDN"
pledge = "IDN-2026-01"    # its caveats are checked against every zone the unit enters
cot_type = "a-f-G-U-C-I"
speed_kmh = 25
route = [[34.300, 31.296], [34.322, 31.316]]   # lon, lat; driven there and back

[[incidents]]             # a kind of report the watch receives; the driver files variations
type = "ceasefire_violation_fire"
at = [34.44, 31.47]
within_m = 500
narrative = "Small-arms fire heard east of the Salah al-Din road."

[[tips]]                  # what the public might send through the tip page
text = "..."
place = "..."
at = [34.302, 31.343]
```
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cmcc.core.errors import InvalidInput
from cmcc.exercise.domain import Route
from cmcc.incidents.domain import IncidentType, Reliability
from cmcc.scenarios.folders import read_toml, scenario_dir

FILE = "exercise.toml"
LonLat = tuple[float, float]


class Script(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitSpec(Script):
    uid: str = Field(min_length=1, max_length=200, description="The device's CoT uid")
    callsign: str = Field(min_length=1, max_length=120)
    org: str = Field(min_length=2, max_length=32, description="Organization code")
    pledge: str | None = Field(None, description="Pledge ref: the contingent and its caveats")
    releasability: str = "mission"
    cot_type: str = Field("a-f-G-U-C", pattern=r"^a-[fa]-[A-Z](-[A-Za-z0-9]+)*$")
    speed_kmh: float = Field(20.0, gt=0, le=120)
    loop: bool = Field(False, description="Drive on from the last waypoint to the first")
    route: list[LonLat] = Field(min_length=1, max_length=500)
    description: str = ""

    @property
    def path(self) -> Route:
        return Route(tuple(self.route), self.loop)


class IncidentInject(Script):
    type: IncidentType
    at: LonLat
    within_m: float = Field(300.0, ge=0, le=20_000)
    severity: int = Field(2, ge=1, le=5)
    narrative: str = Field(min_length=1, max_length=2000)
    source_reliability: Reliability = Reliability.C
    info_credibility: int = Field(3, ge=1, le=6)
    injured_civilian: int = Field(0, ge=0, le=1000)


class TipInject(Script):
    text: str = Field(min_length=1, max_length=2000)
    place: str = Field("", max_length=200)
    at: LonLat | None = None
    within_m: float = Field(150.0, ge=0, le=20_000)


class ExerciseScript(Script):
    units: list[UnitSpec] = Field(default_factory=list)
    incidents: list[IncidentInject] = Field(default_factory=list)
    tips: list[TipInject] = Field(default_factory=list)


def parse(data: dict[str, object], where: str = FILE) -> ExerciseScript:
    """The script, or InvalidInput naming the record and the field, as in
    `exercise.toml units[2].route`."""
    try:
        return ExerciseScript.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        field = f"{loc[0]}[{loc[1]}]" if len(loc) > 1 and isinstance(loc[1], int) else str(loc[0])
        rest = ".".join(str(p) for p in loc[2:] if not isinstance(p, int))
        raise InvalidInput.field(
            f"{where} {field}{'.' + rest if rest else ''}", first["msg"]
        ) from None


def read_script(name_or_path: str) -> ExerciseScript:
    """The exercise script of a scenario (packaged name or folder); empty when it has none."""
    folder: Path = scenario_dir(name_or_path)
    return parse(read_toml(folder / FILE))
