"""CoT servers side by side on loopback: ingest, fan-out, all-to-all, memory.

    .venv/bin/python bench/cot/run.py [--servers taky,fts,cmcc,cmcc-tls] [--quick]
        [--scenarios ingest,fanout,alltoall,handshake] [--fanout 10,100,250]

Each server is installed (peers.py), started pinned to CPU 0 with `taskset`, fresh for every
scenario; this process, the load generator (loadgen.py), re-executes itself under
`taskset -c 1`. A ramp stops at the first step that is not sustainable (repeated once, to rule
out a passing hiccup). Sustainable: every event delivered to every subscriber within the drain
time, no connection closed by the server, at least 97 % of the due events actually sent, and
p99 latency under 250 ms. Prints tables; writes bench/results/cot-<date>.json. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform as host
import ssl
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import peers
from loadgen import LoadGen, StepResult, handshakes

GEN_CPU = "1"
INGEST_RATES = [10, 50, 100, 250, 500, 1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000]
FANOUT_DELIVERIES = [1000, 2500, 5000, 10000, 20000, 40000, 60000, 80000, 100000, 150000, 200000]
PUBLISHERS = 10
ALL_TO_ALL_UNITS = 200
STORE_GRACE = 2.0  # seconds after the drain for the last positions of a step to be stored


def pin_self() -> None:
    """Re-execute under `taskset -c GEN_CPU` (once) so the generator has its own core."""
    if os.environ.get("COTBENCH_PINNED") != GEN_CPU:
        os.environ["COTBENCH_PINNED"] = GEN_CPU
        os.execvp("taskset", ["taskset", "-c", GEN_CPU, sys.executable, *sys.argv])


def fmt_ms(v: float | None) -> str:
    return "-" if v is None else f"{v:,.1f}"


def step_row(label: str, r: StepResult, per_event: int) -> str:
    ok = "ok" if r.sustainable() else "FAIL"
    return (
        f"  {label:>9} {r.achieved_rate:>9,.0f} {r.achieved_rate * per_event:>11,.0f} "
        f"{r.loss:>7.2%} {r.min_sub_ratio:>7.1%} {fmt_ms(r.p50_ms):>9} {fmt_ms(r.p99_ms):>9} "
        f"{fmt_ms(r.max_ms):>9} "
        f"{r.gen_cpu:>5.0%} {_pct(r.server_cpu):>5} {r.load1 or 0:>5.2f} {r.dead:>4}  {ok}"
        + ("" if r.stored is None else f"  stored {r.stored / max(r.sent, 1):.1%}"
           f" lag {'-' if r.store_lag_s is None else f'{r.store_lag_s:.1f} s'}")
    )  # fmt: skip


HEADER = (
    f"  {'target':>9} {'sent/s':>9} {'deliv./s':>11} {'loss':>7} {'worst':>7} {'p50 ms':>9} "
    f"{'p99 ms':>9} {'max ms':>9} {'gen':>5} {'srv':>5} {'load':>5} {'dead':>4}"
)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"


async def measured(
    gen: LoadGen, server: peers.Running, rate: float, seconds: float, drain: float = 3.0
) -> StepResult:
    """One step, with the server's CPU share over it and the machine's load average after it."""
    database = server.extra.get("database_url")
    before = peers.count_tracks(database) if database else 0
    cpu0, t0 = server.cpu(), time.monotonic()
    r = await gen.step(rate, seconds, drain)
    if database:  # every event of the step stored within the drain and STORE_GRACE seconds more
        deadline = time.monotonic() + STORE_GRACE
        while (count := peers.count_tracks(database) - before) < r.sent:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        r.stored = count
        if count >= r.sent:
            r.store_lag_s = time.monotonic() - t0 - seconds
    r.server_cpu = (server.cpu() - cpu0) / (time.monotonic() - t0)
    r.load1 = os.getloadavg()[0]
    return r


def step_json(r: StepResult, per_event: int) -> dict[str, Any]:
    d = asdict(r)
    d.update(
        achieved_rate=r.achieved_rate,
        deliveries_per_s=r.received / r.seconds,
        loss=r.loss,
        sustainable=r.sustainable(),
        subscribers=per_event,
    )
    return d


def client_tls(server: peers.Running) -> ssl.SSLContext | None:
    """The generator's TLS context for a server loaded on its TLS port (its device's
    certificate and key, the CA), None for a plain port."""
    if "tls_cert" not in server.extra:
        return None
    ctx = ssl.create_default_context(cafile=server.extra["tls_ca"])
    ctx.load_cert_chain(
        server.extra["tls_cert"], server.extra["tls_key"], password=server.extra["tls_password"]
    )
    return ctx


async def ramp(
    server: peers.Running, subscribers: int, rates: Sequence[float], seconds: float, drain: float
) -> dict[str, Any]:
    gen = LoadGen("127.0.0.1", server.port, PUBLISHERS, subscribers, tls=client_tls(server))
    await gen.connect()
    await asyncio.sleep(1.0)
    await gen.settle()
    steps: list[dict[str, Any]] = []
    best: StepResult | None = None
    print(HEADER)
    try:
        for rate in rates:
            r = await measured(gen, server, rate, seconds, drain)
            print(step_row(f"{rate:,.0f}", r, subscribers), flush=True)
            steps.append(step_json(r, subscribers))
            if not r.sustainable() and r.dead == 0:
                await gen.settle(limit=15.0)
                r = await measured(gen, server, rate, seconds, drain)
                print(step_row("(again)", r, subscribers), flush=True)
                steps.append(step_json(r, subscribers))
            if not r.sustainable():
                break
            best = r
            await gen.settle()
    finally:
        await gen.close()
    return {
        "subscribers": subscribers,
        "publishers": PUBLISHERS,
        "steps": steps,
        "max_sustainable_rate": best.achieved_rate if best else None,
        "max_sustainable_deliveries_per_s": best.achieved_rate * subscribers if best else None,
        "p50_ms_at_max": best.p50_ms if best else None,
        "p99_ms_at_max": best.p99_ms if best else None,
    }


async def all_to_all(server: peers.Running, seconds: float) -> dict[str, Any]:
    gen = LoadGen(
        "127.0.0.1", server.port, ALL_TO_ALL_UNITS, 0, all_to_all=True, tls=client_tls(server)
    )
    await gen.connect()
    await asyncio.sleep(1.0)
    await gen.settle()
    print(HEADER)
    try:
        r = await measured(gen, server, float(ALL_TO_ALL_UNITS), seconds, drain=5.0)
    finally:
        await gen.close()
    print(step_row("200x1Hz", r, ALL_TO_ALL_UNITS - 1), flush=True)
    return {"units": ALL_TO_ALL_UNITS, "rate_per_unit": 1.0, **step_json(r, ALL_TO_ALL_UNITS - 1)}


async def handshake(server: peers.Running, seconds: float) -> dict[str, Any]:
    """New connections per second until the server's first bytes (cmcc sends them once the
    connection is identified: over TLS, after the handshake and the certificate's lookup)."""
    cpu0, t0 = server.cpu(), time.monotonic()
    r = await handshakes("127.0.0.1", server.port, seconds, client_tls(server))
    r.server_cpu = (server.cpu() - cpu0) / (time.monotonic() - t0)
    r.load1 = os.getloadavg()[0]
    print(
        f"  {r.rate:,.0f} connections/s ({r.connections} in {r.seconds:.1f} s, {r.failed} failed),"
        f" p50 {fmt_ms(r.p50_ms)} ms, p99 {fmt_ms(r.p99_ms)} ms, gen {r.gen_cpu:.0%}, "
        f"srv {_pct(r.server_cpu)}, load {r.load1:.2f}",
        flush=True,
    )
    return {**asdict(r), "rate": r.rate}


