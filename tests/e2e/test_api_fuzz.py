"""schemathesis over the whole API: `cmcc serve` with the gaza-2025 scenario, fuzzed through
`/openapi.json` as three callers (an administrator of the CMCC, a liaison officer and a donor of
a nation), one test per caller and backend. The run fails on any 5xx answer, on any answer
(error documents included) that does not match what the OpenAPI description says of it, on a
record that answers after its DELETE or is missing right after its create, and on any record
the caller may not see (tests/e2e/fuzz_release.py).

The run is bounded (`BOUNDS`: cases per operation in each phase, scenarios of the stateful
phase; a fixed seed; see docs/development/testing.md for the time it takes): the examples phase,
the fuzzing phase (positive and negative data), and the stateful phase, which follows the
OpenAPI links from each create to the operations on the record it made. `CMCC_FUZZ_EXAMPLES`
(cases per operation for every phase, and ten times as many stateful scenarios) and
`CMCC_FUZZ_SEED` make a longer hunt.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from tests.factories import caller
from tests.serving import served

pytestmark = pytest.mark.e2e

SEED = os.environ.get("CMCC_FUZZ_SEED", "20261212")
HUNT = os.environ.get("CMCC_FUZZ_EXAMPLES")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "use_after_free",
        "ensure_resource_availability",
        "released_to_caller",
    ]
)
RELEASE_CHECK = Path(__file__).with_name("fuzz_release.py")
# The live feed of alerts answers with an endless event stream: schemathesis reads each case for
# 10 s (most of the old run's time). Its own tests hold it (test_picture.py, test_scaleout.py).
LEFT_OUT = ["--exclude-path", "/api/v1/alerts/stream"]


@dataclass(frozen=True)
class Fuzzed:
    """A caller, and how far the bounded run goes with it: fuzzing cases per operation,
    stateful scenarios, its phases and methods (a longer hunt takes every phase and method)."""

    org: str
    role: Role
    fuzzing: int
    scenarios: int
    phases: str = "examples,fuzzing,stateful"
    methods: tuple[str, ...] = ()


# The administrator may do everything, so its cases reach the services. The liaison officer's
# writes are mostly refused (403), and what it reads is what release decides; the donor may
# write nothing (test_write_permissions holds its 403s), so it only reads.
CALLERS = {
    "admin": Fuzzed("CMCC", Role.ADMIN, 8, 60),
    "liaison_officer": Fuzzed("GBR", Role.LIAISON_OFFICER, 4, 30, "fuzzing,stateful"),
    "donor": Fuzzed("GBR", Role.DONOR, 4, 30, "fuzzing,stateful", ("GET",)),
}


def _config(fuzzing: int, scenarios: int) -> str:
    return (
        f"[phases.fuzzing.generation]\nmax-examples = {fuzzing}\n"
        f"[phases.stateful]\nmax-steps = 8\n"
        f"[phases.stateful.generation]\nmax-examples = {scenarios}\n"
    )


@pytest.mark.parametrize("who", CALLERS)
def test_the_api_survives_schemathesis(gaza: Platform, tmp_path: Path, who: str) -> None:
    fuzzed = CALLERS[who]
    org, phases, methods = fuzzed.org, fuzzed.phases, fuzzed.methods
    token = caller(gaza, org, fuzzed.role).token
    config = tmp_path / "schemathesis.toml"
    if HUNT:
        phases, methods = "examples,fuzzing,stateful", ()
        config.write_text(_config(int(HUNT), 10 * int(HUNT)))
    else:
        config.write_text(_config(fuzzed.fuzzing, fuzzed.scenarios))
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(RELEASE_CHECK),
        "CMCC_FUZZ_ORG": org,
        "CMCC_FUZZ_MEMBER": "1",  # CMCC and GBR are both members of the mission
    }
    with served(gaza, tmp_path) as (base, _log):
        # The description is made on the first request; made here, on a busy machine it does
        # not run into schemathesis' 10 s limit on loading it.
        httpx.get(f"{base}/openapi.json", timeout=120).raise_for_status()
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(config),
            "run",
            f"{base}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--phases",
            phases,
            *[arg for method in methods for arg in ("--include-method", method)],
            *LEFT_OUT,
            "--seed",
            SEED,
            "--workers",
            "1",
            "--no-shrink",
            "--request-timeout",
            "30",
            "--warnings",
            "off",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path / "report"),
        ]
        run = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=280, check=False
        )
    # The summary and every failure (with a curl line to reproduce it) on a failing run.
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-2_000:]
