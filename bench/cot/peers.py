"""The CoT servers under test: install (own virtualenv per peer), start pinned, wait, measure, stop.

taky and FreeTAKServer are installed from PyPI into bench/results/venvs/<name> (git-ignored);
nothing from them is ever committed. Every server is started with `taskset -c SERVER_CPU` in a
new session (so the whole process tree can be stopped), with its output in bench/results/logs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
VENVS = RESULTS / "venvs"
LOGS = RESULTS / "logs"
SERVER_CPU = "0"
FTS_HOME = Path("/opt/fts")  # hard-coded in FreeTAKServer 2.2.1 (MainConfig.PERSISTENCE_PATH)

PEER_PACKAGES = {
    "taky": ["taky==0.10"],
    "fts": ["FreeTAKServer==2.2.1", "opentelemetry-api<1.24", "opentelemetry-sdk<1.24"],
}
PEER_DIST = {"taky": "taky", "fts": "FreeTAKServer", "cmcc": "cmcc"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_venv(name: str) -> Path:
    """The peer's virtualenv, created and installed from PyPI when missing."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    probe = subprocess.run(
        [
            str(python),
            "-c",
            f"import importlib.metadata as m; print(m.version({PEER_DIST[name]!r}))",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        print(f"installing {name} into {venv} ...", flush=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", *PEER_PACKAGES[name]], check=True
        )
    return venv


def version(python: Path, dist: str) -> str:
    out = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, sys; "
            f"print(m.version({dist!r}), sys.version.split()[0])",
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return "unknown"
    package, py = out.stdout.split()
    return f"{dist} {package} (Python {py})"


@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int  # the CoT TCP port to load
    extra: dict[str, str] = field(default_factory=dict)  # database_url: where tracks are counted


@dataclass
class Peer:
    name: str
    python: Path
    version: str
    prepare: Callable[[Path], Launch]
    note: str = ""


def taky_peer() -> Peer:
    venv = ensure_venv("taky")

    def prepare(work: Path) -> Launch:
        port = free_port()
        (work / "taky.conf").write_text(
            f"[taky]\nbind_ip = 127.0.0.1\nroot_dir = {work}\n\n"
            f"[cot_server]\nport = {port}\n\n[dp_server]\nupload_path = {work / 'dp-user'}\n"
        )
        return Launch([str(venv / "bin" / "taky"), "-c", "taky.conf"], dict(os.environ), work, port)

    return Peer("taky", venv / "bin" / "python", version(venv / "bin" / "python", "taky"), prepare)


FTS_PORT_ENV = [
    "FTS_SSLCOT_PORT",
    "FTS_API_PORT",
    "FTS_FED_PORT",
    "FTS_ROUTING_PROXY_SUBSCRIBE_PORT",
    "FTS_ROUTING_PROXY_SERVER_PORT",
    "FTS_ROUTING_PROXY_PUBLISHER_PORT",
    "FTS_INTEGRATION_MANAGER_PULLER_PORT",
    "FTS_INTEGRATION_MANAGER_PUBLISHER_PORT",
]


def fts_peer() -> Peer:
    venv = ensure_venv("fts")

    def prepare(work: Path) -> Launch:
        # A fresh persistence folder each start (its SQLite database and logs live there).
        if FTS_HOME.exists():
            shutil.rmtree(FTS_HOME)
        FTS_HOME.mkdir(parents=True)
        port = free_port()
        env = dict(
            os.environ, FTS_FIRST_START="false", FTS_COT_PORT=str(port), FTS_API_ADDRESS="127.0.0.1"
        )
        # Every other port FTS opens is moved off its default, so nothing on the machine clashes.
        env.update({key: str(free_port()) for key in FTS_PORT_ENV})
        argv = [
            str(venv / "bin" / "python"),
            "-m",
            "FreeTAKServer.controllers.services.FTS",
            "-AutoStart",
            "True",
        ]
        argv += ["-DataPackagePort", str(free_port()), "-SSLDataPackagePort", str(free_port())]
        argv += ["-RestAPIPort", env["FTS_API_PORT"]]
        return Launch(argv, env, work, port)

    return Peer(
        "fts",
        venv / "bin" / "python",
        version(venv / "bin" / "python", "FreeTAKServer"),
        prepare,
        note="binds 0.0.0.0 on several ports; state in /opt/fts (wiped at each start)",
    )


def cmcc_peer() -> Peer:
    python = ROOT / ".venv" / "bin" / "python"

    def prepare(work: Path) -> Launch:
        port = free_port()
        env = dict(
            os.environ,
            PYTHONPATH=str(ROOT / "src"),  # this checkout's code (the venv's may be another's)
            CMCC_HOME=str(work),
            CMCC_COT_TCP_PORT=str(port),
            CMCC_COT_UDP_PORT=str(port),
            CMCC_COT_TLS_PORT="0",
            CMCC_COT_RELAY="open",
        )
        env.pop("CMCC_DATABASE_URL", None)  # its own SQLite file in CMCC_HOME
        argv = [str(python), "-m", "cmcc", "serve", "--port", str(free_port())]
        return Launch(argv, env, work, port)

    return Peer("cmcc", python, version(python, "cmcc"), prepare)


def cmcc_tls_peer() -> Peer:
    """cmcc as `cmcc` above, loaded on its TLS port (mutual TLS): a CA made with `cmcc tak ca
    init`, one registered device whose certificate (`cmcc tak cert issue`) every connection of
    the generator presents; the plain ports stay open (CMCC_COT_PLAIN=on)."""
    python = ROOT / ".venv" / "bin" / "python"

    def prepare(work: Path) -> Launch:
        port, plain = free_port(), free_port()
        env = dict(
            os.environ,
            PYTHONPATH=str(ROOT / "src"),
            CMCC_HOME=str(work),
            CMCC_COT_TCP_PORT=str(plain),
            CMCC_COT_UDP_PORT=str(plain),
            CMCC_COT_TLS_PORT=str(port),
            CMCC_COT_PLAIN="on",
            CMCC_COT_RELAY="open",
        )
        env.pop("CMCC_DATABASE_URL", None)
        cmcc = f"{python} -m cmcc"
        certs = work / "device"
        phrase = work / "key-passphrase"
        phrase.write_text("bench key passphrase\n")
        subprocess.run(
            f"{cmcc} init && {cmcc} tak ca init && "
            f"{cmcc} cot device add {BENCH_DEVICE} --org CMCC && "
            f"{cmcc} tak cert issue {BENCH_DEVICE} --out {certs} --passphrase-file {phrase} && "
            f"{cmcc} tak ca show --pem > {work / 'ca.pem'}",
            shell=True,
            env=env,
            check=True,
            capture_output=True,
        )
        argv = [str(python), "-m", "cmcc", "serve", "--port", str(free_port())]
        extra = {
            "tls_cert": str(certs / f"{BENCH_DEVICE}.pem"),
            "tls_key": str(certs / f"{BENCH_DEVICE}.key"),
            "tls_password": "bench key passphrase",
            "tls_ca": str(work / "ca.pem"),
        }
        return Launch(argv, env, work, port, extra)

    return Peer("cmcc-tls", python, version(python, "cmcc"), prepare, note="TLS port, mutual TLS")


BENCH_DEVICE = "bench-device"


PG_ADMIN = os.environ.get("COTBENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
NATS_URL = os.environ.get("COTBENCH_NATS", "nats://127.0.0.1:4222")


def cmcc_scaleout_peer(workers: int) -> Callable[[], Peer]:
    """cmcc with NATS (issue 15): `cmcc serve` (the gateway, pinned like every server) and
    `workers` `cmcc worker` processes (free to run on both cores), on a fresh PostgreSQL
    database with the gaza-2025 scenario (its zones geofence every position), the shared NATS
    in a namespace of its own. Run from the checkout's own source (PYTHONPATH=src)."""

    def make() -> Peer:
        import psycopg

        python = ROOT / ".venv" / "bin" / "python"

        def prepare(work: Path) -> Launch:
            port = free_port()
            tag = os.urandom(4).hex()
            database = f"cotbench_{tag}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{database}"')
            url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            env = dict(
                os.environ,
                PYTHONPATH=str(ROOT / "src"),
                CMCC_HOME=str(work),
                CMCC_DATABASE_URL=f"{url}/{database}",
                CMCC_NATS_URL=NATS_URL,
                CMCC_NATS_NAMESPACE=f"bench{tag}",
                CMCC_COT_TCP_PORT=str(port),
                CMCC_COT_TAK_PORT="0",
                CMCC_COT_UDP_PORT="0",
                CMCC_COT_RELAY="open",
            )
            cmcc = f"{python} -m cmcc"
            subprocess.run(f"{cmcc} init && {cmcc} scenario load gaza-2025", shell=True,
                           env=env, check=True, capture_output=True)  # fmt: skip
            spawn = "".join(f"taskset -c 0-1 {cmcc} worker & " for _ in range(workers))
            argv = ["sh", "-c", f"{spawn}exec {cmcc} serve --port {free_port()}"]
            extra = {"database_url": f"{url}/{database}", "database": database}
            return Launch(argv, env, work, port, extra)

        return Peer(
            f"cmcc+{workers}w",
            python,
            version(python, "cmcc"),
            prepare,
            note=f"gateway on CPU {SERVER_CPU}, {workers} worker(s) on any CPU, PostgreSQL, NATS",
        )

    return make


def count_tracks(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", ""), connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM tracks").fetchone()
    return int(row[0]) if row else 0


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# A reference, not a CoT server: forwards every complete event (split after </event>) to every
# other connection as raw bytes, no parsing, no queue limits. What it reaches is the ceiling the
# load generator and the machine allow; a server near it is limited by the generator, not itself.
NULL_RELAY = """
import asyncio, sys
clients = set()
class Relay(asyncio.Protocol):
    def connection_made(self, t):
        self.t, self.buf = t, b""
        clients.add(self)
    def connection_lost(self, exc):
        clients.discard(self)
    def data_received(self, data):
        buf = self.buf + data
        end = buf.rfind(b"</event>")
        if end < 0:
            self.buf = buf
            return
        end += 8
        out, self.buf = buf[:end], buf[end:]
        for c in clients:
            if c is not self:
                c.t.write(out)
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Relay, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    await server.serve_forever()
asyncio.run(main())
"""


def null_peer() -> Peer:
    def prepare(work: Path) -> Launch:
        port = free_port()
        return Launch(["python3", "-c", NULL_RELAY, str(port)], dict(os.environ), work, port)

    py = Path(shutil.which("python3") or "python3")
    return Peer("null", py, f"null relay (Python {version_of(py)})", prepare, note="reference")


def version_of(python: Path) -> str:
    out = subprocess.run([str(python), "-V"], capture_output=True, text=True)
    return out.stdout.split()[-1] if out.returncode == 0 else "unknown"


PEERS: dict[str, Callable[[], Peer]] = {
    "taky": taky_peer,
    "fts": fts_peer,
    "cmcc": cmcc_peer,
    "cmcc-tls": cmcc_tls_peer,
    "cmcc+1w": cmcc_scaleout_peer(1),
    "cmcc+2w": cmcc_scaleout_peer(2),
    "null": null_peer,
}


def proc_tree(pid: int) -> list[int]:
    """pid and all its descendants (threads' children included)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in task.read_text().split())
    return out


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM summed over the process tree, in kB, and the process count."""
    total = {"rss_kb": 0, "hwm_kb": 0, "processes": 0}
    for p in proc_tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        total["processes"] += 1
        for line in lines:
            if line.startswith("VmRSS:"):
                total["rss_kb"] += int(line.split()[1])
            elif line.startswith("VmHWM:"):
                total["hwm_kb"] += int(line.split()[1])
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree, in seconds (live processes only)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in proc_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / tick


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Running:
    peer: Peer
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    work: Path
    started_s: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    def memory(self) -> dict[str, int]:
        return memory_kb(self.proc.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the server's process group, SIGKILL after `grace` seconds."""
        pgid = self.proc.pid  # start_new_session: the group is the server's own
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # the leader is gone; give the rest of its group a moment, then make sure
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and _group_alive(pgid):
                time.sleep(0.1)
            if not _group_alive(pgid):
                break
        shutil.rmtree(self.work, ignore_errors=True)
        if "database" in self.extra:
            drop_database(self.extra["database"])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def start(peer: Peer, label: str, timeout: float = 90.0) -> Running | None:
    """Start the peer pinned to SERVER_CPU and wait for its CoT port; None when it never opens."""
    LOGS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"cotbench-{peer.name}-"))
    launch = peer.prepare(work)
    log = LOGS / f"{peer.name}-{label}.log"
    t0 = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, *launch.argv],
            cwd=launch.cwd,
            env=launch.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    running = Running(peer, proc, launch.port, log, work, extra=launch.extra)
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            print(
                f"  {peer.name}: exited with {proc.returncode} before its port opened (see {log})"
            )
            running.stop()
            return None
        if port_open(launch.port):
            running.started_s = time.monotonic() - t0
            return running
        time.sleep(0.25)
    print(
        f"  {peer.name}: CoT port {launch.port} never opened in {timeout:.0f} s "
        f"(see {log}); skipped"
    )
    running.stop()
    return None
