"""`cmcc <args>` with a sampling profiler of every thread (py-spy is not installed here; cProfile
sees one thread, and the API's handlers run in a pool of threads).

Every 5 ms a thread of this process takes the stack of every other thread; a thread waiting
for work (the event loop's select, the pool's queue) is idle and not counted. At exit it
writes to CMCC_LOAD_SAMPLES (SIGTERM) a JSON of what the busy threads were doing: by the innermost
frame's package (the database driver waiting, SQLAlchemy, pydantic, ...), and the functions
of cmcc on the stack (inclusive). SIGUSR1 starts the count again (the load begins).

    python bench/load/sampled.py serve --port 8000
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import signal
import sys
import threading
import time
from typing import Any

INTERVAL = 0.005
IDLE = {("selectors.py", "select"), ("threading.py", "wait"), ("queue.py", "get")}
PACKAGES = [  # the innermost frame's path part -> what it is
    ("/psycopg/", "database driver (psycopg: waiting for PostgreSQL)"),
    ("/sqlite3/", "database driver (sqlite3)"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/pydantic", "pydantic"),
    ("/shapely/", "shapely"),
    ("/orjson", "orjson"),
    ("/starlette/", "Starlette"),
    ("/fastapi/", "FastAPI"),
    ("/uvicorn/", "uvicorn"),
    ("/anyio/", "anyio (thread pool)"),
    ("/asyncio/", "asyncio"),
    ("/nats/", "NATS client"),
    ("/cmcc/", "cmcc"),
]
leaf: collections.Counter[str] = collections.Counter()
inclusive: collections.Counter[str] = collections.Counter()
busy = [0]
samples = [0]


def _what(path: str) -> str:
    for part, name in PACKAGES:
        if part in path:
            return name
    return "other: " + os.path.basename(path)


def _sample(me: int) -> None:
    while True:
        time.sleep(INTERVAL)
        samples[0] += 1
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            code = frame.f_code
            if (os.path.basename(code.co_filename), code.co_name) in IDLE:
                continue
            busy[0] += 1
            leaf[_what(code.co_filename)] += 1
            seen = set()
            f: Any = frame
            while f is not None:
                c = f.f_code
                if "/cmcc/" in c.co_filename:
                    name = c.co_filename.split("/cmcc/", 1)[1] + ":" + c.co_name
                    if name not in seen:
                        seen.add(name)
                        inclusive[name] += 1
                f = f.f_back


def _write() -> None:
    out = os.environ.get("CMCC_LOAD_SAMPLES")
    if out:
        with open(out, "w") as f:
            json.dump(
                {
                    "interval_s": INTERVAL,
                    "ticks": samples[0],
                    "busy_samples": busy[0],
                    "leaf": leaf.most_common(),
                    "inclusive": inclusive.most_common(60),
                },
                f,
            )


def _reset() -> None:
    leaf.clear()
    inclusive.clear()
    busy[0] = samples[0] = 0


def main() -> None:
    thread = threading.Thread(target=lambda: _sample(thread.ident or 0), daemon=True)
    thread.start()
    atexit.register(_write)
    signal.signal(signal.SIGUSR1, lambda *_: _reset())  # the load begins: forget the start
    # uvicorn raises the SIGTERM it caught again once it has shut down: write then too
    signal.signal(signal.SIGTERM, lambda *_: (_write(), os._exit(0)))
    sys.argv = ["cmcc", *sys.argv[1:]]
    from cmcc.cli import main as cmcc

    cmcc()


if __name__ == "__main__":
    main()
