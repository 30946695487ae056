"""Every committed write is announced on the event bus (cmcc.core.written): the table and the
ids, after the commit, never for a rolled-back transaction; bulk writes announce themselves."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cmcc.access.domain import Principal, Role
from cmcc.bootstrap import Platform
from cmcc.core.written import IDS_PER_EVENT, note_written
from tests.factories import caller
from tests.integration.test_picture import zone


def _changed(events: list[dict[str, Any]], table: str) -> list[int]:
    return [i for e in events if e["type"] == "changed" and e["table"] == table for i in e["ids"]]


def test_created_changed_and_ended_records_are_announced_after_commit(
    platform: Platform, client: TestClient
) -> None:
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    events: list[dict[str, Any]] = []
    platform.bus.listen(events.append)
    created = client.post("/api/v1/zones", headers=staff, json=zone())
    assert created.status_code == 201, created.text
    first = created.json()["id"]
    assert _changed(events, "zones") == [first]
    assert _changed(events, "audit_log") == []  # the log itself is not announced

    events.clear()
    ended = client.patch(
        f"/api/v1/zones/{first}",
        headers=staff,
        json={"valid_to": "2026-06-01T00:00:00Z", "version": created.json()["version"]},
    )
    assert ended.status_code == 200, ended.text
    assert first in _changed(events, "zones")


def test_nothing_is_announced_for_a_rolled_back_transaction(platform: Platform) -> None:
    events: list[dict[str, Any]] = []
    platform.bus.listen(events.append)

    def failing_writer() -> None:
        with platform.unit_of_work(Principal.system_operator(), write=True) as session:
            note_written(session, "zones", [1, 2])
            raise RuntimeError("the writer failed")

    with pytest.raises(RuntimeError):
        failing_writer()
    assert events == []
    with platform.unit_of_work(Principal.system_operator(), write=True) as session:
        note_written(session, "incidents", range(1, IDS_PER_EVENT + 3))
        assert events == []  # not before the commit
    assert [len(e["ids"]) for e in events] == [IDS_PER_EVENT, 2]
    assert _changed(events, "incidents") == list(range(1, IDS_PER_EVENT + 3))
