"""Incidents read out in bulk, without the ORM or a validation per row.

The list route, the exports and the OGC items read many incidents at once: they select the
columns below (on a statement built on `cmcc.access.policy.visible`, so through the release
policy), work out the geometries of a chunk of rows at once (vectorized shapely), and build
plain dicts for orjson. `public_record` gives exactly what `schemas.IncidentPublic` gives for
the same incident (a test holds them together), at a fraction of the cost: at 500 rows a page
the per-row pydantic validation from ORM objects was most of a list request's time.

A page (`public_records`, `features`) is built with no query of its own: the owner's code comes
with each row (`OWNER_CODE`, a correlated subquery on the organization's key), the marking texts
from a process-wide cache (`marking_text`: a pure function of the stored marking), the row is
unpacked by position and each record is one dict literal. Measured: a quarter to a third of the
per-record cost of the first version (docs/modules/picture.md, Performance).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.core.releasability import Marking
from cmcc.geo.geometry import to_geojson
from cmcc.incidents.domain import ACLED
from cmcc.incidents.models import Incident

ACLED_BY_TYPE = {t.value: terms for t, terms in ACLED.items()}

# The code of the incident's owner, with the row (no lookup of the organizations per page).
OWNER_CODE = (
    select(Organization.code)
    .where(Organization.id == Incident.owner_org_id)
    .correlate(Incident)
    .scalar_subquery()
    .label("owner_code")
)

COLUMNS = (
    Incident.id,
    Incident.external_ref,
    Incident.type,
    Incident.occurred_at,
    Incident.reported_at,
    Incident.severity,
    Incident.killed_civilian,
    Incident.killed_other,
    Incident.injured_civilian,
    Incident.injured_other,
    Incident.source_reliability,
    Incident.info_credibility,
    Incident.status,
    Incident.attribution,
    Incident.narrative,
    Incident.finding,
    Incident.source,
    Incident.attachments,
    Incident.releasability,
    Incident.release_to,
    Incident.owner_org_id,
    Incident.version,
    Incident.created_at,
    Incident.updated_at,
    Incident.geom_wkb,
    OWNER_CODE,
)


JSON_OPTIONS = orjson.OPT_UTC_Z  # times as pydantic writes them: ...T12:00:00Z


def rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=4096)
def marking_text(kind: str, release_to: str | None) -> str:
    """The marking as shown (`rel:GBR,UNMAS`) from its stored columns."""
    return str(Marking.from_stored(kind, release_to))


class Context:
    """What every row of an export needs: owner codes (looked up once) and marking texts."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(select(Organization.id, Organization.code))
        self.owners: dict[int, str] = {row.id: row.code for row in rows}

    def marking(self, kind: str, release_to: str | None) -> str:
        return marking_text(kind, release_to)


class Chunk:
    """A chunk of rows with their geometry worked out at once (vectorized): a representative
    point (the point itself, or a point on the surface of an area) and, for anything that is
    not a point, its GeoJSON."""

    def __init__(self, rows: Sequence[Any]) -> None:
        self.rows = rows
        geoms = shapely.from_wkb([r.geom_wkb for r in rows])
        points = shapely.get_type_id(geoms) == 0
        reps = geoms.copy()
        if not points.all():
            reps[~points] = shapely.point_on_surface(geoms[~points])
        self.xs = shapely.get_x(reps).tolist()
        self.ys = shapely.get_y(reps).tolist()
        self.shapes: list[dict[str, Any] | None] = [None] * len(rows)
        for i in np.flatnonzero(~points).tolist():
            self.shapes[i] = to_geojson(geoms[i])

    def geometry(self, i: int) -> dict[str, Any]:
        shape = self.shapes[i]
        if shape is not None:
            return shape
        return {"type": "Point", "coordinates": [self.xs[i], self.ys[i]]}

    def geometries(self) -> list[dict[str, Any]]:
        """Every row's GeoJSON geometry, in order."""
        return [
            {"type": "Point", "coordinates": [x, y]} if shape is None else shape
            for shape, x, y in zip(self.shapes, self.xs, self.ys, strict=True)
        ]


def properties(row: Row[Any], ctx: Context) -> dict[str, Any]:
    """The incident's attributes as the exports write them. Times stay (aware) datetimes:
    orjson writes them in RFC 3339 with a Z (`JSON_OPTIONS`), many times faster than
    `isoformat`; text formats call `rfc3339`."""
    acled = ACLED_BY_TYPE[row.type]
    return {
        "external_ref": row.external_ref,
        "type": row.type,
        "acled_event_type": acled[0],
        "acled_sub_event_type": acled[1],
        "occurred_at": row.occurred_at,
        "reported_at": row.reported_at,
        "severity": row.severity,
        "killed_civilian": row.killed_civilian,
        "killed_other": row.killed_other,
        "injured_civilian": row.injured_civilian,
        "injured_other": row.injured_other,
        "source_reliability": row.source_reliability,
        "info_credibility": row.info_credibility,
        "status": row.status,
        "attribution": row.attribution,
        "narrative": row.narrative,
        "finding": row.finding,
        "source": row.source,
        "releasability": ctx.marking(row.releasability, row.release_to),
        "owner": ctx.owners.get(row.owner_org_id, ""),
    }


