"""The broker: its state in the health endpoint and the log (NATS absent at start, the connection
retried with backoff, then up, lost, back), and a command's writes announced (issue 15)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cmcc.api.app import create_app
from cmcc.bootstrap import Platform, bootstrap
from tests.processes import OwnNats


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
    server.kill()


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

            nats_later.kill()  # lost: visible in health and in the log
            assert _until(lambda: health()[0] == 503), health()
            assert health()[1]["state"] == "disconnected"
            assert "lost the connection to NATS" in caplog.text

            nats_later.start()  # back on the same address
            assert _until(lambda: health()[0] == 200), health()
            assert "reconnected to NATS" in caplog.text
    finally:
        clustered.dispose()


def test_a_commands_writes_reach_the_running_instances(
    platform: Platform, nats_url: str, nats_namespace: str
) -> None:
    """`cmcc user add` (any command) with CMCC_NATS_URL announces what it wrote."""
    from typer.testing import CliRunner

    from cmcc.cli import app
    from tests.factories import org

    org(platform, "IDN")
    settings = platform.settings.model_copy(
        update={"nats_url": nats_url, "nats_namespace": nats_namespace}
    )
    running = bootstrap(settings)
    heard: list[dict[str, object]] = []
    running.bus.listen(heard.append, remote_only=True)
    env = {
        "CMCC_DATABASE_URL": settings.effective_database_url,
        "CMCC_SECRET_KEY": settings.secret_key.get_secret_value(),
        "CMCC_NATS_URL": nats_url,
        "CMCC_NATS_NAMESPACE": nats_namespace,
    }
    try:
        with TestClient(create_app(running)) as client:
            assert _until(lambda: client.get("/api/v1/health").status_code == 200)
            added = CliRunner().invoke(
                app,
                ["user", "add", "lo-idn-9", "--org", "IDN", "--role", "liaison_officer"],
                env=env,
            )
            assert added.exit_code == 0, added.output
            assert _until(lambda: any(e.get("table") == "users" for e in heard), 10), heard
    finally:
        running.dispose()
