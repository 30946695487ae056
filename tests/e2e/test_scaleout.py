"""Several CMCC processes on one PostgreSQL database and one NATS server (issue 15): alerts and
zones reach every instance, gateways relay to each other's clients and follow what any
instance writes. Real processes (`cmcc serve --no-gateway`, `cmcc gateway`), each test with a
NATS namespace of its own."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.cot import devices
from tests.asyncrun import run as run_async
from tests.e2e.test_cot_gateway import OUTSIDE, Listener, _position, _pytak_send
from tests.factories import caller, org
from tests.serving import eventually, free_port, platform_env, process, served

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("backend", ["postgresql"])]
SAFE = {
    "type": "Polygon",
    "coordinates": [
        [[34.44, 31.50], [34.47, 31.50], [34.47, 31.53], [34.44, 31.53], [34.44, 31.50]]
    ],
}
INSIDE = {"type": "Point", "coordinates": [34.455, 31.515]}


@pytest.fixture
def cluster(platform: Platform, nats_url: str, nats_namespace: str) -> dict[str, str]:
    """What every process of one platform shares: the database and the NATS namespace."""
    return {"CMCC_NATS_URL": nats_url, "CMCC_NATS_NAMESPACE": nats_namespace}


def _ready(base: str) -> dict[str, Any]:
    """The health of an instance once its broker is connected."""

    def health() -> dict[str, Any] | None:
        r = httpx.get(base + "/api/v1/health", timeout=5)
        return r.json() if r.status_code == 200 else None

    body = eventually(health, 20)
    assert body is not None, f"{base} never became ready"
    return body


def _incident(releasability: str, **over: Any) -> dict[str, Any]:
    return {
        "type": "ceasefire_violation_fire",
        "occurred_at": "2026-03-01T10:00:00Z",
        "geometry": INSIDE,
        "severity": 3,
        "source_reliability": "B",
        "info_credibility": 2,
        "narrative": "Small arms fire",
        "releasability": releasability,
        **over,
    }


class Stream:
    """An SSE client of /api/v1/alerts/stream in a thread: the alerts it received."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(base, headers), daemon=True)
        self._thread.start()
        assert self.connected.wait(10), "the stream did not open"

    def _run(self, base: str, headers: dict[str, str]) -> None:
        url = base + "/api/v1/alerts/stream"
        with (
            contextlib.suppress(httpx.TransportError),  # the server stops at the test's end
            httpx.stream("GET", url, headers=headers, timeout=30) as response,
        ):
            for line in response.iter_lines():
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith("data: "):
                    self.alerts.append(json.loads(line[6:]))

    def incidents(self) -> list[int]:
        return [a["incident_id"] for a in self.alerts]


