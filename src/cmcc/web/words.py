"""How codes read on a page: one table of the users' words for every code a page shows
(incident types, zone kinds, statuses, ...), used by every template and, through the map's
`data-words`, by its script. A code not in the table reads as its words with capitals where
they belong (`handed_over` -> `Handed over`, `eod_escort` -> `EOD escort`).

Incidents are named by their readable reference everywhere: `INC-<id>` (static/app.js writes
the same for live alerts)."""

from __future__ import annotations

from enum import Enum
from functools import lru_cache

from cmcc.access.domain import Role
from cmcc.command.domain import (
    CasualtyCategory,
    Echelon,
    Priority,
    Relationship,
    RelationshipStatus,
    ReportKind,
    Supply,
    UnitKind,
)
from cmcc.command.domain import TaskStatus as UnitTaskStatus
from cmcc.forces.domain import Capability, ReadinessLevel, StateStatus, Task, VisitKind
from cmcc.funding.domain import FlowStatus, ProjectStatus
from cmcc.hazards.domain import (
    Classification,
    DeviceCategory,
    Disposition,
    HazardStatus,
    LandReleaseKind,
)
from cmcc.humanitarian.domain import (
    AdvisoryKind,
    CargoCategory,
    MovementType,
    NotificationKind,
    NotificationStatus,
    SiteType,
)
from cmcc.incidents.domain import TYPE_LABELS, IncidentType, VerificationStatus
from cmcc.remains.domain import TaskStatus
from cmcc.tips.domain import RewardStatus, TipOutcome, TipStatus
from cmcc.zones.domain import KIND_LABELS, ZoneKind

ACRONYMS = frozenset(
    {
        *("idf", "isf", "eod", "eo", "uxo", "sur", "pcrs", "un", "ngo", "sha", "cha", "acled"),
        *("dna", "hq", "cmcc", "opcon", "tacon", "adcon", "perstat", "logstat", "sitrep"),
        "wash",  # water, sanitation and hygiene
    }
)

# Where the plain words of a code are not the users' words.
WORDS: dict[str, str] = {
    # incident types and zone kinds: the domain's words (also those of the alerts)
    **{str(kind): text for kind, text in TYPE_LABELS.items()},
    **{str(kind): text[:1].upper() + text[1:] for kind, text in KIND_LABELS.items()},
    # verification (and a tip's outcome)
    VerificationStatus.FALSE: "Found false",
    # explosive ordnance
    Classification.SHA: "SHA (suspected hazardous area)",
    Classification.CHA: "CHA (confirmed hazardous area)",
    DeviceCategory.UXO: "UXO (unexploded ordnance)",
    DeviceCategory.AXO: "AXO (abandoned ordnance)",
    DeviceCategory.IED: "IED (improvised explosive device)",
    LandReleaseKind.NON_TECHNICAL_SURVEY: "Non-technical survey",
    # force generation
    ReadinessLevel.LEVEL_1: "Level 1 (pledge registered)",
    ReadinessLevel.LEVEL_2: "Level 2 (after the assessment and advisory visit)",
    ReadinessLevel.LEVEL_3: "Level 3 (aligned with a SUR)",
    ReadinessLevel.RAPID_DEPLOYMENT: "Rapid Deployment Level",
    Capability.MEDICAL_LEVEL_1: "Medical (level 1 hospital)",
    Capability.MEDICAL_LEVEL_2: "Medical (level 2 hospital)",
    VisitKind.ASSESSMENT_ADVISORY_VISIT: "Assessment and advisory visit",
    VisitKind.SUR_ALIGNMENT: "Alignment with a SUR",
    Role.ADMIN: "Administrator",
    # command and control
    UnitKind.CONTINGENT: "National contingent",
    Relationship.OPCON: "OPCON (operational control)",
    Relationship.TACON: "TACON (tactical control)",
    Relationship.ADCON: "ADCON (administrative control)",
    Relationship.NATIONAL: "National command only",
    UnitTaskStatus.REFUSED_BY_NATION: "Refused by the nation",
    ReportKind.PERSTAT: "PERSTAT (personnel)",
    ReportKind.LOGSTAT: "LOGSTAT (logistics)",
    # humanitarian notifications (a notification's status reads through its own table,
    # STATUS_LABELS, where "acknowledged" is "Acknowledged by the centre")
    SiteType.WASH: "WASH (water, sanitation and hygiene)",
    "short_notice": "Short notice",
    "site_type": "Site type",
    "movement_type": "Movement type",
    "cargo_category": "Cargo",
    "personnel_count": "Personnel",
    "advisories": "Deconfliction advisories",
    # alerts
    "incident_in_zone": "Incident in a protected zone",
    # field names the map's details show
    "ref": "Reference",
    "external_ref": "External reference",
    "area_m2": "Area (m²)",
    "info_credibility": "Information credibility",
    "killed_civilian": "Killed, civilian",
    "killed_other": "Killed, other",
    "injured_civilian": "Injured, civilian",
    "injured_other": "Injured, other",
    "occurred_at": "Occurred",
    "reported_at": "Reported",
    "acled_event_type": "ACLED event type",
    "acled_sub_event_type": "ACLED sub-event type",
    "alert": "Alert",
    "alert_status": "Alert status",
    "valid_from": "Valid from",
    "valid_to": "Valid to",
}

# Every code whose words a page may need (the table the map's script reads).
CODED: tuple[type[Enum], ...] = (
    IncidentType,
    VerificationStatus,
    ZoneKind,
    Classification,
    DeviceCategory,
    Disposition,
    HazardStatus,
    LandReleaseKind,
    TaskStatus,
    TipStatus,
    TipOutcome,
    RewardStatus,
    StateStatus,
    ReadinessLevel,
    Capability,
    Task,
    VisitKind,
    FlowStatus,
    ProjectStatus,
    Role,
    Echelon,
    UnitKind,
    Relationship,
    RelationshipStatus,
    UnitTaskStatus,
    Priority,
    ReportKind,
    CasualtyCategory,
    Supply,
    NotificationKind,
    NotificationStatus,
    SiteType,
    MovementType,
    CargoCategory,
    AdvisoryKind,
)


def label(code: str) -> str:
    """How a code reads on a page: `explosive_ordnance_found` -> `Explosive ordnance found`."""
    code = str(code)
    if code in WORDS:
        return WORDS[code]
    words = [w.upper() if w in ACRONYMS else w for w in code.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=1)
def table() -> dict[str, str]:
    """Every known code (and the field names in WORDS) with its words, for the pages' scripts."""
    out = {str(member.value): label(str(member.value)) for enum in CODED for member in enum}
    out.update({str(k): v for k, v in WORDS.items()})
    return out


def incident_ref(incident_id: int) -> str:
    """An incident's readable reference, the same on every page: `INC-12`."""
    return f"INC-{incident_id}"
