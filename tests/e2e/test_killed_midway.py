"""`kill -9` halfway (issue 17), on both backends, with real processes: the incident import
(`cmcc import incidents`, and `cmcc serve` answering `POST /api/v1/incidents/import`) killed
while a batch is being written, and the funding export (`cmcc export funding --output`, and
`cmcc serve` streaming `GET /api/v1/funding/export`) killed while it writes.

Afterwards: no part of a batch is stored (the incidents are exactly the whole batches the
audit log names), the audit chain verifies, the same import run again completes with no
duplicate; no export file that looks complete (an older one stays whole), and an HTTP client
is never handed half an export as a whole one."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from cmcc.access.domain import Principal, Role
from cmcc.api.app import create_app
from cmcc.audit.models import AuditEntry
from cmcc.audit.service import verify
from cmcc.bootstrap import Platform
from cmcc.funding.models import Flow
from cmcc.incidents.importer import ImportOptions
from cmcc.incidents.models import Incident
from tests.factories import caller, org
from tests.probes import write_probe
from tests.serving import Running, forked, platform_env, run_cmcc, serving

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
ROWS, BATCH = 9_000, 1_000  # the HTTP import: batches of 5,000 (its default)
FLOWS = 5_000
SECONDS = 60  # the most any step waits
HTTP_BATCH = next(f.default for f in dataclasses.fields(ImportOptions) if f.name == "batch_size")


def _csv(path: Path) -> Path:
    lines = ["external_ref,type,occurred_at,lat,lon,severity,narrative"]
    lines += [
        f"K-{n},ceasefire_violation_fire,2026-03-01T10:00:00Z,{31.3 + n % 1000 / 10_000},"
        f"34.35,3,row {n}"
        for n in range(ROWS)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import_batches(platform: Platform) -> list[tuple[int, int, int]]:
    """(first id, last id, rows) of each batch the audit log holds."""
    with platform.unit_of_work(Principal.system_operator()) as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "import").order_by(AuditEntry.seq)
        ).all()
    out = []
    for entry in entries:
        first, last = entry.record_id.split("-")
        out.append((int(first), int(last), int(json.loads(entry.changes)["rows"])))
    return out


def _kill_mid_batch(proc: Running, platform: Platform) -> None:
    """SIGKILL `proc` while it writes a batch, once at least one batch is stored."""
    deadline = time.monotonic() + SECONDS
    with write_probe(platform) as writing:
        while not (_import_batches(platform) and writing()):
            assert proc.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "no second batch was written"
            time.sleep(0.002)
        proc.kill()
    proc.wait(10)


def _whole_batches_only(platform: Platform, batch: int) -> int:
    """No partial batch: the stored incidents are exactly the batches the audit log names,
    each whole, and the first rows of the file in order. Their number."""
    batches = _import_batches(platform)
    with platform.unit_of_work(Principal.system_operator()) as s:
        for first, last, rows in batches:
            between = Incident.id.between(first, last)
            assert rows == batch
            assert s.scalar(select(func.count()).where(between)) == rows
        refs = set(s.scalars(select(Incident.external_ref)))
    assert 0 < len(batches) * batch < ROWS  # killed after a batch, before the end
    stored = len(batches) * batch
    assert refs == {f"K-{n}" for n in range(stored)}
    return stored


def _audit_verifies(platform: Platform) -> None:
    with platform.unit_of_work(Principal.system_operator()) as s:
        assert verify(s).ok


def _stored_once_each(platform: Platform) -> None:
    with platform.unit_of_work(Principal.system_operator()) as s:
        total = s.scalar(select(func.count(Incident.id)))
        refs = s.scalar(select(func.count(func.distinct(Incident.external_ref))))
    assert total == refs == ROWS


def test_import_killed_mid_batch_resumes(platform: Platform, tmp_path: Path) -> None:
    source = _csv(tmp_path / "incidents.csv")
    env = platform_env(platform, tmp_path)
    command = ["import", "incidents", str(source), "--batch-size", str(BATCH)]
    _kill_mid_batch(forked(command, env, tmp_path / "import.log"), platform)
    stored = _whole_batches_only(platform, BATCH)
    _audit_verifies(platform)
    again = run_cmcc(command, env, tmp_path, SECONDS)
    assert again.returncode == 0, again.stderr
    read_stored_skipped_bad = r"\D+".join(f"{n:,}" for n in (ROWS, ROWS - stored, stored, 0))
    assert re.search(read_stored_skipped_bad, again.stdout), again.stdout
    _stored_once_each(platform)
    _audit_verifies(platform)


def test_server_killed_mid_import_resumes(platform: Platform, tmp_path: Path) -> None:
    officer = caller(platform, "GBR", Role.LIAISON_OFFICER).headers
    body = _csv(tmp_path / "incidents.csv").read_bytes()
    big = {"CMCC_MAX_BODY_BYTES": str(len(body) + 1024)}
    headers = {**officer, "Content-Type": "text/csv"}
    answers: list[Any] = []

    def post(url: str) -> None:
        try:
            answers.append(httpx.post(url, content=body, headers=headers, timeout=SECONDS))
        except httpx.HTTPError as exc:
            answers.append(exc)

    with serving(platform, tmp_path, extra_env=big) as (url, _, server):
        # the HTTP import takes the default batch size
        sending = threading.Thread(target=post, args=(url + "/api/v1/incidents/import",))
        sending.start()
        _kill_mid_batch(server, platform)
        sending.join(SECONDS)
    assert [type(a) for a in answers] == [httpx.RemoteProtocolError]  # no answer at all
    stored = _whole_batches_only(platform, HTTP_BATCH)
    _audit_verifies(platform)
    with serving(platform, tmp_path, extra_env=big) as (url, _, _server):
        again = httpx.post(url + "/api/v1/incidents/import", content=body, headers=headers,
                           timeout=SECONDS)  # fmt: skip
    assert again.status_code == 200, again.text
    report = again.json()
    assert (report["complete"], report["skipped"], report["stored"]) == (
        True,
        stored,
        ROWS - stored,
    )
    _stored_once_each(platform)
    _audit_verifies(platform)


def _funding_flows(platform: Platform, count: int) -> None:
    """A plan and one pledge through the API, then `count` copies of the pledge written
    straight into the table (each its own lineage): a large export in a second."""
    org(platform, "GBR")
    officer = caller(platform, "CMCC", Role.FUNDING_OFFICER).headers
    with TestClient(create_app(platform)) as api:
        plan = api.post("/api/v1/plans", headers=officer, json={
            "code": "PLAN", "title": "Plan", "start_date": "2026-01-01",
            "end_date": "2030-12-31", "budget_usd": "67000000000.00",
            "iati_identifier": "XM-CMCC-PLAN",
        })  # fmt: skip
        assert plan.status_code == 201, plan.text
        pledge = api.post("/api/v1/flows", headers=officer, json={
            "status": "pledge", "donor": "GBR", "amount": "1000000.00", "currency": "USD",
            "decision_date": "2026-02-10", "plan_id": plan.json()["id"],
        })  # fmt: skip
        assert pledge.status_code == 201, pledge.text
    names = ", ".join(c.name for c in Flow.__table__.columns if c.name not in ("id", "lineage_id"))
    copies = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
        f"INSERT INTO funding_flows (id, lineage_id, {names}) "
        f"SELECT :first + i, :first + i, {names} FROM n, funding_flows WHERE id = :first"
    )
    with platform.engine.begin() as conn:
        conn.execute(copies, {"count": count, "first": pledge.json()["id"]})


def _freeze_once_partial(proc: Running, folder: Path) -> None:
    """Stop the export (SIGSTOP) at a moment its temporary file has bytes: it is checked while
    the export is frozen, so the export cannot finish between the check and the kill."""
    deadline = time.monotonic() + SECONDS
    while True:
        assert proc.poll() is None, "the export ended before it could be killed"
        assert time.monotonic() < deadline, "the export wrote nothing"
        os.kill(proc.pid, signal.SIGSTOP)
        if any(p.stat().st_size for p in folder.glob(".flows.csv.*.partial")):
            return
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.002)


def test_export_killed_midway_leaves_no_file_that_looks_complete(
    platform: Platform, tmp_path: Path
) -> None:
    _funding_flows(platform, FLOWS)
    env = platform_env(platform, tmp_path)
    target = tmp_path / "flows.csv"
    target.write_bytes(b"yesterday's export\n")
    command = ["export", "funding", "--format", "fts", "--output", str(target)]
    proc = forked(command, env, tmp_path / "export.log")
    _freeze_once_partial(proc, tmp_path)
    proc.kill()
    proc.wait(10)
    assert target.read_bytes() == b"yesterday's export\n"  # the older file, whole
    beside = {p.name for p in tmp_path.iterdir()} - {target.name}
    assert all(re.fullmatch(r"\.flows\.csv\.\w+\.partial", n) for n in beside if "flows" in n)

    again = run_cmcc(command, env, tmp_path, SECONDS)
    assert again.returncode == 0 and f"wrote {target}" in again.stderr, again.stderr
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert len(rows) == 1 + FLOWS + 1  # the header, the pledge and its copies

    officer = caller(platform, "CMCC", Role.FUNDING_OFFICER).headers
    with serving(platform, tmp_path) as (url, _, server):
        export = url + "/api/v1/funding/export"
        with httpx.stream("GET", export, params={"format": "fts"}, headers=officer) as answer:
            assert answer.status_code == 200
            assert "content-length" not in answer.headers  # chunked: its end is marked
            pieces = answer.iter_bytes()
            assert next(pieces)
            server.kill()
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                for _ in pieces:
                    pass
