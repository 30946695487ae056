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

# Humanitarian notifications: the partners who notify, the centre, the force's and the parties'
# liaison officers they are shared with, the auditors.
HUMANITARIAN_ROLES = frozenset(
    {Role.HUMANITARIAN_PARTNER, Role.STAFF_OFFICER, Role.LIAISON_OFFICER, Role.AUDITOR}
)
# Its page, and the map's layers of notified sites and movements, are for them.
NOTIFICATIONS = NavItem("/notifications", "Notifications", roles=HUMANITARIAN_ROLES)

NAV: tuple[NavItem, ...] = (
    NavItem("/map", "Map"),
    NavItem("/incidents", "Incident log"),
    NavItem("/alerts", "Alerts"),
    NOTIFICATIONS,
    NavItem("/access", "Access constraints", Permission.NOTIFY_HUMANITARIAN, CENTRE_ROLES),
    NavItem("/forces", "Force generation"),
    NavItem("/orbat", "ORBAT", roles=COMMAND_ROLES),
    NavItem("/tasks", "Tasking board", roles=COMMAND_ROLES),
    NavItem("/tak", "TAK devices", Permission.ENROLL_DEVICES),
    NavItem("/funding", "Funding"),
    NavItem("/aid-flow", "Aid flow"),
    NavItem("/recovery", "Recovery board", roles=RECOVERY_ROLES),
    NavItem("/sitrep", "SITREP"),
)


def nav_for(principal: Principal) -> list[NavItem]:
    return [item for item in NAV if item.shown_to(principal)]
