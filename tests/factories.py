"""Factories: organizations, users with tokens, and valid request bodies."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.service import add_user, create_token, upsert_organization
from cmcc.bootstrap import Platform
from cmcc.schema import metadata

_seq = itertools.count(1)


@dataclass(frozen=True)
class Caller:
    username: str
    org: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def row_counts(platform: Platform) -> dict[str, int]:
    """Rows in every table (the audit log included): what a step wrote, by comparison."""
    with platform.unit_of_work(Principal.system_operator()) as s:
        return {
            t.name: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in metadata.sorted_tables
        }


def org(
    platform: Platform, code: str, kind: OrgKind = OrgKind.NATION, *, member: bool = True
) -> None:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        upsert_organization(s, code, f"Organization {code}", kind, is_member=member)


def caller(
    platform: Platform,
    org_code: str,
    role: Role,
    *,
    kind: OrgKind | None = None,
    member: bool = True,
    password: str | None = None,
) -> Caller:
    """A user of `org_code` (created if needed) with a fresh token."""
    if kind is None:
        kind = OrgKind.CMCC if org_code == "CMCC" else OrgKind.NATION
    org(platform, org_code, kind, member=member)
    name = f"{role.value}-{org_code.lower()}-{next(_seq)}"
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        user = add_user(s, name, org_code, role, password)
        token = create_token(s, user, platform.settings.secret_key.get_secret_value())
    return Caller(name, org_code, role, token)


def pledge_body(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body: dict[str, Any] = {
        "ref": f"P-{n}",
        "state": "IDN",
        "capability": "infantry_battalion",
        "units": 1,
        "strength": 800,
        "registered_on": "2026-02-19",
        "earliest_deployment": "2026-03-01",
        "tour_months": 6,
        "releasability": "mission",
    }
    body.update(overrides)
    return body


def requirement_body(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body: dict[str, Any] = {
        "code": f"SUR-{n}",
        "title": f"Requirement {n}",
        "capability": "infantry_battalion",
        "units": 3,
        "strength_per_unit": 800,
        "sector": "Rafah",
        "zone_kinds": ["isf_sector", "gaza_strip"],
        "tasks": ["protection_of_civilians"],
        "needed_by": "2026-06-30",
    }
    body.update(overrides)
    return body


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def from_devices(events: Any) -> list[Any]:
    """CoT events as each device sends them on its own connection: the gateway attributes them
    to the device whose uid they carry (cmcc.cot.event.Report)."""
    from cmcc.cot.event import Report

    return [Report.from_device(e) for e in events]
