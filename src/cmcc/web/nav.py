"""The navigation bar: each page and who it is for."""

from __future__ import annotations

from dataclasses import dataclass

from cmcc.access.domain import Permission, Principal, Role


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    permission: Permission | None = None  # None: every signed-in user
    roles: frozenset[Role] | None = None  # or: only these roles (besides admin)

    def shown_to(self, principal: Principal) -> bool:
        if self.permission is not None and principal.can(self.permission):
            return True
        if self.roles is not None:
            return principal.role in self.roles or principal.role is Role.ADMIN
        return self.permission is None


RECOVERY_ROLES = frozenset(
    {
        Role.STAFF_OFFICER,
        Role.MINE_ACTION_OFFICER,
        Role.RECOVERY_OFFICER,
        Role.TIP_OFFICER,
        Role.PAYOUT_OFFICER,
        Role.HUMANITARIAN_PARTNER,
    }
)

COMMAND_ROLES = frozenset({Role.STAFF_OFFICER, Role.LIAISON_OFFICER, Role.AUDITOR})
CENTRE_ROLES = frozenset({Role.STAFF_OFFICER})  # the centre's humanitarian desk

NAV: tuple[NavItem, ...] = (
    NavItem("/map", "Map"),
    NavItem("/incidents", "Incident log"),
    NavItem("/alerts", "Alerts"),
    NavItem("/access", "Access constraints", Permission.NOTIFY_HUMANITARIAN, CENTRE_ROLES),
    NavItem("/forces", "Force generation"),
    NavItem("/orbat", "ORBAT", roles=COMMAND_ROLES),
    NavItem("/tasks", "Tasking board", roles=COMMAND_ROLES),
    NavItem("/funding", "Funding"),
    NavItem("/aid-flow", "Aid flow"),
    NavItem("/recovery", "Recovery board", roles=RECOVERY_ROLES),
    NavItem("/sitrep", "SITREP"),
)


def nav_for(principal: Principal) -> list[NavItem]:
    return [item for item in NAV if item.shown_to(principal)]
