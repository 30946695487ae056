"""The tipster leaves no trace: `cmcc serve` with its logs captured, tips sent over HTTP with a
distinctive forwarded address and user agent, then the raw database (SQLite file and WAL, or a
`pg_dump --data-only` of the PostgreSQL database), the logs and the exports are searched for
the claim codes, the loopback address, the forwarded address and the user agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from cmcc.tips.challenge import solve
from tests.factories import caller
from tests.serving import served as serve
from tests.traces import database_bytes

pytestmark = pytest.mark.e2e

FORWARDED = "198.51.100.203"
AGENT = "TipsterPhone/7.3 (distinctive-agent-5c1e)"
LOOPBACK = "127.0.0.1"


@pytest.fixture
def served(platform: Platform, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`cmcc serve` on `localhost` (so the bind address is not 127.0.0.1 in its own banner),
    stdout and stderr in one file."""
    with serve(platform, tmp_path) as running:
        yield running


def _tipster() -> httpx.Client:
    return httpx.Client(
        headers={"User-Agent": AGENT, "X-Forwarded-For": FORWARDED, "X-Real-IP": FORWARDED},
        timeout=30,
    )


def _proof(client: httpx.Client, base: str) -> dict[str, str]:
    ch = client.get(f"{base}/public/tips/challenge").json()
    return {"challenge": ch["challenge"], "counter": solve(ch["challenge"], ch["bits"])}


def test_no_trace_of_the_tipster(
    served: tuple[str, Path], platform: Platform, backend: str
) -> None:
    base, log = served
    codes = []
    with _tipster() as client:
        page = client.get(f"{base}/public/tips")
        assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
        for lon in ("34.45", "34.4502"):
            r = client.post(
                f"{base}/public/tips",
                data={"text": "remains seen", "lon": lon, "lat": "31.517", **_proof(client, base)},
                files={"photo": ("p.png", _png(), "image/png")},
            )
            assert r.status_code == 201, r.text
            codes.append(r.json()["claim_code"])
        r = client.post(
            f"{base}/public/tips",
            json={"text": "by JSON", "place": "Jabalia market"} | _proof(client, base),
        )
        codes.append(r.json()["claim_code"])
        status = client.post(
            f"{base}/public/tips/status", json={"code": codes[0]} | _proof(client, base)
        )
        assert status.json()["status"] == "received"
        bad = client.post(
            f"{base}/public/tips",
            json={"text": "x", "place": "y"} | {"challenge": "forged.1.1.0", "counter": "0"},
        )
        assert bad.status_code == 422

    needles = [FORWARDED, AGENT, "distinctive-agent", LOOPBACK]
    needles += [c for code in codes for c in (code, code.replace(" ", ""))]

    logged = log.read_bytes()  # before any officer request, which is logged as usual
    assert b"Application startup complete" in logged
    assert b"/public/" not in logged
    stored = database_bytes(platform)
    assert b"remains seen" in stored  # the search reads the stored text
    for needle in needles:
        assert needle.encode() not in logged, f"{needle!r} is in the server's log"
        assert needle.encode() not in stored, f"{needle!r} is in the {backend} database"

    officer = caller(platform, "CMCC", Role.TIP_OFFICER).headers
    exports = [
        "/api/v1/tips?limit=500",
        "/api/v1/incidents/export?format=geojson",
        "/api/v1/incidents/export?format=csv",
        "/api/v1/audit?limit=500",
    ]
    auditor = caller(platform, "CMCC", Role.AUDITOR).headers
    with httpx.Client(timeout=30) as client:
        collections = client.get(f"{base}/ogc/collections", headers=officer).json()["collections"]
        exports += [f"/ogc/collections/{c['id']}/items?limit=1000" for c in collections]
        tips = client.get(f"{base}/api/v1/tips", headers=officer).json()
        assert tips["count"] == 3
        for path in exports:
            headers = auditor if path.startswith("/api/v1/audit") else officer
            r = client.get(base + path, headers=headers)
            assert r.status_code == 200, (path, r.text)
            for needle in needles:
                assert needle not in r.text, f"{needle!r} is in {path}"


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(out, format="PNG")
    return out.getvalue()
