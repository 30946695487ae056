"""The vocabulary and rules of humanitarian coordination (OCHA's humanitarian notification
system and access monitoring framework). Pure rules, no database.

A notification informs the centre; it is never a request for permission. It is acknowledged,
never approved: no status, label or field of this module says "approved" or "denied" (a test
reads every word of it)."""

from __future__ import annotations

from enum import StrEnum


class NotificationKind(StrEnum):
    SITE = "site"
    MOVEMENT = "movement"


class SiteType(StrEnum):
    HEALTH = "health"
    WASH = "wash"  # water, sanitation and hygiene
    SHELTER = "shelter"
    FOOD_DISTRIBUTION = "food_distribution"
    WAREHOUSE = "warehouse"
    OFFICE = "office"
    CRITICAL_INFRASTRUCTURE = "critical_infrastructure"


class MovementType(StrEnum):
    CONVOY = "convoy"
    FIELD_MISSION = "field_mission"


class CargoCategory(StrEnum):
    """What trucks carry through a crossing (and a convoy's main cargo)."""

    FOOD = "food"
    HEALTH = "health"
    SHELTER = "shelter"
    WASH = "wash"
    FUEL = "fuel"
    COMMERCIAL = "commercial"


class NotificationStatus(StrEnum):
    SUBMITTED = "submitted"  # by the partner
    ACKNOWLEDGED = "acknowledged"  # the centre has received it
    SHARED = "shared"  # passed on to the force and/or the parties' liaison cells
    COMPLETED = "completed"  # the movement took place / the site closed
    WITHDRAWN = "withdrawn"  # the partner took it back


STATUS_LABELS: dict[NotificationStatus, str] = {
    NotificationStatus.SUBMITTED: "Submitted",
    NotificationStatus.ACKNOWLEDGED: "Acknowledged by the centre",
    NotificationStatus.SHARED: "Shared",
    NotificationStatus.COMPLETED: "Completed",
    NotificationStatus.WITHDRAWN: "Withdrawn",
}

ACTIVE_STATUSES = frozenset(
    {NotificationStatus.SUBMITTED, NotificationStatus.ACKNOWLEDGED, NotificationStatus.SHARED}
)
ENDED_STATUSES = frozenset({NotificationStatus.COMPLETED, NotificationStatus.WITHDRAWN})

# Who takes each step: the centre acknowledges and shares; the partner withdraws; either
# records completion. A shared notification may be shared again with more audiences.
CENTRE_STEPS = frozenset({NotificationStatus.ACKNOWLEDGED, NotificationStatus.SHARED})
PARTNER_STEPS = frozenset({NotificationStatus.WITHDRAWN})

_NEXT: dict[NotificationStatus, frozenset[NotificationStatus]] = {
    NotificationStatus.SUBMITTED: frozenset(
        {
            NotificationStatus.ACKNOWLEDGED,
            NotificationStatus.SHARED,
            NotificationStatus.COMPLETED,
            NotificationStatus.WITHDRAWN,
        }
    ),
    NotificationStatus.ACKNOWLEDGED: frozenset(
        {NotificationStatus.SHARED, NotificationStatus.COMPLETED, NotificationStatus.WITHDRAWN}
    ),
    NotificationStatus.SHARED: frozenset(
        {NotificationStatus.SHARED, NotificationStatus.COMPLETED, NotificationStatus.WITHDRAWN}
    ),
    NotificationStatus.COMPLETED: frozenset(),
    NotificationStatus.WITHDRAWN: frozenset(),
}


def status_step_problem(current: NotificationStatus, to: NotificationStatus) -> str | None:
    """Why the step is not possible (None: it is)."""
    if to in _NEXT[current]:
        return None
    if current in ENDED_STATUSES:
        return f"the notification is {current.value}; submit a new one"
    return f"a notification that is {current.value} cannot become {to.value}"


FORCE = "force"  # the audience "the force's units" (its headquarters and contributing nations)


class AdvisoryKind(StrEnum):
    """What a deconfliction advisory is about."""

    RESTRICTED_AREA = "restricted_area"  # a restricted area or an area under IDF control
    EXPLOSIVE_HAZARD = "explosive_hazard"  # an open hazardous area (SHA/CHA)
    INCIDENT = "incident"  # a verified incident within the buffer and period
    CROSSING = "crossing"  # the movement's crossing is closed or on restricted hours
    FORCE_TASK = "force_task"  # a task of the force in the same area and window


