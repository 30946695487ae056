"""The scenario's humanitarian notifications (`notifications.toml`), loaded through the
notification services like any partner's: submitted by their owner, then moved by their
`steps` (acknowledged and shared by the centre, completed or withdrawn by the owner), so their
markings, protective zones and deconfliction advisories are made as the services make them.

The step runs after the zones, incidents, hazards and the force's tasks, so each notification
is checked against the whole picture when it is submitted. A notification is known by its owner
and title: one stored already is left as it is.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cmcc.access.domain import Principal
from cmcc.access.models import Organization
from cmcc.config import Settings
from cmcc.core.errors import DomainError, InvalidInput
from cmcc.humanitarian import advisories, notifications
from cmcc.humanitarian.domain import CENTRE_STEPS
from cmcc.humanitarian.models import Notification
from cmcc.humanitarian.rules import Rules
from cmcc.humanitarian.schemas import NotificationCreate, StatusStep
from cmcc.scenarios.parsing import parse_record

if TYPE_CHECKING:
    from cmcc.scenarios.loader import Loader

FILE = "notifications"


class NotificationLoader:
    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.session = loader.session
        # The platform's rules (bootstrap configures them), within the loader's area.
        rules = advisories.configured_rules() or Rules.of(Settings())
        self.rules = replace(rules, aoi=loader.aoi)

    def load(self) -> None:
        for where, rec in self.loader.records(FILE):
            owner = self._owner(rec.get("owner"), f"{where}.owner")
            known = select(Notification.id).where(
                Notification.owner_org_id == owner.id, Notification.title == rec.get("title")
            )
            if self.session.scalars(known).first() is not None:
                continue
            fields = {
                k: v
                for k, v in rec.items()
                if k not in {"owner", "steps", "illustrative", "approx", "source"}
            }
            if rec.get("illustrative"):
                fields["description"] = f"Illustrative. {fields.get('description', '')}".strip()
            body = parse_record(NotificationCreate, fields, where)
            partner = Principal.system_operator(owner.id, owner.code)
            n = self._call(
                where,
                notifications.submit,
                self.session,
                partner,
                body,
                rules=self.rules,
                fence=self.loader.fence,
            )
            if rec.get("illustrative"):
                n.illustrative = True
                self.session.flush()  # its version moves: the steps below read the new one
            for i, raw in enumerate(rec.get("steps", [])):
                at = f"{where}.steps[{i}]"
                change = parse_record(StatusStep, {**raw, "version": n.version}, at)
                who = self._centre() if change.to in CENTRE_STEPS else partner
                n = self._call(
                    at,
                    notifications.step,
                    self.session,
                    who,
                    n.lineage_id,
                    change,
                    fence=self.loader.fence,
                )
            self.loader.added["notifications"] += 1

    def _owner(self, code: Any, where: str) -> Organization:
        org = self.session.scalars(
            select(Organization).where(Organization.code == str(code or "").upper())
        ).first()
        if org is None:
            raise InvalidInput.field(where, f"unknown organization {code!r}")
        return org

    def _centre(self) -> Principal:
        home = self.loader.home
        return Principal.system_operator(home.id, home.code)

    @staticmethod
    def _call(where: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """A service call whose refusal names the scenario record that caused it."""
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            raise InvalidInput.field(where, exc.detail) from None
