"""The broker's state in the health endpoint and the log: NATS absent at start (the connection
is retried with backoff), then up, then lost, then back (issue 15)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cmcc.api.app import create_app
from cmcc.bootstrap import Platform, bootstrap
from tests.nats_server import OwnNats


def _until(check: Callable[[], bool], seconds: float = 20) -> bool:
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def nats_later(tmp_path: Path) -> Iterator[OwnNats]:
    server = OwnNats(tmp_path)
    yield server
    server.stop()


def test_health_follows_the_broker(
    platform: Platform, nats_later: OwnNats, nats_namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = platform.settings.model_copy(
        update={"nats_url": nats_later.url, "nats_namespace": nats_namespace}
    )
    clustered = bootstrap(settings)
    caplog.set_level(logging.INFO, logger="cmcc.broker")

    def health() -> tuple[int, dict[str, object]]:
        r = client.get("/api/v1/health")
        return r.status_code, r.json()["broker"]

    try:
        with TestClient(create_app(clustered)) as client:
            code, broker = health()
            assert code == 503 and broker["kind"] == "nats" and broker["state"] == "connecting"
            assert client.get("/api/v1/health/live").status_code == 200
            assert _until(lambda: "does not answer" in caplog.text)

            nats_later.start()  # the retried connection comes up
            assert _until(lambda: health()[0] == 200), health()
            assert health()[1]["state"] == "connected"

            nats_later.stop()  # lost: visible in health and in the log
            assert _until(lambda: health()[0] == 503), health()
            assert health()[1]["state"] == "disconnected"
            assert "lost the connection to NATS" in caplog.text

            nats_later.start()  # back on the same address
            assert _until(lambda: health()[0] == 200), health()
            assert "reconnected to NATS" in caplog.text
    finally:
        clustered.dispose()
