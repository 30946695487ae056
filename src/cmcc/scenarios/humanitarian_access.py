"""The scenario's access constraints (`access_constraints.toml`), recorded through the access
constraints log as the organization named in each record's `owner`.

A record is known by its owner and description (and its time, unless that is relative to the
load day), so what is stored already is left as it is. `incident` names an incident of the
scenario by its external_ref. An illustrative record says so in its source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from cmcc.access.domain import Principal
from cmcc.access.models import Organization
from cmcc.core.errors import InvalidInput
from cmcc.humanitarian import access_log
from cmcc.humanitarian.access_schemas import AccessConstraintCreate
from cmcc.humanitarian.models import AccessConstraint
from cmcc.incidents.models import Incident
from cmcc.scenarios import dates
from cmcc.scenarios.parsing import parse_record, source_text

if TYPE_CHECKING:
    from cmcc.scenarios.loader import Loader

FILE = "access_constraints"
MARKERS = frozenset({"approx", "illustrative", "owner", "incident"})  # never sent to the service


def load_access_constraints(loader: Loader) -> None:
    session = loader.session
    raw = loader.data.get(FILE, {}).get(FILE, [])
    for (where, rec), given in zip(loader.records(FILE), raw, strict=True):
        owner = session.scalars(
            select(Organization).where(Organization.code == str(rec.get("owner", "")).upper())
        ).first()
        if owner is None:
            raise InvalidInput.field(f"{where}.owner", "no organization has this code")
        fields = {k: v for k, v in rec.items() if k not in MARKERS}
        fields["source"] = source_text(rec)  # with [illustrative] when it is
        if "incident" in rec:
            incident = session.scalars(
                select(Incident.id).where(Incident.external_ref == rec["incident"])
            ).first()
            if incident is None:
                raise InvalidInput.field(f"{where}.incident", "no incident has this external_ref")
            fields["incident_id"] = incident
        body: AccessConstraintCreate = parse_record(AccessConstraintCreate, fields, where)
        known = select(AccessConstraint.id).where(
            AccessConstraint.owner_org_id == owner.id,
            AccessConstraint.description == body.description,
        )
        if not dates.is_relative(given.get("occurred_at")):  # a moving time is no key
            known = known.where(AccessConstraint.occurred_at == body.occurred_at)
        if session.scalars(known).first() is not None:
            continue
        who = Principal.system_operator(owner.id, owner.code)
        access_log.create(session, who, body, aoi=loader.aoi)
        loader.added["access constraints"] += 1