def test_an_alert_raised_on_one_instance_reaches_the_live_feed_of_another(
    platform: Platform, tmp_path: Path, cluster: dict[str, str]
) -> None:
    """A zone drawn on A is enforced by B's geofence; the alert B raises reaches A's live
    feed, through the release policy (a liaison officer's feed gets only what GBR may see)."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    gbr = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    with (
        served(platform, tmp_path, extra_env=cluster, args=("--no-gateway",)) as (a, _),
        served(platform, tmp_path, extra_env=cluster, args=("--no-gateway",)) as (b, _),
    ):
        for base in (a, b):
            health = _ready(base)
            assert health["broker"]["kind"] == "nats" and health["broker"]["state"] == "connected"
        zone = httpx.post(
            a + "/api/v1/zones",
            headers=staff,
            json={
                "name": "Safe zone S",
                "kind": "civilian_safe_zone",
                "geometry": SAFE,
                "valid_from": "2026-01-01T00:00:00Z",
                "notional": True,
            },
        )
        assert zone.status_code == 201, zone.text
        drawn = time.monotonic()

        def enforced_on_b() -> bool:  # an owner-only probe, until B's geofence knows the zone
            probe = httpx.post(b + "/api/v1/incidents", headers=staff, json=_incident("owner"))
            assert probe.status_code == 201, probe.text
            alerts = httpx.get(b + "/api/v1/alerts", headers=staff, params={"limit": 500})
            return probe.json()["id"] in {x["incident_id"] for x in alerts.json()["data"]}

        assert eventually(enforced_on_b, 15), "B's geofence never learned A's zone"
        print(f"zone drawn on A enforced by B after {time.monotonic() - drawn:.2f} s")

        staff_feed, gbr_feed = Stream(a, staff), Stream(a, gbr)
        secret = httpx.post(b + "/api/v1/incidents", headers=staff, json=_incident("owner"))
        shared = httpx.post(b + "/api/v1/incidents", headers=staff, json=_incident("mission"))
        ids = [secret.json()["id"], shared.json()["id"]]
        assert eventually(lambda: staff_feed.incidents() == ids, 15), staff_feed.alerts
        assert eventually(lambda: gbr_feed.incidents() == ids[1:], 5), gbr_feed.alerts
        time.sleep(0.5)  # nothing more comes: not the owner-only alert, not twice
        assert gbr_feed.incidents() == ids[1:]
        assert staff_feed.incidents() == ids


@contextmanager
def _gateway(platform: Platform, home: Path, cluster: dict[str, str], name: str) -> Iterator[int]:
    port = free_port()
    env = platform_env(
        platform, home, CMCC_COT_TCP_PORT=str(port), CMCC_COT_RELAY="mission", **cluster
    )
    with process(["gateway"], env, home / f"gateway-{name}.log", b"TAK gateway on"):
        yield port


def test_gateways_relay_to_each_others_clients_and_follow_every_instance(
    platform: Platform, tmp_path: Path, cluster: dict[str, str]
) -> None:
    """A device on gateway 1 receives a device of gateway 2; an unregistered client of
    gateway 1 receives nothing; a zone drawn on an API instance reaches the TAK clients."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    org(platform, "IDN")
    with operator_session(platform, write=True, actor="system:test") as session:
        devices.register(session, "idn-1", "IDN", callsign="GARUDA-1")
        devices.register(session, "idn-2", "IDN", callsign="GARUDA-2")
    with ExitStack() as stack:
        api, _ = stack.enter_context(
            served(platform, tmp_path, extra_env=cluster, args=("--no-gateway",))
        )
        one = stack.enter_context(_gateway(platform, tmp_path, cluster, "1"))
        two = stack.enter_context(_gateway(platform, tmp_path, cluster, "2"))
        garuda1, stranger, garuda2 = Listener(one), Listener(one), Listener(two)
        stack.callback(lambda: [c.close() for c in (garuda1, stranger, garuda2)])
        garuda1.send(_position("idn-1", "GARUDA-1", OUTSIDE))
        garuda2.send(_position("idn-2", "GARUDA-2", OUTSIDE))
        stranger.send(_position("stranger-1", "NOBODY", OUTSIDE))
        for client in (garuda1, garuda2, stranger):
            client.events(0.5)

        heard: list[str] = []

        def relayed() -> bool:  # until gateway 1 has subscribed to the relay (within a second)
            run_async(_pytak_send(two, [_position("idn-2", "GARUDA-2", OUTSIDE)]))  # pytak
            heard.extend(e.uid for e in garuda1.events(0.5))
            return "idn-2" in heard

        assert eventually(relayed, 15), heard
        assert "idn-2" not in {e.uid for e in stranger.events(1.0)}
        back: list[str] = []

        def the_other_way() -> bool:
            garuda1.send(_position("idn-1", "GARUDA-1", OUTSIDE))
            back.extend(e.uid for e in garuda2.events(0.5))
            return "idn-1" in back

        assert eventually(the_other_way, 15), back

        zone = httpx.post(
            api + "/api/v1/zones",
            headers=staff,
            json={
                "name": "Restricted R",
                "kind": "restricted_area",
                "geometry": SAFE,
                "valid_from": "2026-01-01T00:00:00Z",
                "releasability": "mission",
            },
        )
        assert zone.status_code == 201, zone.text
        uid = f"cmcc-zone-{zone.json()['id']}"
        seen: set[str] = set()

        def shown() -> bool:
            seen.update(e.uid for e in garuda1.events(0.5))
            return uid in seen

        assert eventually(shown, 15), seen
