"""Request and response schemas of zones."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cmcc.core.schemas import Input, RecordPublic, ReleasableCreate, VersionedUpdate
from cmcc.zones.domain import ZoneKind

GeoJSONGeometry = dict[str, Any]


class ZoneCreate(ReleasableCreate):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Checkpoint area, Salah al-Din Road (illustrative)",
                    "kind": "restricted_area",
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [[34.40, 31.45], [34.41, 31.45], [34.41, 31.46], [34.40, 31.45]]
                        ],
                    },
                    "notional": True,
                    "releasability": "mission",
                }
            ]
        }
    )
    name: str = Field(min_length=1, max_length=200)
    kind: ZoneKind
    geometry: GeoJSONGeometry = Field(description="GeoJSON geometry, WGS84 [lon, lat]")
    valid_from: AwareDatetime | None = Field(None, description="Default: now")
    valid_to: AwareDatetime | None = None
    notional: bool = Field(False, description="Drawn for planning; not an agreed line")
    description: str = Field("", max_length=4000)
    source: str = Field("", max_length=4000)
    outside_aoi: bool = Field(False, description="Accept a geometry outside the area of interest")


class ZoneUpdate(VersionedUpdate):
    name: str | None = Field(None, min_length=1, max_length=200)
    valid_to: AwareDatetime | None = None
    notional: bool | None = None
    description: str | None = Field(None, max_length=4000)
    source: str | None = Field(None, max_length=4000)


class ZoneMove(Input):
    """A new geometry from `valid_from` on; the current version closes at that moment."""

    geometry: GeoJSONGeometry
    valid_from: AwareDatetime
    version: int = Field(ge=1)
    outside_aoi: bool = False


class ZonePublic(RecordPublic):
    lineage: int = Field(validation_alias="lineage_id")
    name: str
    kind: ZoneKind
    geometry: GeoJSONGeometry = Field(validation_alias="geojson")
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None
    notional: bool
    description: str
    source: str


class FeatureCollection(BaseModel):
    type: str = "FeatureCollection"
    features: list[dict[str, Any]]
