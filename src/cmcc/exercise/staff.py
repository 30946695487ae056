"""The exercise's staff and public over HTTP: incidents filed and taken through verification
with a staff officer's token (the REST API), tips sent through the public tip route with its
proof of work and nothing else (no token, no identity), as a person on the tip page would.

Every refusal or failure of the server is logged with its status and reason and counted; none
stops the exercise."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import random
from collections import Counter
from typing import Any

import httpx

from cmcc.exercise.domain import Finding, finding, jitter, marked
from cmcc.exercise.schemas import IncidentInject, TipInject
from cmcc.tips.challenge import solve

log = logging.getLogger("cmcc.exercise")
SOURCE = "Exercise inject (cmcc exercise run): simulated, not a real report"
TIMEOUT = httpx.Timeout(15.0)


class ServerRefused(Exception):
    """The server answered with an error, or did not answer."""


def _reason(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200]
    return (
        str(body.get("detail") or body.get("title") or body)[:200] if isinstance(body, dict) else ""
    )


class Desk:
    """The exercise's side of the API: a staff officer's session, and an anonymous one for the
    public tip route."""

    def __init__(self, base_url: str, token: str, counters: Counter[str], run_id: str) -> None:
        self.staff = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )
        self.public = httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT)
        self.counters = counters
        self.run_id = run_id
        self._numbers = itertools.count(1)

    async def close(self) -> None:
        await self.staff.aclose()
        await self.public.aclose()

    async def _call(self, client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> Any:
        try:
            answer = await client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ServerRefused(f"{method} {path}: no answer ({exc.__class__.__name__})") from None
        if answer.status_code >= 400:
            raise ServerRefused(f"{method} {path}: {answer.status_code} {_reason(answer)}")
        return answer.json()

    def failed(self, what: str, exc: ServerRefused) -> None:
        self.counters["errors"] += 1
        self.counters[f"{what} errors"] += 1
        log.warning("exercise: %s failed: %s", what, exc)

    async def ready(self) -> bool:
        """Does the server answer yet? ServerRefused when it refuses the staff token."""
        try:
            answer = await self.staff.get("/api/v1/auth/me")
        except httpx.HTTPError:
            return False  # not up yet
        if answer.status_code in (401, 403):
            raise ServerRefused(f"the server refused the token: {_reason(answer)}")
        return answer.status_code < 400

    # -- incidents -------------------------------------------------------------------------

    async def file_incident(self, inject: IncidentInject, rng: random.Random) -> dict[str, Any]:
        """File a report as the watch receives it: it happened some minutes ago, here."""
        lon, lat = jitter(rng, *inject.at, inject.within_m)
        occurred = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=rng.uniform(3, 45))
        body = {
            "external_ref": f"exercise-{self.run_id}-{next(self._numbers)}",
            "type": inject.type.value,
            "occurred_at": occurred.isoformat(),
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "severity": inject.severity,
            "injured_civilian": inject.injured_civilian,
            "source_reliability": inject.source_reliability.value,
            "info_credibility": inject.info_credibility,
            "narrative": marked(inject.narrative),
            "source": SOURCE,
        }
        incident: dict[str, Any] = await self._call(
            self.staff, "POST", "/api/v1/incidents", json=body
        )
        self.counters["incidents filed"] += 1
        log.info("exercise: incident %s filed (%s)", incident["id"], inject.type.value)
        return incident

    async def verify(self, incident_id: int, delay: float, rng: random.Random) -> None:
        """The watch takes the report under verification, then concludes, `delay` apart."""
        try:
            await asyncio.sleep(delay)
            await self._step(incident_id, "under_verification", "EXERCISE: verification started")
            await asyncio.sleep(delay)
            outcome = finding(rng)
            extra: dict[str, Any] = {"finding": marked("Finding of the exercise watch.")}
            if outcome is Finding.VERIFIED:
                extra["attribution"] = "undetermined"
            await self._step(incident_id, outcome.value, "EXERCISE: verification done", **extra)
            self.counters[f"incidents {outcome.value.replace('_', ' ')}"] += 1
        except ServerRefused as exc:
            self.failed("verification", exc)

    async def _step(self, incident_id: int, to: str, note: str, **extra: Any) -> None:
        path = f"/api/v1/incidents/{incident_id}"
        current = await self._call(self.staff, "GET", path)
        body = {"to": to, "note": note, "version": current["version"], **extra}
        await self._call(self.staff, "POST", f"{path}/verification", json=body)

    # -- tips ------------------------------------------------------------------------------

    async def send_tip(self, inject: TipInject, rng: random.Random) -> None:
        """A tip through the public route: ask for a challenge, do the work, send."""
        made = await self._call(self.public, "GET", "/public/tips/challenge")
        counter = await asyncio.to_thread(solve, made["challenge"], int(made["bits"]))
        body: dict[str, Any] = {
            "text": marked(inject.text),
            "place": inject.place,
            "challenge": made["challenge"],
            "counter": counter,
        }
        if inject.at is not None:
            lon, lat = jitter(rng, *inject.at, inject.within_m)
            body.update(lon=round(lon, 6), lat=round(lat, 6))
        await self._call(self.public, "POST", "/public/tips", json=body)
        self.counters["tips sent"] += 1
        log.info("exercise: a tip was sent through the public tip route")
