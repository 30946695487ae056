"""Web pages: the ORBAT as a tree (as of a date), and the units the map shows by echelon.

Both read the units through `cmcc.command.orbat.units_as_of`, with the visitor's viewer, so a
unit not released to the visitor is not on the page, not in a total and not on the map; a unit
whose parent the visitor may not see is a root of its own tree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cmcc.api.deps import SessionDep
from cmcc.command import orbat
from cmcc.command.domain import ECHELON_ORDER, Echelon
from cmcc.command.models import Unit
from cmcc.command.ogc import feature as ogc_feature
from cmcc.core.clock import utcnow
from cmcc.core.errors import InvalidInput
from cmcc.web.auth import SignedIn
from cmcc.web.templating import render

router = APIRouter(include_in_schema=False)
OPEN_DEPTH = 4  # tree levels shown open when the page loads (the rest are a click away)


def as_of_moment(text: str | None, field: str = "as_of") -> tuple[dt.datetime, str]:
    """A date of a form as the moment the page reads (the end of that UTC day), and the date as
    the form shows it; no date: now."""
    if not text:
        now = utcnow()
        return now, now.date().isoformat()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.field(f"query.{field}", "a date: YYYY-MM-DD") from None
    end = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
    return end - dt.timedelta(microseconds=1), day.isoformat()


@dataclass(frozen=True)
class Strength:
    """Authorized, assigned and present, and each as a share of the bar's scale (percent)."""

    authorized: int
    assigned: int
    present: int

    @property
    def scale(self) -> int:
        return max(self.authorized, self.assigned, self.present, 1)

    def pct(self, value: int) -> float:
        return round(100 * value / self.scale, 1)

    @property
    def present_share(self) -> int | None:
        """Present as a share of authorized, in whole percent (None without an authorized)."""
        return round(100 * self.present / self.authorized) if self.authorized else None


def strength_of(node: Any) -> Strength:
    authorized, assigned, present = node.totals()
    return Strength(authorized, assigned, present)


@router.get("/orbat")
def orbat_page(
    request: Request,
    session: SessionDep,
    visitor: SignedIn,
    as_of: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    viewer = visitor.principal.viewer
    try:
        moment, shown = as_of_moment(as_of)
    except InvalidInput as exc:
        return render(
            request,
            "orbat.html",
            visitor,
            status_code=400,
            error=str(exc),
            roots=[],
            as_of=as_of or "",
            count=0,
            open_depth=OPEN_DEPTH,
            strength_of=strength_of,
        )
    units = orbat.units_as_of(session, viewer, moment)
    roots = orbat.build_tree(units)
    return render(
        request,
        "orbat.html",
        visitor,
        error=None,
        roots=roots,
        as_of=shown,
        count=len(units),
        open_depth=OPEN_DEPTH,
        strength_of=strength_of,
    )


ECHELON_RANK = {e.value: i for i, e in enumerate(ECHELON_ORDER)}


def unit_feature(unit: Unit) -> dict[str, Any]:
    """A unit as the OGC `units` collection gives it, with the rank of its echelon (what the
    map's units layer filters on as it zooms)."""
    out = ogc_feature(unit)
    out["properties"]["echelon_rank"] = ECHELON_RANK.get(unit.echelon, 0)
    return out


@router.get("/map/units")
def map_units(session: SessionDep, visitor: SignedIn) -> Response:
    """The units the visitor may see, as they stand now, that have a location: GeoJSON for the
    map's units layer (which hides the lower echelons as the map zooms out)."""
    located = orbat.orbat_statement(visitor.principal.viewer).where(
        Unit.lon.is_not(None), Unit.lat.is_not(None)
    )
    features = [unit_feature(u) for u in session.scalars(located)]
    body = {
        "type": "FeatureCollection",
        "features": features,
        "echelons": [e.value for e in Echelon],
    }
    return Response(orjson.dumps(body), media_type="application/geo+json")
