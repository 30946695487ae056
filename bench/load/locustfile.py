"""The load of the picture (issue 17): staff officers file incidents, and staff and a liaison
officer read the picture as the web map and GIS clients do.

Run by Locust (`locust -f bench/load/locustfile.py --headless ...`), never imported by the
tests (Locust patches the standard library with gevent). Its settings come from the JSON
file named by CMCC_LOAD_CONFIG (written by bench/load/scenario.py):

    {"staff": TOKEN, "liaison": TOKEN, "liaison_org": "EGY", "zone": [minlon, minlat, maxlon,
     maxlat], "since": "2026-...Z", "record": FOLDER or null, "box_half": 0.01}

Writers POST incidents inside the safe zone (so the geofence raises an alert for each), with
a marking drawn from MARKINGS (so the release policy has something to filter). Readers GET
the incident list and the OGC items over a box of the picture and a time window, the open
alerts and the zones, as the map does. With `record` set, each process writes what it
created and what the liaison officer was given there (the load test checks them)."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from pathlib import Path
from typing import Any
from urllib.parse import quote

from locust import FastHttpUser, constant, events, task

CONFIG: dict[str, Any] = json.loads(Path(os.environ["CMCC_LOAD_CONFIG"]).read_text())
MARKINGS = ["mission", "owner", "public", f"rel:{CONFIG['liaison_org']}", "rel:GBR"]
TYPES = ["ceasefire_violation_fire", "aid_obstruction", "explosive_ordnance_found", "demonstration"]
MINLON, MINLAT, MAXLON, MAXLAT = CONFIG["zone"]
SINCE = dt.datetime.fromisoformat(CONFIG["since"])
RECORD = Path(CONFIG["record"]) if CONFIG.get("record") else None
_records: dict[str, Any] = {}


def _record(kind: str, line: dict[str, Any]) -> None:
    """One JSON line in this process's file of `kind` (created, seen)."""
    if RECORD is None:
        return
    out = _records.get(kind)
    if out is None:
        out = _records[kind] = (RECORD / f"{kind}-{os.getpid()}.jsonl").open("a")
    out.write(json.dumps(line) + "\n")


@events.quitting.add_listener
def _close(**_: Any) -> None:
    for out in _records.values():
        out.close()


def _box(half: float = CONFIG.get("box_half", 0.01)) -> str:
    """A box around a random place of the zone and its surroundings (half its side in degrees:
    0.01, about 2 km, unless the config says `box_half`)."""
    lon = random.uniform(MINLON - 0.02, MAXLON + 0.02)
    lat = random.uniform(MINLAT - 0.02, MAXLAT + 0.02)
    return f"{lon - half:.5f},{lat - half:.5f},{lon + half:.5f},{lat + half:.5f}"


def _window() -> str:
    return quote(f"{CONFIG['since']}/..")


class StaffWriter(FastHttpUser):
    """A staff officer of the coordination centre filing incident reports."""

    weight = 1
    wait_time = constant(0)

    @task
    def file_incident(self) -> None:
        marking = random.choice(MARKINGS)
        now = dt.datetime.now(dt.UTC)
        occurred = SINCE + (now - SINCE) * random.random()
        body = {
            "type": random.choice(TYPES),
            "occurred_at": occurred.isoformat(),
            "geometry": {
                "type": "Point",
                "coordinates": [
                    round(random.uniform(MINLON, MAXLON), 6),
                    round(random.uniform(MINLAT, MAXLAT), 6),
                ],
            },
            "severity": random.randint(1, 5),
            "injured_civilian": random.randint(0, 3),
            "source_reliability": random.choice("ABCDEF"),
            "info_credibility": random.randint(1, 6),
            "narrative": "Small arms fire reported near the distribution point; load test",
            "source": "load test",
            "releasability": marking,
        }
        headers = {"Authorization": f"Bearer {CONFIG['staff']}"}
        with self.client.post(
            "/api/v1/incidents",
            json=body,
            headers=headers,
            name="create incident",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                _record("failed", {"status": response.status_code, "body": response.text[:500]})
                return
            _record("created", {"id": response.json()["id"], "marking": marking})


class Reader(FastHttpUser):
    """Reads of the picture as the web map and a GIS client make them."""

    abstract = True
    wait_time = constant(0)
    token = ""

    def _get(self, path: str, name: str) -> dict[str, Any] | None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        with self.client.get(path, headers=headers, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                _record("failed", {"status": response.status_code, "body": response.text[:500]})
                return None
            body: dict[str, Any] = response.json()
            return body

    @task(3)
    def incident_list(self) -> None:
        body = self._get(
            f"/api/v1/incidents?bbox={_box()}&datetime={_window()}&limit=100", "incidents list"
        )
        self.seen("incident", [row["id"] for row in (body or {}).get("data", [])])

    @task(2)
    def ogc_items(self) -> None:
        body = self._get(
            f"/ogc/collections/incidents/items?f=json&bbox={_box()}&datetime={_window()}&limit=100",
            "OGC incidents items",
        )
        self.seen("incident", [f["id"] for f in (body or {}).get("features", [])])

    @task(1)
    def open_alerts(self) -> None:
        body = self._get("/api/v1/alerts?status=open&limit=200", "open alerts")
        self.seen("alert", [row["incident_id"] for row in (body or {}).get("data", [])])

    @task(1)
    def zones(self) -> None:
        self._get(f"/ogc/collections/zones/items?f=json&bbox={_box(0.05)}&limit=100", "OGC zones")

    def seen(self, kind: str, ids: list[int]) -> None:
        """What the reader was given (recorded for the liaison officer only)."""


class StaffReader(Reader):
    weight = 2
    token = CONFIG["staff"]


class LiaisonReader(Reader):
    """A liaison officer of a party outside the mission: public and rel:<its code> only."""

    weight = 1
    token = CONFIG["liaison"]

    def seen(self, kind: str, ids: list[int]) -> None:
        if ids:
            _record("seen", {"kind": kind, "incidents": ids})
