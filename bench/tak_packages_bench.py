"""TAK data packages (issue 16): the picture's mission package of the gaza-2025 scenario (made
on each search and download), and a mission package uploaded and downloaded over mutual TLS
through the Marti app, on SQLite and PostgreSQL (a scratch database each).

    PYTHONPATH=src .venv/bin/python bench/tak_packages_bench.py [--sizes 1,10,45] [--runs 5]

Prints figures; asserts nothing."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import ssl
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sqlalchemy import select

from cmcc.access.domain import Principal
from cmcc.access.models import Organization
from cmcc.bootstrap import Platform, bootstrap
from cmcc.cli.common import operator_session
from cmcc.config import Settings
from cmcc.core.releasability import Viewer
from cmcc.cot import devices
from cmcc.initialize import initialize
from cmcc.scenarios.loader import load_scenario
from cmcc.tak import marti, packages, pki
from cmcc.tak.https import serve
from cmcc.tak.package_checks import MANIFEST
from cmcc.tak.tls import server_tls
from scratch import scratch_postgres

PASSPHRASE = b"bench passphrase"


def _platform(url: str | None, home: Path) -> Platform:
    settings = Settings(
        home=home,
        database_url=url,
        secret_key="b" * 40,
        environment="test",
        tak_package_max_bytes=64 << 20,
    )
    platform = bootstrap(settings)
    initialize(platform)
    with operator_session(platform, write=True, actor="system:bench") as s:
        load_scenario(s, "gaza-2025", aoi=settings.aoi_bbox, fence=platform.fence())
        pki.init_authority(s, common_name="Bench CA", lifetime_days=365)
    return platform


def _package(megabytes: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(MANIFEST, b'<MissionPackageManifest version="2"/>')
        z.writestr("map/tiles.bin", os.urandom(megabytes << 20))  # does not compress
    return out.getvalue()


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"


def picture(platform: Platform, runs: int) -> None:
    for code in ("CMCC", "IDN"):
        with platform.unit_of_work(Principal.system_operator()) as s:
            org = s.scalars(select(Organization).where(Organization.code == code)).one()
            viewer = Viewer(org.id, org.code, org.is_member)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            with platform.unit_of_work(Principal.system_operator()) as s:
                made = packages.picture_package(s, viewer, platform.settings)
            times.append(time.perf_counter() - started)
        with zipfile.ZipFile(io.BytesIO(made.content)) as z:
            entries = len(z.namelist()) - 1
        print(
            f"  picture for {code}: {entries} CoT files, {len(made.content) / 1024:.0f} KiB; "
            f"{_ms(times)}"
        )


def transfer(platform: Platform, folder: Path, sizes: list[int], runs: int) -> None:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, "bench-1", "IDN")
        issued = pki.issue_for_device(s, "bench-1")
        ca = pki.authority_pem(s)
    (folder / "c.pem").write_bytes(issued.cert_pem)
    (folder / "c.key").write_bytes(pki.encrypted_key_pem(issued.key, PASSPHRASE))
    ctx = ssl.create_default_context(cadata=ca.decode())
    ctx.load_cert_chain(folder / "c.pem", folder / "c.key", password=PASSPHRASE)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    tls = server_tls(platform, client_certificates=True)
    served = asyncio.run_coroutine_threadsafe(
        serve(marti.create_app(platform), "127.0.0.1", 0, tls), loop
    ).result(60)
    base = f"https://localhost:{served.port}"
    with httpx.Client(verify=ctx, base_url=base, timeout=300) as client:
        for size in sizes:
            ups, downs = [], []
            for _ in range(runs):
                data = _package(size)
                digest = hashlib.sha256(data).hexdigest()
                started = time.perf_counter()
                r = client.post(
                    "/Marti/sync/missionupload",
                    params={"hash": digest, "filename": "m", "creatorUid": "bench-1"},
                    files={"assetfile": ("m.zip", data, "application/zip")},
                )
                ups.append(time.perf_counter() - started)
                assert r.status_code == 200, r.text
                started = time.perf_counter()
                got = client.get("/Marti/sync/content", params={"hash": digest})
                downs.append(time.perf_counter() - started)
                assert got.content == data
            print(f"  {size} MiB: upload {_ms(ups)}; download {_ms(downs)}")
        started = time.perf_counter()
        found = client.get("/Marti/sync/search", params={"keywords": "missionpackage"}).json()
        print(
            f"  search ({found['resultCount']} results, the picture's made): "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
    asyncio.run_coroutine_threadsafe(served.stop(), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,45")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"nproc {os.cpu_count()}, load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for backend in ("sqlite", "postgresql"):
            print(backend)
            if backend == "sqlite":
                platform = _platform(None, folder / "sqlite")
                picture(platform, args.runs)
                transfer(platform, folder, sizes, args.runs)
                platform.dispose()
            else:
                with scratch_postgres() as url:
                    platform = _platform(url, folder / "pg")
                    picture(platform, args.runs)
                    transfer(platform, folder, sizes, args.runs)
                    platform.dispose()
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