def run_scenario(peer: peers.Peer, label: str, body: Any) -> dict[str, Any]:
    print(f"\n[{peer.name}] {label}", flush=True)
    server = peers.start(peer, label)
    if server is None:
        return {"skipped": "CoT port never opened"}
    idle = server.memory()
    print(
        f"  started in {server.started_s:.1f} s, port {server.port}, "
        f"idle RSS {idle['rss_kb'] / 1024:,.0f} MB"
    )
    try:
        result: dict[str, Any] = asyncio.run(body(server))
    except OSError as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"  load generator failed: {result['error']}")
    finally:
        mem = server.memory()
        server.stop()
    result.update(memory_idle_kb=idle, memory_end_kb=mem, startup_s=server.started_s)
    print(
        f"  memory at end: RSS {mem['rss_kb'] / 1024:,.0f} MB, "
        f"peak (VmHWM) {mem['hwm_kb'] / 1024:,.0f} MB "
        f"over {mem['processes']} process(es)"
    )
    return result


def summary(results: dict[str, Any], fanouts: list[int]) -> None:
    print(
        "\nSummary (max sustainable = no loss, p99 < 250 ms; deliveries/s = events/s x subscribers)"
    )
    cols = (
        ["ingest ev/s"]
        + [f"fan-out {n} deliv/s (p99)" for n in fanouts]
        + ["all-to-all p50/p99 loss", "connections/s", "peak MB"]
    )
    print("  " + f"{'server':<8}" + " | ".join(cols))
    for name, res in results.items():
        sc = res.get("scenarios", {})
        cells = []
        ing = sc.get("ingest", {})
        cells.append(_rate(ing.get("max_sustainable_rate")))
        for n in fanouts:
            f = sc.get(f"fanout-{n}", {})
            cells.append(
                f"{_rate(f.get('max_sustainable_deliveries_per_s'))} "
                f"({fmt_ms(f.get('p99_ms_at_max'))})"
            )
        a = sc.get("alltoall", {})
        cells.append(
            f"{fmt_ms(a.get('p50_ms'))}/{fmt_ms(a.get('p99_ms'))} {a['loss']:.1%}"
            if "loss" in a
            else "-"
        )
        h = sc.get("handshake", {})
        cells.append(_rate(h.get("rate")))
        peak = max((s.get("memory_end_kb", {}).get("hwm_kb", 0) for s in sc.values()), default=0)
        cells.append(f"{peak / 1024:,.0f}")
        print("  " + f"{name:<8}" + " | ".join(cells))
    tls_cost(results, fanouts)


