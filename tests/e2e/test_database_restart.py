"""PostgreSQL stopped and started again under HTTP load (issue 17), on a cluster of the test's
own (never the shared server): while it is down every request is answered, 503 with a
problem document and Retry-After (not 500, not a hang), the health check says the database is
down; once it is back the same `cmcc serve` process answers 200 and 201 again, without a
restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.initialize import initialize
from tests.conftest import SECRET
from tests.factories import caller
from tests.processes import OwnPostgres, own_postgres
from tests.serving import eventually, serving

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
CLIENTS = 3
TIMEOUT = 10.0  # seconds: the longest a request may wait for its answer
INCIDENT = {
    "type": "ceasefire_violation_fire",
    "occurred_at": "2026-03-01T10:00:00Z",
    "geometry": {"type": "Point", "coordinates": [34.45, 31.517]},
    "severity": 3,
}


@dataclass
class Answer:
    phase: str  # up, down (PostgreSQL stopped), back (started again): when it was sent
    answered: float  # time.monotonic() when the answer came
    method: str
    status: int
    body: Any
    retry_after: str | None


class Load:
    """CLIENTS threads sending reads and writes in turn until stopped; every answer kept with
    the phase in which its request was sent (a request that got no answer fails the test)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.phase = "up"
        self.answers: list[Answer] = []
        self.failures: list[str] = []
        self.running = True
        self.threads = [threading.Thread(target=self.run) for _ in range(CLIENTS)]

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=TIMEOUT) as client:
            while self.running:
                for method in ("GET", "POST"):
                    phase = self.phase
                    try:
                        if method == "GET":
                            r = client.get("/api/v1/incidents", params={"limit": 5})
                        else:
                            r = client.post("/api/v1/incidents", json=INCIDENT)
                    except httpx.HTTPError as exc:
                        self.failures.append(f"{method} in phase {phase}: {exc!r}")
                        continue
                    kind = r.headers.get("content-type", "")
                    body = r.json() if "json" in kind else r.text
                    retry = r.headers.get("retry-after")
                    answer = Answer(phase, time.monotonic(), method, r.status_code, body, retry)
                    self.answers.append(answer)
                time.sleep(0.01)

    def count(self, phase: str, *statuses: int) -> int:
        return sum(1 for a in self.answers if a.phase == phase and a.status in statuses)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(TIMEOUT * 3)


@pytest.fixture
def cluster() -> Iterator[tuple[OwnPostgres, Platform]]:
    with own_postgres() as pg:
        platform = bootstrap(Settings(database_url=pg.url, secret_key=SECRET, environment="test"))
        initialize(platform)
        try:
            yield pg, platform
        finally:
            platform.dispose()


def test_postgresql_restarted_under_load(
    cluster: tuple[OwnPostgres, Platform], tmp_path: Path
) -> None:
    pg, platform = cluster
    officer = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    platform.dispose()  # the server has its own connections; the test none while it is down
    with serving(platform, tmp_path) as (url, _, server), Load(url, officer) as load:
        assert eventually(lambda: load.count("up", 200) > 10 and load.count("up", 201) > 10, 30)
        pg.stop("immediate")  # a crash, as far as the server can tell
        load.phase = "down"
        assert eventually(lambda: load.count("down", 503) > 20, 30), load.answers[-3:]
        health = httpx.get(url + "/api/v1/health", timeout=TIMEOUT)
        assert health.status_code == 503 and health.json()["database_ok"] is False
        starting = time.monotonic()
        pg.start()
        load.phase = "back"
        assert eventually(lambda: load.count("back", 200) > 5 and load.count("back", 201) > 5, 30)
        assert httpx.get(url + "/api/v1/health", timeout=TIMEOUT).status_code == 200
        assert server.poll() is None  # the same process all along
    assert load.failures == []  # every request was answered within TIMEOUT
    assert {a.status for a in load.answers} <= {200, 201, 503}  # never a 500
    down = [a for a in load.answers if a.phase == "down" and a.answered < starting]
    assert {a.status for a in down} == {503}  # sent and answered while it was down
    for answer in (a for a in load.answers if a.status == 503):
        assert answer.body["type"].endswith("/database-unavailable"), answer.body
        assert "the database is not available" in answer.body["detail"]
        assert answer.retry_after is not None and int(answer.retry_after) > 0