Getter = Callable[[Any], Any]


def _column(name: str) -> tuple[tuple[Any, ...], Getter]:
    return (getattr(Incident, name),), lambda row: getattr(row, name)


# Each property of `properties` by name: the columns it reads and how it is made of them (for a
# property selection, OGC API - Features Part 6). A test holds the two in step.
SELECTABLE: dict[str, tuple[tuple[Any, ...], Getter]] = {
    "external_ref": _column("external_ref"),
    "type": _column("type"),
    "acled_event_type": ((Incident.type,), lambda row: ACLED_BY_TYPE[row.type][0]),
    "acled_sub_event_type": ((Incident.type,), lambda row: ACLED_BY_TYPE[row.type][1]),
    **{
        name: _column(name)
        for name in (
            "occurred_at",
            "reported_at",
            "severity",
            "killed_civilian",
            "killed_other",
            "injured_civilian",
            "injured_other",
            "source_reliability",
            "info_credibility",
            "status",
            "attribution",
            "narrative",
            "finding",
            "source",
        )
    },
    "releasability": (
        (Incident.releasability, Incident.release_to),
        lambda row: marking_text(row.releasability, row.release_to),
    ),
    "owner": ((OWNER_CODE,), lambda row: row.owner_code or ""),
}


def selected_columns(names: Sequence[str]) -> tuple[Any, ...]:
    """The columns a page of features with only the properties `names` reads: the id, the
    geometry and what those properties are made of."""
    cols: dict[str, Any] = {"id": Incident.id, "geom_wkb": Incident.geom_wkb}
    for name in names:
        for col in SELECTABLE[name][0]:
            cols.setdefault(col.key, col)
    return tuple(cols.values())


RECORD_ONLY = ("attachments", "version", "created_at", "updated_at")  # not a feature property


def public_records(session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows of `COLUMNS` as `IncidentPublic` shows them (no query: `session` is not used)."""
    if not rows:
        return []
    out = []
    for geometry, row in zip(Chunk(rows).geometries(), rows, strict=True):
        (
            id_,
            external_ref,
            type_,
            occurred_at,
            reported_at,
            severity,
            killed_civilian,
            killed_other,
            injured_civilian,
            injured_other,
            source_reliability,
            info_credibility,
            status,
            attribution,
            narrative,
            finding,
            source,
            attachments,
            releasability,
            release_to,
            _owner_org_id,
            version,
            created_at,
            updated_at,
            _geom_wkb,
            owner_code,
        ) = row
        acled = ACLED_BY_TYPE[type_]
        out.append(
            {
                "id": id_,
                "geometry": geometry,
                "external_ref": external_ref,
                "type": type_,
                "acled_event_type": acled[0],
                "acled_sub_event_type": acled[1],
                "occurred_at": occurred_at,
                "reported_at": reported_at,
                "severity": severity,
                "killed_civilian": killed_civilian,
                "killed_other": killed_other,
                "injured_civilian": injured_civilian,
                "injured_other": injured_other,
                "source_reliability": source_reliability,
                "info_credibility": info_credibility,
                "status": status,
                "attribution": attribution,
                "narrative": narrative,
                "finding": finding,
                "source": source,
                "attachments": attachments,
                "releasability": marking_text(releasability, release_to),
                "owner": owner_code or "",
                "version": version,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
    return out


def features(
    session: Session, rows: Sequence[Any], names: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Rows of `COLUMNS` as GeoJSON features (ids as strings, as OGC API - Features serves);
    with `names`, rows of `selected_columns(names)` with only those properties."""
    if not rows:
        return []
    if names is not None:
        getters = [(name, SELECTABLE[name][1]) for name in names]
        return [
            {
                "type": "Feature",
                "id": str(row.id),
                "geometry": geometry,
                "properties": {name: get(row) for name, get in getters},
            }
            for geometry, row in zip(Chunk(rows).geometries(), rows, strict=True)
        ]
    out = []
    for record in public_records(session, rows):
        feature: dict[str, Any] = {"type": "Feature", "id": str(record.pop("id"))}
        feature["geometry"] = record.pop("geometry")
        for key in RECORD_ONLY:
            del record[key]
        feature["properties"] = record
        out.append(feature)
    return out