def tls_cost(results: dict[str, Any], fanouts: list[int]) -> None:
    """The cost of TLS: what cmcc sustained on its TLS port against its plain port."""
    plain = results.get("cmcc", {}).get("scenarios", {})
    tls = results.get("cmcc-tls", {}).get("scenarios", {})
    if not plain or not tls:
        return
    keys = [("ingest", "max_sustainable_rate")] + [
        (f"fanout-{n}", "max_sustainable_deliveries_per_s") for n in fanouts
    ]
    keys += [("handshake", "rate")]
    print("\nThe cost of TLS (cmcc-tls / cmcc, same run):")
    for scenario, key in keys:
        a, b = plain.get(scenario, {}).get(key), tls.get(scenario, {}).get(key)
        if a and b:
            print(f"  {scenario:<12} {b:>10,.0f} / {a:>10,.0f} = {b / a:.2f}")


def _rate(v: float | None) -> str:
    return "none" if v is None else f"{v:,.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--servers",
        default="taky,fts,cmcc",
        help="comma-separated: taky, fts, cmcc, cmcc-tls (its TLS port), cmcc+1w, cmcc+2w "
        "(with NATS and workers), null",
    )
    ap.add_argument("--scenarios", default="ingest,fanout,alltoall")
    ap.add_argument(
        "--fanout", default="10,100,250", help="subscriber counts for the fan-out scenario"
    )
    ap.add_argument(
        "--quick", action="store_true", help="2 s steps and an 8 s all-to-all (default 5 s / 20 s)"
    )
    ap.add_argument("--step-seconds", type=float, default=None)
    ap.add_argument("--all-seconds", type=float, default=None)
    ap.add_argument("--drain", type=float, default=3.0, help="seconds to wait for late events")
    args = ap.parse_args()
    pin_self()
    step_s = args.step_seconds or (2.0 if args.quick else 5.0)
    all_s = args.all_seconds or (8.0 if args.quick else 20.0)
    scenarios = args.scenarios.split(",")
    fanouts = [int(n) for n in args.fanout.split(",")] if "fanout" in scenarios else []

    started = dt.datetime.now(dt.UTC)
    load_start = os.getloadavg()
    print(
        f"CoT benchmark {started:%Y-%m-%d %H:%M} UTC on {host.node()}: "
        f"{os.cpu_count()} CPUs, {host.platform()}"
    )
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    print(
        f"generator: Python {host.python_version()} asyncio, pinned to CPU {GEN_CPU}; "
        f"servers on CPU {peers.SERVER_CPU}"
    )
    print(f"steps {step_s:g} s, all-to-all {all_s:g} s, {PUBLISHERS} publishers")

    results: dict[str, Any] = {}
    for name in args.servers.split(","):
        try:
            peer = peers.PEERS[name]()
        except Exception as exc:
            print(f"\n[{name}] not available: {exc}")
            results[name] = {"skipped": str(exc)}
            continue
        print(f"\n== {name}: {peer.version} {peer.note}")
        res: dict[str, Any] = {"version": peer.version, "note": peer.note, "scenarios": {}}
        results[name] = res
        if "ingest" in scenarios:
            out = run_scenario(
                peer, "ingest", lambda srv: ramp(srv, 1, INGEST_RATES, step_s, args.drain)
            )
            res["scenarios"]["ingest"] = out
            if "skipped" in out:
                continue  # the port never opened: do not try the other scenarios
        for n in fanouts:
            rates = [d / n for d in FANOUT_DELIVERIES]
            res["scenarios"][f"fanout-{n}"] = run_scenario(
                peer,
                f"fanout-{n}",
                lambda srv, n=n, rates=rates: ramp(srv, n, rates, step_s, args.drain),
            )
        if "alltoall" in scenarios:
            res["scenarios"]["alltoall"] = run_scenario(
                peer, "alltoall", lambda srv: all_to_all(srv, all_s)
            )
        if "handshake" in scenarios and name.startswith("cmcc"):  # the others send nothing first
            res["scenarios"]["handshake"] = run_scenario(
                peer, "handshake", lambda srv: handshake(srv, step_s * 2)
            )

    load_end = os.getloadavg()
    print(f"\nload average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    summary(results, fanouts)
    path = peers.RESULTS / f"cot-{started:%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "started": started.isoformat(),
        "duration_s": (dt.datetime.now(dt.UTC) - started).total_seconds(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": host.platform(),
            "load_average_start": load_start,
            "load_average_end": load_end,
            "generator_python": host.python_version(),
        },
        "conditions": {
            "server_cpu": peers.SERVER_CPU,
            "generator_cpu": GEN_CPU,
            "step_seconds": step_s,
            "all_to_all_seconds": all_s,
            "publishers": PUBLISHERS,
            "ingest_rates": INGEST_RATES,
            "fanout_deliveries": FANOUT_DELIVERIES,
            "drain_seconds": args.drain,
            "sustainable": "all delivered within the drain, no connection dropped, "
            ">=97% of the events due by the token bucket sent, p99 < 250 ms",
        },
        "servers": results,
    }
    path.write_text(json.dumps(doc, indent=2))
    print(f"\nwrote {path}  ({time.strftime('%H:%M:%S')})")


if __name__ == "__main__":
    main()
