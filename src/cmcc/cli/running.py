"""What the long-running commands (`cmcc gateway`, `cmcc worker`) share: logging set up for a
service, and waiting for SIGTERM or SIGINT to stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal


def service_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


async def until_signalled() -> None:
    """Return when the process is asked to stop (SIGTERM, SIGINT)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
