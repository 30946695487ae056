"""`cmcc init`: bring the schema up to date and seed the reference data (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from cmcc import schema
from cmcc.access.domain import OrgKind, Principal
from cmcc.access.service import upsert_organization
from cmcc.bootstrap import Platform
from cmcc.core.releasability import Marking, MarkingKind
from cmcc.forces.service import seed_states

HOME_ORG = ("CMCC", "Civil-Military Coordination Centre")


@dataclass(frozen=True)
class InitResult:
    database: str
    states_added: int


def initialize(platform: Platform) -> InitResult:
    schema.upgrade(platform.engine)
    with platform.unit_of_work(Principal.system_operator(), write=True) as session:
        session.info["actor"] = "system:init"
        org = upsert_organization(session, HOME_ORG[0], HOME_ORG[1], OrgKind.CMCC)
        added = seed_states(session, org.id, Marking(MarkingKind.MISSION))
    return InitResult(platform.engine.url.render_as_string(hide_password=True), added)
