"""Incidents: the taxonomy (mapped to ACLED), the verification workflow, source grading.

Verification is explicit: reported -> under verification -> verified | not verified | false;
a concluded incident may be re-opened (back to under verification) when new evidence comes.
Attribution (a party, or undetermined) and a finding come with or after verification.
"""

from __future__ import annotations

from enum import StrEnum

from cmcc.core.errors import TransitionRefused


class IncidentType(StrEnum):
    CEASEFIRE_VIOLATION_FIRE = "ceasefire_violation_fire"
    CEASEFIRE_VIOLATION_INCURSION = "ceasefire_violation_incursion"
    CEASEFIRE_VIOLATION_AIRSTRIKE = "ceasefire_violation_airstrike"
    CEASEFIRE_VIOLATION_ROCKET = "ceasefire_violation_rocket"
    VIOLENCE_AGAINST_CIVILIANS = "violence_against_civilians"
    EXPLOSIVE_ORDNANCE_FOUND = "explosive_ordnance_found"
    EXPLOSIVE_ORDNANCE_DETONATION = "explosive_ordnance_detonation"
    DEMONSTRATION = "demonstration"
    UNREST = "unrest"
    AID_OBSTRUCTION = "aid_obstruction"
    AID_LOOTING = "aid_looting"
    CONTROL_LINE_CROSSING = "control_line_crossing"
    CROSSING_STATUS_CHANGE = "crossing_status_change"
    HUMANITARIAN_ACCESS_INCIDENT = "humanitarian_access_incident"
    OTHER = "other"


# How each type reads in the users' words: in alerts, and on every page (cmcc.web.words).
TYPE_LABELS: dict[IncidentType, str] = {
    IncidentType.CEASEFIRE_VIOLATION_FIRE: "Ceasefire violation: fire",
    IncidentType.CEASEFIRE_VIOLATION_INCURSION: "Ceasefire violation: incursion",
    IncidentType.CEASEFIRE_VIOLATION_AIRSTRIKE: "Ceasefire violation: airstrike",
    IncidentType.CEASEFIRE_VIOLATION_ROCKET: "Ceasefire violation: rocket fire",
    IncidentType.VIOLENCE_AGAINST_CIVILIANS: "Violence against civilians",
    IncidentType.EXPLOSIVE_ORDNANCE_FOUND: "Explosive ordnance found",
    IncidentType.EXPLOSIVE_ORDNANCE_DETONATION: "Explosive ordnance detonation",
    IncidentType.DEMONSTRATION: "Demonstration",
    IncidentType.UNREST: "Unrest",
    IncidentType.AID_OBSTRUCTION: "Aid obstruction",
    IncidentType.AID_LOOTING: "Aid looting",
    IncidentType.CONTROL_LINE_CROSSING: "Movement across the control line",
    IncidentType.CROSSING_STATUS_CHANGE: "Crossing status change",
    IncidentType.HUMANITARIAN_ACCESS_INCIDENT: "Humanitarian access incident",
    IncidentType.OTHER: "Other incident",
}


def type_label(value: str) -> str:
    try:
        return TYPE_LABELS[IncidentType(value)]
    except ValueError:
        return value.replace("_", " ").capitalize()


def alert_message(incident_type: str, zone_title: str) -> str:
    """`Ceasefire violation: fire inside civilian safe zone "Al-Mawasi"`."""
    return f"{type_label(incident_type)} inside {zone_title}"


# ACLED event type / sub-event type for each (ACLED codebook terms).
ACLED: dict[IncidentType, tuple[str, str]] = {
    IncidentType.CEASEFIRE_VIOLATION_FIRE: ("Battles", "Armed clash"),
    IncidentType.CEASEFIRE_VIOLATION_INCURSION: (
        "Strategic developments",
        "Non-violent transfer of territory",
    ),
    IncidentType.CEASEFIRE_VIOLATION_AIRSTRIKE: ("Explosions/Remote violence", "Air/drone strike"),
    IncidentType.CEASEFIRE_VIOLATION_ROCKET: (
        "Explosions/Remote violence",
        "Shelling/artillery/missile attack",
    ),
    IncidentType.VIOLENCE_AGAINST_CIVILIANS: ("Violence against civilians", "Attack"),
    IncidentType.EXPLOSIVE_ORDNANCE_FOUND: ("Strategic developments", "Other"),
    IncidentType.EXPLOSIVE_ORDNANCE_DETONATION: (
        "Explosions/Remote violence",
        "Remote explosive/landmine/IED",
    ),
    IncidentType.DEMONSTRATION: ("Protests", "Peaceful protest"),
    IncidentType.UNREST: ("Riots", "Violent demonstration"),
    IncidentType.AID_OBSTRUCTION: ("Strategic developments", "Other"),
    IncidentType.AID_LOOTING: ("Strategic developments", "Looting/property destruction"),
    IncidentType.CONTROL_LINE_CROSSING: ("Strategic developments", "Other"),
    IncidentType.CROSSING_STATUS_CHANGE: ("Strategic developments", "Other"),
    IncidentType.HUMANITARIAN_ACCESS_INCIDENT: ("Strategic developments", "Other"),
    IncidentType.OTHER: ("Strategic developments", "Other"),
}


class VerificationStatus(StrEnum):
    REPORTED = "reported"
    UNDER_VERIFICATION = "under_verification"
    VERIFIED = "verified"
    NOT_VERIFIED = "not_verified"
    FALSE = "false"


CONCLUDED = frozenset(
    {VerificationStatus.VERIFIED, VerificationStatus.NOT_VERIFIED, VerificationStatus.FALSE}
)
NEXT: dict[VerificationStatus, frozenset[VerificationStatus]] = {
    VerificationStatus.REPORTED: frozenset({VerificationStatus.UNDER_VERIFICATION}),
    VerificationStatus.UNDER_VERIFICATION: CONCLUDED,
    VerificationStatus.VERIFIED: frozenset({VerificationStatus.UNDER_VERIFICATION}),
    VerificationStatus.NOT_VERIFIED: frozenset({VerificationStatus.UNDER_VERIFICATION}),
    VerificationStatus.FALSE: frozenset({VerificationStatus.UNDER_VERIFICATION}),
}


def check_verification_step(
    current: VerificationStatus, target: VerificationStatus, *, attribution: str | None
) -> None:
    if target not in NEXT[current]:
        allowed = ", ".join(sorted(NEXT[current]))
        raise TransitionRefused(
            f"{current.value} -> {target.value} is not a verification step; from {current.value} "
            f"the next step is {allowed}"
        )
    if attribution is not None and target is not VerificationStatus.VERIFIED:
        raise TransitionRefused("attribution is recorded only for a verified incident")


class Reliability(StrEnum):
    """NATO source reliability (A completely reliable ... F cannot be judged)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


UNDETERMINED = "undetermined"
