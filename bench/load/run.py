"""The load run (issue 17): Locust against `cmcc serve` on SQLite and PostgreSQL, with 1 and 2
API processes (`--workers`), each into a scratch database.

Goals (PostgreSQL, 2 workers): 1,000 incident creations/s and 3,000 reads/s with p99 under
100 ms. Prints, for each run: creations/s, reads/s, p50/p95/p99 of each kind, failures, the load
average before and after, and where the CPU went (the server's processes, PostgreSQL's
backends of the run's database, Locust, the rest of the machine). Then, on PostgreSQL with 1
worker: one writer alone and one reader alone (what a request costs without company), and a
run under a sampling profiler (bench/load/sampled.py): what the server's threads were
doing, the first bottleneck. Asserts nothing.

    .venv/bin/python bench/load/run.py [--seconds 60] [--users 32] [--backends sqlite,postgresql]
        [--workers 1,2] [--no-profile]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/scratch.py
from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.service import add_user, upsert_organization
from cmcc.bootstrap import bootstrap
from cmcc.config import Settings
from scratch import scratch_postgres

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
LOCUST = str(Path(PYTHON).with_name("locust"))
NATS = os.environ.get("CMCC_TEST_NATS_URL", "nats://127.0.0.1:4222")
SECRET = "load-secret-" + "x" * 32
ZONE = [34.44, 31.50, 34.47, 31.53]  # a civilian safe zone of about 3 x 3 km in Gaza City
GOALS = {"creations/s": 1000, "reads/s": 3000, "p99 ms": 100}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(url: str, home: Path, namespace: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(HERE.parents[1] / "src"),
        "CMCC_HOME": str(home),
        "CMCC_DATABASE_URL": url,
        "CMCC_SECRET_KEY": SECRET,
        "CMCC_NATS_URL": NATS,
        "CMCC_NATS_NAMESPACE": namespace,
        **{
            f"CMCC_{p}_PORT": "0"
            for p in ("COT_TCP", "COT_TAK", "COT_UDP", "COT_TLS", "TAK_ENROLL", "TAK_HTTPS")
        },
    }


def cmcc(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "-m", "cmcc", *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def prepare(env: dict[str, str], url: str) -> dict[str, str]:
    """The database migrated, the organizations and users; their tokens from `cmcc token
    create`."""
    cmcc(env, "init")
    platform = bootstrap(Settings(database_url=url, secret_key=SECRET))
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        upsert_organization(s, "GBR", "United Kingdom", OrgKind.NATION, is_member=True)
        upsert_organization(s, "EGY", "Egypt liaison cell", OrgKind.NATION, is_member=False)
        add_user(s, "load-staff", "CMCC", Role.STAFF_OFFICER, None)
        add_user(s, "load-liaison", "EGY", Role.LIAISON_OFFICER, None)
    platform.dispose()
    return {
        "staff": cmcc(env, "token", "create", "load-staff", "--label", "load"),
        "liaison": cmcc(env, "token", "create", "load-liaison", "--label", "load"),
    }


@contextmanager
def server(
    env: dict[str, str], workers: int, log: Path, samples: Path | None
) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    args = ["serve", "--port", str(port), "--workers", str(workers), "--no-gateway"]
    command = (
        [PYTHON, str(HERE / "sampled.py"), *args] if samples else [PYTHON, "-m", "cmcc", *args]
    )
    run_env = {**env, "CMCC_LOAD_SAMPLES": str(samples)} if samples else env
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=run_env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while log.read_bytes().count(b"Application startup complete") < workers:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + log.read_text())
            time.sleep(0.2)
        yield base, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def postgres_backends(database: str | None) -> list[psutil.Process]:
    if database is None:
        return []
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        line = " ".join(p.info["cmdline"] or [])
        if line.startswith("postgres:") and f" {database} " in line:
            found.append(p)
    return found


class Backends(threading.Thread):
    """PostgreSQL's backends of the run's database, looked at every half second: the pool
    closes connections beyond its size, and their CPU would be lost at the end."""

    def __init__(self, database: str | None) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.first = {p.pid: cpu_seconds([p]) for p in postgres_backends(database)}
        self.last = dict(self.first)
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.wait(0.5):
            for p in postgres_backends(self.database):
                self.first.setdefault(p.pid, 0.0)
                self.last[p.pid] = max(self.last.get(p.pid, 0.0), cpu_seconds([p]))

    def seconds(self) -> float:
        self.done.set()
        self.join()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


@dataclass(frozen=True)
class Run:
    backend: str
    workers: int
    users: int
    seconds: int
    classes: tuple[str, ...] = ()  # Locust's user classes; all of them when empty
    profile: bool = False
    label: str = ""

    @property
    def name(self) -> str:
        return f"{self.backend}-{self.workers}" + (f"-{self.label}" if self.label else "")


def run_locust(config: Path, base: str, run: Run, out: Path) -> float:
    """Locust headless, one process; its CPU seconds (from its rusage)."""
    users, seconds = run.users, run.seconds
    proc = subprocess.Popen(
        [
            LOCUST,
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            base,
            "--csv",
            str(out),
            "--only-summary",
            "--stop-timeout",
            "5",
            "--loglevel",
            "WARNING",
            *run.classes,
        ],
        env={**os.environ, "CMCC_LOAD_CONFIG": str(config)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_utime + usage.ru_stime


def figures(prefix: Path) -> dict[str, Any]:
    rows = list(csv.DictReader((prefix.parent / f"{prefix.name}_stats.csv").open()))
    by = {r["Name"]: r for r in rows}
    writes = [r for name, r in by.items() if name == "create incident"]
    reads = [r for name, r in by.items() if name not in ("create incident", "Aggregated")]

    def rate(rs: list[dict[str, str]]) -> float:
        return sum(float(r["Requests/s"]) for r in rs)

    failures = prefix.parent / f"{prefix.name}_failures.csv"
    return {
        "failures": [
            f"{r['Occurrences']} x {r['Method']} {r['Name']}: {r['Error'][:160]}"
            for r in csv.DictReader(failures.open())
        ]
        if failures.exists()
        else [],
        "creations/s": rate(writes),
        "reads/s": rate(reads),
        "rows": [
            {
                "name": name,
                "count": int(r["Request Count"]),
                "failures": int(r["Failure Count"]),
                "per_s": float(r["Requests/s"]),
                "p50": r["50%"],
                "p95": r["95%"],
                "p99": r["99%"],
            }
            for name, r in by.items()
        ],
    }


def one_run(run: Run, folder: Path) -> dict[str, Any]:
    name, backend, workers, profile = run.name, run.backend, run.workers, run.profile
    with ExitStack() as stack:
        if backend == "postgresql":
            url = stack.enter_context(scratch_postgres())
            database: str | None = url.rsplit("/", 1)[1]
        else:
            url = f"sqlite:///{folder / name}.sqlite3"
            database = None
        home = folder / name
        home.mkdir()
        env = environment(url, home, "load" + uuid.uuid4().hex[:8])
        tokens = prepare(env, url)
        samples = folder / f"{name}-samples.json" if profile else None
        base, proc = stack.enter_context(server(env, workers, home / "server.log", samples))
        staff = {"Authorization": f"Bearer {tokens['staff']}"}
        zone = {
            "name": "Safe zone L",
            "kind": "civilian_safe_zone",
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [ZONE[0], ZONE[1]],
                        [ZONE[2], ZONE[1]],
                        [ZONE[2], ZONE[3]],
                        [ZONE[0], ZONE[3]],
                        [ZONE[0], ZONE[1]],
                    ]
                ],
            },
            "valid_from": "2026-01-01T00:00:00Z",
            "releasability": "mission",
        }
        httpx.post(base + "/api/v1/zones", json=zone, headers=staff, timeout=30).raise_for_status()
        since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        config = home / "load.json"
        config.write_text(
            json.dumps({**tokens, "liaison_org": "EGY", "zone": ZONE, "since": since})
        )
        servers = [proc, *proc.children(recursive=True)]
        before = {
            "uptime": uptime(),
            "server": cpu_seconds(servers),
            "machine": psutil.cpu_times(),
            "at": time.monotonic(),
        }
        backends = Backends(database)
        if profile:
            proc.send_signal(signal.SIGUSR1)  # the sampler starts counting now
        locust_cpu = run_locust(config, base, run, home / "locust")
        elapsed = time.monotonic() - before["at"]
        machine = psutil.cpu_times()
        busy = sum(machine) - machine.idle - machine.iowait
        busy_before = sum(before["machine"]) - before["machine"].idle - before["machine"].iowait
        server_cpu = cpu_seconds(servers) - before["server"]
        pg_cpu = backends.seconds()
        result = {
            "run": name,
            "uptime_before": before["uptime"],
            "uptime_after": uptime(),
            "seconds": elapsed,
            "cpu": {
                "server": server_cpu / elapsed,
                "postgresql": pg_cpu / elapsed,
                "locust": locust_cpu / elapsed,
                "machine": (busy - busy_before) / elapsed,
            },
            **figures(home / "locust"),
        }
    if samples is not None and samples.exists():
        result["samples"] = json.loads(samples.read_text())
    return result


def show(result: dict[str, Any]) -> None:
    cpu = result["cpu"]
    print(f"\n== {result['run']}  ({result['seconds']:.0f} s)")
    print(f"   before: {result['uptime_before']}")
    print(f"   after:  {result['uptime_after']}")
    print(
        f"   creations/s {result['creations/s']:.1f} (goal 1,000: "
        f"{result['creations/s'] / GOALS['creations/s']:.3f}); reads/s {result['reads/s']:.1f} "
        f"(goal 3,000: {result['reads/s'] / GOALS['reads/s']:.3f})"
    )
    print(
        f"   CPU (cores of 2): server {cpu['server']:.2f}, PostgreSQL backends "
        f"{cpu['postgresql']:.2f}, Locust {cpu['locust']:.2f}, whole machine {cpu['machine']:.2f}"
        f" (others {cpu['machine'] - cpu['server'] - cpu['postgresql'] - cpu['locust']:.2f})"
    )
    done = sum(r["count"] for r in result["rows"] if r["name"] != "Aggregated")
    per = 1000 * result["seconds"] / max(1, done)
    print(
        f"   CPU per request: server {cpu['server'] * per:.1f} ms, PostgreSQL "
        f"{cpu['postgresql'] * per:.1f} ms, Locust {cpu['locust'] * per:.1f} ms ({done} requests)"
    )
    print(
        f"   {'request':<22} {'count':>7} {'fail':>5} {'per s':>7} {'p50':>6} {'p95':>6} {'p99':>6}"
    )
    for r in result["rows"]:
        print(
            f"   {r['name']:<22} {r['count']:>7} {r['failures']:>5} {r['per_s']:>7.1f} "
            f"{r['p50']:>6} {r['p95']:>6} {r['p99']:>6}"
        )
    for failure in result["failures"]:
        print(f"   failed: {failure}")
    if "samples" in result:
        s = result["samples"]
        total = max(1, s["busy_samples"])
        print(f"   where the server's busy threads were ({s['busy_samples']} samples):")
        for what, n in s["leaf"][:10]:
            print(f"     {100 * n / total:5.1f} %  {what}")
        print("   cmcc functions on the stack (inclusive):")
        for what, n in s["inclusive"][:25]:
            print(f"     {100 * n / total:5.1f} %  {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--json", type=Path, help="write every result here too")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; {args.users} Locust users (1 writer : 2 staff readers : 1")
    print(f"liaison reader), no wait between requests; {args.seconds} s per run; NATS {NATS}")
    results = []
    with tempfile.TemporaryDirectory(prefix="cmcc-load-") as tmp:
        runs = [
            Run(b, int(w), args.users, args.seconds)
            for b in args.backends.split(",")
            for w in args.workers.split(",")
        ]
        short = max(10, args.seconds // 3)
        runs += (
            []
            if "postgresql" not in args.backends
            else [  # one request at a time: what a creation and a read cost alone
                Run("postgresql", 1, 1, short, ("StaffWriter",), label="one-writer-alone"),
                Run("postgresql", 1, 1, short, ("StaffReader",), label="one-reader-alone"),
            ]
        )
        if not args.no_profile and "postgresql" in args.backends:
            runs.append(
                Run("postgresql", 1, args.users, args.seconds, profile=True, label="sampled")
            )
        for run in runs:
            result = one_run(run, Path(tmp))
            show(result)
            results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
