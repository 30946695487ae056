"""The positions stream on NATS JetStream: the connection, the stream and the workers'
consumer, as the gateway (`cmcc.cot.publisher`) and `cmcc worker` (`cmcc.cot.worker`) set them
up. Whichever starts first creates them; a later start with other limits updates the stream.

The stream (`<namespace>_POSITIONS`, subjects `<namespace>.positions.>`) keeps messages on
file, as a work queue: a message leaves the stream when a worker acknowledges it. Its limits
are `CMCC_POSITIONS_MAX_BYTES` and `CMCC_POSITIONS_MAX_AGE_HOURS`, with the discard policy
`new`: a full stream refuses what comes (the gateway keeps it and retries) and never pushes
out what it has acknowledged. Its duplicate window lets a gateway publish a message again
after a lost acknowledgement without it being stored twice in the stream (the tracks' keys
keep it stored once in the database in any case). The consumer is durable and shared by every
worker, with explicit acknowledgement."""

from __future__ import annotations

import logging
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError

from cmcc.config import Settings
from cmcc.cot.stream import MESSAGE_BYTES, Names

log = logging.getLogger("cmcc.cot")
DUPLICATE_WINDOW_SECONDS = 120.0
MAX_ACK_PENDING = 1024  # messages fetched and not yet acknowledged, over every worker


async def connect(settings: Settings, name: str) -> NATS:
    """Connect to CMCC_NATS_URL (the first attempt raises when no server answers); once
    connected, the client reconnects by itself for ever, and the log says when the link goes
    and comes back."""
    assert settings.nats_url, "CMCC_NATS_URL is not set"
    nc = NATS()

    async def disconnected() -> None:
        if not (nc.is_closed or nc.is_draining):
            log.warning("%s: NATS connection lost; reconnecting", name)

    async def reconnected() -> None:
        log.warning("%s: NATS connection back", name)

    async def error(exc: Exception) -> None:
        log.info("%s: NATS: %s", name, exc)

    await nc.connect(
        servers=[u.strip() for u in settings.nats_url.split(",") if u.strip()],
        name=name,
        connect_timeout=2,
        reconnect_time_wait=1,
        max_reconnect_attempts=-1,
        ping_interval=5,
        max_outstanding_pings=2,
        disconnected_cb=disconnected,
        reconnected_cb=reconnected,
        error_cb=error,
    )
    return nc


def stream_config(settings: Settings) -> StreamConfig:
    names = Names.of(settings.nats_namespace)
    return StreamConfig(
        name=names.stream,
        subjects=[names.subjects],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,
        max_bytes=settings.positions_max_bytes,
        max_age=settings.positions_max_age_hours * 3600.0,
        max_msg_size=MESSAGE_BYTES + 1024,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )


def consumer_config(settings: Settings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=Names.of(settings.nats_namespace).consumer,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.worker_ack_wait_seconds,
        max_ack_pending=MAX_ACK_PENDING,
        max_waiting=512,
    )


async def ensure_stream(js: JetStreamContext, settings: Settings) -> None:
    """Create the stream, or bring its limits to the settings."""
    config = stream_config(settings)
    try:
        await js.add_stream(config)
    except BadRequestError:  # it exists with other limits
        await js.update_stream(config)
        log.info("stream %s: limits updated", config.name)


async def ensure_consumer(js: JetStreamContext, settings: Settings) -> None:
    """Create the workers' durable consumer; an existing one is kept as it is (the server
    version in use may refuse to change it: the log says so)."""
    config = consumer_config(settings)
    stream = Names.of(settings.nats_namespace).stream
    try:
        await js.add_consumer(stream, config)
    except BadRequestError as exc:
        log.warning("consumer %s kept as it is: %s", config.durable_name, exc)


async def pending(js: JetStreamContext, settings: Settings) -> dict[str, Any]:
    """What waits in the stream: messages, bytes, and the consumer's unacknowledged ones."""
    names = Names.of(settings.nats_namespace)
    try:
        info = await js.stream_info(names.stream)
        consumer = await js.consumer_info(names.stream, names.consumer)
    except NotFoundError:
        return {"messages": 0, "bytes": 0, "ack_pending": 0}
    return {
        "messages": info.state.messages,
        "bytes": info.state.bytes,
        "ack_pending": consumer.num_ack_pending,
    }
