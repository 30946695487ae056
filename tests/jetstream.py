"""The positions stream in tests: a namespace of its own per test on the shared NATS server
(CMCC_TEST_NATS_URL, default 127.0.0.1:4222), removed afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import nats
import pytest

from cmcc.bootstrap import Platform
from cmcc.config import Settings
from cmcc.cot.stream import Names
from tests.asyncrun import run as run_async

NATS_URL = os.environ.get("CMCC_TEST_NATS_URL", "nats://127.0.0.1:4222")


def namespace() -> str:
    return f"t{uuid.uuid4().hex[:16]}"


def with_stream(settings: Settings, url: str = NATS_URL, **more: object) -> Settings:
    """The settings with NATS on, in a fresh namespace."""
    return settings.model_copy(update={"nats_url": url, "nats_namespace": namespace(), **more})


async def remove_stream(settings: Settings) -> None:
    nc = await nats.connect(settings.nats_url or NATS_URL, connect_timeout=2)
    try:
        await nc.jetstream().delete_stream(Names.of(settings.nats_namespace).stream)
    except Exception:  # never created, or gone with its server
        pass
    finally:
        await nc.close()


@contextmanager
def streamed(platform: Platform, **more: object) -> Iterator[Platform]:
    """The platform with NATS on in a namespace of its own; its stream is removed after."""
    plain = platform.settings
    platform.settings = with_stream(plain, **more)
    try:
        yield platform
    finally:
        try:
            run_async(remove_stream(platform.settings))
        except OSError as exc:
            pytest.fail(f"NATS is not reachable at {NATS_URL}: {exc}")
        platform.settings = plain