ADVISORY_LABELS: dict[AdvisoryKind, str] = {
    AdvisoryKind.RESTRICTED_AREA: "restricted area",
    AdvisoryKind.EXPLOSIVE_HAZARD: "open explosive hazard",
    AdvisoryKind.INCIDENT: "verified incident nearby",
    AdvisoryKind.CROSSING: "crossing not open",
    AdvisoryKind.FORCE_TASK: "task of the force",
}


class CrossingStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    RESTRICTED_HOURS = "restricted_hours"


class AccessCategory(StrEnum):
    """OCHA's access monitoring and reporting framework: the nine categories of constraint."""

    BENEFICIARY_ACCESS_IMPEDED = "beneficiary_access_impeded"  # 1
    ENTRY_RESTRICTIONS = "entry_restrictions"  # 2 into the territory: personnel, goods
    MOVEMENT_RESTRICTIONS = "movement_restrictions"  # 3 within: checkpoints, closures
    INTERFERENCE = "interference"  # 4 in the implementation of humanitarian activities
    VIOLENCE_AGAINST_PERSONNEL_ASSETS = "violence_against_personnel_assets"  # 5
    HOSTILITIES = "hostilities"  # 6 military operations and hostilities impeding operations
    EXPLOSIVE_ORDNANCE = "explosive_ordnance"  # 7 mines and explosive remnants of war
    PHYSICAL_ENVIRONMENT = "physical_environment"  # 8 terrain, damage, weather
    DENIAL_OF_NEEDS = "denial_of_needs"  # 9 of needs or of entitlements to assistance


ACCESS_CATEGORY_LABELS: dict[AccessCategory, str] = {
    AccessCategory.BENEFICIARY_ACCESS_IMPEDED: "Denial of beneficiaries' access to assistance",
    AccessCategory.ENTRY_RESTRICTIONS: "Restriction of entry of personnel, goods or services",
    AccessCategory.MOVEMENT_RESTRICTIONS: "Restriction of movement within the area",
    AccessCategory.INTERFERENCE: "Interference in humanitarian activities",
    AccessCategory.VIOLENCE_AGAINST_PERSONNEL_ASSETS: (
        "Violence against humanitarian personnel, assets or facilities"
    ),
    AccessCategory.HOSTILITIES: "Military operations and hostilities impeding operations",
    AccessCategory.EXPLOSIVE_ORDNANCE: "Presence of mines and explosive ordnance",
    AccessCategory.PHYSICAL_ENVIRONMENT: "Physical environment",
    AccessCategory.DENIAL_OF_NEEDS: "Denial of needs or of entitlements to assistance",
}


class AccessImpact(StrEnum):
    """What happened to the aid or the aid workers."""

    TURNED_BACK_AT_CHECKPOINT = "turned_back_at_checkpoint"
    DELAYED_AT_CHECKPOINT = "delayed_at_checkpoint"
    INTERFERENCE = "interference"
    VIOLENCE = "violence"
    LOOTING = "looting"
    RESTRICTION = "restriction"
    OTHER = "other"


ACCESS_IMPACT_CATEGORY: dict[AccessImpact, AccessCategory] = {
    AccessImpact.TURNED_BACK_AT_CHECKPOINT: AccessCategory.MOVEMENT_RESTRICTIONS,
    AccessImpact.DELAYED_AT_CHECKPOINT: AccessCategory.MOVEMENT_RESTRICTIONS,
    AccessImpact.INTERFERENCE: AccessCategory.INTERFERENCE,
    AccessImpact.VIOLENCE: AccessCategory.VIOLENCE_AGAINST_PERSONNEL_ASSETS,
    AccessImpact.LOOTING: AccessCategory.VIOLENCE_AGAINST_PERSONNEL_ASSETS,
    AccessImpact.RESTRICTION: AccessCategory.MOVEMENT_RESTRICTIONS,
}


def site_ref(lineage: int) -> str:
    return f"site_{lineage}"


def movement_ref(lineage: int) -> str:
    return f"movement_{lineage}"


def notification_ref(kind: str, lineage: int) -> str:
    return site_ref(lineage) if kind == NotificationKind.SITE.value else movement_ref(lineage)
