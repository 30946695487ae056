"""Funding flows: record a pledge, a commitment or a paid contribution; revise one (a new
version, the old one kept); list them. Each flow names its destination in the plan tree (plan,
and optionally phase, programme, project: consistent with each other) and, for a commitment or
a payment, the flow of the previous stage it converts (`fulfils_id`, stored as that flow's
lineage). A payment beyond its commitment is refused unless an override reason is given."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import BigInteger, Select, Table, func, select, text, type_coerce, update
from sqlalchemy.orm import Session, aliased

from cmcc.access.domain import Principal
from cmcc.access.policy import get_visible, visible
from cmcc.access.service import resolve_marking
from cmcc.core.clock import utcnow
from cmcc.core.codes import is_currency_code
from cmcc.core.crud import check_version
from cmcc.core.errors import Conflict, InvalidInput
from cmcc.funding import domain, totals
from cmcc.funding.domain import FULFILS, FlowStatus
from cmcc.funding.models import Flow, Phase, Plan, Programme, Project
from cmcc.funding.schemas import FlowCreate, FlowRevision
from cmcc.funding.service import organization, referenced, writer

MONEY_FIELDS = ("amount", "currency", "exchange_rate", "amount_usd")
DESTINATION = ("plan_id", "phase_id", "programme_id", "project_id")


@dataclass(frozen=True)
class Destination:
    plan_id: int
    phase_id: int | None
    programme_id: int | None
    project_id: int | None


def destination(
    session: Session,
    principal: Principal,
    plan_id: int | None,
    phase_id: int | None,
    programme_id: int | None,
    project_id: int | None,
) -> Destination:
    """The destination in the plan tree; upper levels left out follow from the lower ones,
    levels given must agree (a project's programme's phase's plan)."""

    def agree(given: int | None, found: int, field: str, what: str) -> int:
        if given is not None and given != found:
            raise InvalidInput.field(field, f"{what} belongs to {field[5:-3]} {found}, not {given}")
        return found

    if project_id is not None:
        project = referenced(session, principal, Project, project_id, "body.project_id")
        what = f"project {project.id}"
        programme_id = agree(programme_id, project.programme_id, "body.programme_id", what)
    if programme_id is not None:
        programme = referenced(session, principal, Programme, programme_id, "body.programme_id")
        what = f"programme {programme.id}"
        phase_id = agree(phase_id, programme.phase_id, "body.phase_id", what)
    if phase_id is not None:
        phase = referenced(session, principal, Phase, phase_id, "body.phase_id")
        plan_id = agree(plan_id, phase.plan_id, "body.plan_id", f"phase {phase.id}")
    if plan_id is None:
        raise InvalidInput.field("body.plan_id", "name the plan (or a phase, programme, project)")
    referenced(session, principal, Plan, plan_id, "body.plan_id")
    return Destination(plan_id, phase_id, programme_id, project_id)


def money(
    currency: str, amount: Decimal, rate: Decimal | None, amount_usd: Decimal | None
) -> tuple[Decimal, Decimal]:
    """(exchange rate, USD amount). USD flows have the rate 1. Otherwise the rate or the USD
    amount is required; given both, they must agree within 1 %."""
    if not is_currency_code(currency):
        raise InvalidInput.field("body.currency", f"{currency!r} is not an ISO 4217 currency")
    if currency == "USD":
        if rate is not None and rate != 1:
            raise InvalidInput.field("body.exchange_rate", "a USD amount has the rate 1")
        if amount_usd is not None and amount_usd != amount:
            raise InvalidInput.field("body.amount_usd", "a USD flow's amount_usd is its amount")
        return Decimal(1), amount
    if rate is None and amount_usd is None:
        raise InvalidInput.field(
            "body.exchange_rate", f"required for {currency} (or give amount_usd)"
        )
    if rate is None:
        assert amount_usd is not None
        rate = domain.implied_rate(amount, amount_usd)
        if rate <= 0:
            raise InvalidInput.field("body.amount_usd", "too small for the amount")
    computed = domain.usd(amount, rate)
    if amount_usd is None:
        return rate, computed
    if abs(amount_usd - computed) > max(domain.CENT, computed / 100):
        raise InvalidInput.field(
            "body.amount_usd", f"does not match amount x exchange_rate ({computed} USD)"
        )
    return rate, amount_usd


def _fulfilled(
    session: Session, principal: Principal, status: FlowStatus, fulfils_id: int | None, donor: int
) -> Flow | None:
    """The current version of the flow this one converts, checked: previous stage, same donor."""
    previous = FULFILS[status]
    if fulfils_id is None:
        return None
    if previous is None:
        raise InvalidInput.field("body.fulfils_id", "a pledge converts no other flow")
    target = referenced(session, principal, Flow, fulfils_id, "body.fulfils_id")
    current = current_version(session, target.lineage_id)
    if current.status != previous.value:
        raise InvalidInput.field(
            "body.fulfils_id",
            f"a {status.value} converts a {previous.value}; flow {fulfils_id} is a "
            f"{current.status}",
        )
    if current.donor_org_id != donor:
        raise InvalidInput.field(
            "body.fulfils_id", f"flow {fulfils_id} is from another donor ({current.donor_code})"
        )
    return current


def current_version(session: Session, lineage_id: int) -> Flow:
    stmt = select(Flow).where(Flow.lineage_id == lineage_id, Flow.is_current.is_(True))
    return session.scalars(stmt).one()


def refresh_converted(session: Session, *lineages: int | None) -> None:
    """Set each lineage's current version's `converted_usd` to the USD (cents) of the current
    flows converting it, whoever may see them: one UPDATE per lineage, after every write that
    can change it (a converting flow created, revised, moved; the lineage itself revised).

    The total is kept for the reports, never shown with the flow: the UPDATE goes to the table
    (not through the ORM) and leaves the flow's `version` and `updated_at` as they were, so a
    converting flow the flow's reader may not see changes nothing that reader sees, and makes
    no version conflict on its next write. It is not audited on its own: it is derived from
    audited flows, and recomputed from them on every write."""
    table = cast(Table, Flow.__table__)
    other = aliased(Flow)
    for lineage in dict.fromkeys(x for x in lineages if x is not None):
        cents = (
            select(func.coalesce(func.sum(type_coerce(other.amount_usd, BigInteger)), 0))
            .where(other.fulfils_id == lineage, other.is_current.is_(True))
            .scalar_subquery()
        )
        session.execute(
            update(table)
            .where(table.c.lineage_id == lineage, table.c.is_current.is_(True))
            .values(
                converted_usd=type_coerce(cents, BigInteger),
                updated_at=table.c.updated_at,  # not a change of the flow (no onupdate)
            )
        )
        for obj in session.identity_map.values():
            if isinstance(obj, Flow) and obj.lineage_id == lineage:
                session.expire(obj, ["converted_usd"])


def paid_against(session: Session, commitment_lineage: int, besides: int | None) -> Decimal:
    """USD of the current payments converting a commitment, whoever may see them (a rule of
    the data, not a report), less the lineage being revised."""
    stmt = select(Flow.amount_usd).where(
        Flow.fulfils_id == commitment_lineage, Flow.is_current.is_(True)
    )
    if besides is not None:
        stmt = stmt.where(Flow.lineage_id != besides)
    return sum(session.scalars(stmt), Decimal(0))


def _check_overpayment(
    session: Session,
    commitment: Decimal,
    paid_before: Decimal,
    paying: Decimal,
    override: str | None,
    lineage: int,
) -> None:
    if paid_before + paying <= commitment or override:
        return
    raise InvalidInput.field(
        "body.amount",
        f"the payments against commitment {lineage} would total {paid_before + paying} USD, "
        f"more than its {commitment} USD; give override_reason to record it anyway",
    )


def _terms(
    session: Session,
    principal: Principal,
    flow: Flow,
    values: dict[str, Any],
    override: str | None,
) -> None:
    """Check the flow's terms and set them on `flow` (a new version or a new flow)."""
    status = FlowStatus(flow.status)
    rate, usd = money(
        values["currency"], values["amount"], values.get("exchange_rate"), values.get("amount_usd")
    )
    flow_date = values.get("flow_date") or values["decision_date"]
    domain.check_period(values["decision_date"], flow_date, "body.flow_date")
    dest = destination(session, principal, *(values.get(k) for k in DESTINATION))
    fulfilled = _fulfilled(session, principal, status, values.get("fulfils_id"), flow.donor_org_id)
    mine = flow.lineage_id
    if fulfilled is not None and status is FlowStatus.PAID:
        before = paid_against(session, fulfilled.lineage_id, mine)
        _check_overpayment(
            session, fulfilled.amount_usd, before, usd, override, fulfilled.lineage_id
        )
    if status is FlowStatus.COMMITMENT and mine is not None:
        paid = paid_against(session, mine, None)
        if paid > usd and not override:
            raise InvalidInput.field(
                "body.amount",
                f"{paid} USD is paid against this commitment already, more than {usd} USD; "
                "give override_reason to record it anyway",
            )
    flow.amount = values["amount"]
    flow.currency = values["currency"]
    flow.exchange_rate = rate
    flow.amount_usd = usd
    flow.decision_date = values["decision_date"]
    flow.flow_date = flow_date
    flow.rate_date = values.get("rate_date") or flow_date
    flow.plan_id = dest.plan_id
    flow.phase_id = dest.phase_id
    flow.programme_id = dest.programme_id
    flow.project_id = dest.project_id
    flow.fulfils_id = None if fulfilled is None else fulfilled.lineage_id
    flow.restricted = bool(values.get("restricted", False))
    notes = values.get("notes") or ""
    if override:
        notes = f"{notes}\nOverride: {override}".strip()
    flow.notes = notes
    flow.source = values.get("source") or ""


def _next_id(session: Session) -> int:
    """The id the new flow will get, so that a first version carries its own lineage from the
    insert on (no second write). SQLite: the write transaction holds the database's lock."""
    if session.get_bind().dialect.name == "postgresql":
        seq = text("SELECT nextval(pg_get_serial_sequence('funding_flows', 'id'))")
        return int(session.scalar(seq) or 0)
    return int(session.scalar(select(func.coalesce(func.max(Flow.id), 0))) or 0) + 1


def create_flow(session: Session, principal: Principal, data: FlowCreate) -> Flow:
    owner = writer(principal)
    donor = organization(session, data.donor, "body.donor")
    flow = Flow(
        status=data.status.value,
        donor_org_id=donor.id,
        owner_org_id=owner,
        version_no=1,
        is_current=True,
        first_reported_date=data.first_reported_date or utcnow().date(),
    )
    _terms(session, principal, flow, data.model_dump(), data.override_reason)
    flow.marking = resolve_marking(session, data.releasability)
    change = totals.Change(session, flow.fulfils_id)
    flow.id = flow.lineage_id = _next_id(session)
    session.add(flow)
    session.flush()
    refresh_converted(session, flow.fulfils_id)
    change.apply(flow.lineage_id)
    return flow


def get_flow(session: Session, principal: Principal, flow_id: int) -> Flow:
    return get_visible(session, Flow, flow_id, principal.viewer)


def _kept(old: Flow, changes: dict[str, Any]) -> dict[str, Any]:
    """The terms of the new version: the old ones, with the changes; a change to the money
    recomputes what follows from it (a new currency needs a new rate or USD amount)."""
    values: dict[str, Any] = {
        "amount": old.amount,
        "currency": old.currency,
        "decision_date": old.decision_date,
        "flow_date": old.flow_date,
        "rate_date": old.rate_date,
        "fulfils_id": old.fulfils_id,
        "restricted": old.restricted,
        "notes": old.notes,
        "source": old.source,
        **{k: getattr(old, k) for k in DESTINATION},
    }
    if not any(k in changes for k in MONEY_FIELDS):
        values.update(exchange_rate=old.exchange_rate, amount_usd=old.amount_usd)
    elif "currency" not in changes and "amount_usd" not in changes:
        values["exchange_rate"] = old.exchange_rate
    if "rate_date" not in changes and any(k in changes for k in (*MONEY_FIELDS, "flow_date")):
        values.pop("rate_date")
    if any(k in changes for k in DESTINATION):
        for key in DESTINATION:
            values[key] = changes.get(key)
    values.update({k: v for k, v in changes.items() if k not in DESTINATION})
    return values


def revise_flow(session: Session, principal: Principal, flow_id: int, data: FlowRevision) -> Flow:
    """A new version of the flow with the changes; the old version is kept, no longer current."""
    writer(principal)  # the permission before the lookup: 403 whether the flow exists or not
    old = get_flow(session, principal, flow_id)
    check_version(old, data.version)
    if not old.is_current:
        current = current_version(session, old.lineage_id)
        raise Conflict(f"flow {old.id} is an old version; revise the current one ({current.id})")
    changes = data.model_dump(
        exclude_unset=True, exclude={"version", "releasability", "override_reason"}
    )
    for key in ("amount", "currency", "decision_date", "flow_date", "restricted"):
        if key in changes and changes[key] is None:
            raise InvalidInput.field(f"body.{key}", "may be changed but not cleared")
    new = Flow(
        id=_next_id(session),
        lineage_id=old.lineage_id,
        version_no=old.version_no + 1,
        is_current=True,
        status=old.status,
        donor_org_id=old.donor_org_id,
        owner_org_id=old.owner_org_id,
        first_reported_date=old.first_reported_date,
    )
    _terms(session, principal, new, _kept(old, changes), data.override_reason)
    new.marking = (
        resolve_marking(session, data.releasability) if data.releasability else old.marking
    )
    change = totals.Change(session, old.lineage_id, old.fulfils_id, new.fulfils_id)
    old.is_current = False
    session.flush()
    session.add(new)
    session.flush()
    refresh_converted(session, new.lineage_id, old.fulfils_id, new.fulfils_id)
    change.apply()
    return new


def versions(session: Session, principal: Principal, flow_id: int) -> list[Flow]:
    """Every version of the flow's lineage the caller may see, oldest first."""
    flow = get_flow(session, principal, flow_id)
    stmt = visible(Flow, principal.viewer, Flow.lineage_id == flow.lineage_id)
    return list(session.scalars(stmt.order_by(Flow.version_no)))


def flow_statement(
    principal: Principal,
    *,
    donor_org_id: int | None = None,
    status: FlowStatus | None = None,
    plan_id: int | None = None,
    phase_id: int | None = None,
    project_id: int | None = None,
    month: dt.date | None = None,
    history: bool = False,
) -> Select[Flow]:
    """Flows visible to the caller; current versions only unless `history`."""
    stmt = visible(Flow, principal.viewer)
    if not history:
        stmt = stmt.where(Flow.is_current.is_(True))
    if donor_org_id is not None:
        stmt = stmt.where(Flow.donor_org_id == donor_org_id)
    if status is not None:
        stmt = stmt.where(Flow.status == status.value)
    if plan_id is not None:
        stmt = stmt.where(Flow.plan_id == plan_id)
    if phase_id is not None:
        stmt = stmt.where(Flow.phase_id == phase_id)
    if project_id is not None:
        stmt = stmt.where(Flow.project_id == project_id)
    if month is not None:
        first = month.replace(day=1)
        after = (first + dt.timedelta(days=32)).replace(day=1)
        stmt = stmt.where(Flow.flow_date >= first, Flow.flow_date < after)
    return stmt
