"""The real server over HTTP: `cmcc demo --no-serve` then `cmcc serve`, on both backends."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cmcc.bootstrap import Platform
from tests.serving import free_port, until_healthy

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(platform: Platform, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    env = {
        **os.environ,
        "CMCC_HOME": str(tmp_path),
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": platform.settings.secret_key.get_secret_value(),
        "COLUMNS": "400",
        "CMCC_COT_TCP_PORT": "0",
        "CMCC_COT_TAK_PORT": "0",
        "CMCC_COT_UDP_PORT": "0",
    }
    demo = subprocess.run(
        [sys.executable, "-m", "cmcc", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    match = re.search(r"^staff +(\S+) +(cmcc_\S+)$", demo.stdout, re.MULTILINE)
    assert match, demo.stdout
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmcc", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        until_healthy(proc, base)
        yield base, match.group(2), match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_server_answers_over_http(server: tuple[str, str, str], backend: str) -> None:
    base, token, _password = server
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/api/v1/health").json()["database"] == backend
    gaps = httpx.get(f"{base}/api/v1/forces/gaps", headers=headers).json()
    assert gaps["rows"]
    proj = httpx.get(f"{base}/api/v1/forces/projection", headers=headers).json()
    assert {t["name"] for t in proj["committed_targets"]} >= {"early 2026", "end 2026"}
    usa = httpx.get(f"{base}/api/v1/pledges", params={"state": "USA"}, headers=headers).json()
    assert usa["data"][0]["strength"] == 200
    assert httpx.get(f"{base}/api/v1/pledges", params={"state": "USA"}).json()["count"] == 0
    assert httpx.get(f"{base}/docs").status_code == 404  # no CDN-loaded pages


def test_demo_password_signs_in_to_the_web_interface(server: tuple[str, str, str]) -> None:
    base, _token, password = server
    with httpx.Client(base_url=base) as web:
        form = web.get("/login")
        nonce = re.search(r'name="login_nonce" value="([^"]+)"', form.text)
        assert nonce, form.text
        fields = {"username": "staff", "login_nonce": nonce.group(1), "next": "/forces"}
        assert web.post("/login", data={**fields, "password": password + "x"}).status_code == 401
        nonce = re.search(r'name="login_nonce" value="([^"]+)"', web.get("/login").text)
        assert nonce
        fields["login_nonce"] = nonce.group(1)
        signed_in = web.post("/login", data={**fields, "password": password})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/forces"
        assert web.get("/api/v1/auth/me").json()["role"] == "staff_officer"
