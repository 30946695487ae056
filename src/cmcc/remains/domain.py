"""Search for remains: the task workflow, the EOD escort rule, identification and handover.

A search task (a place, or a sector of a grid) moves
not started -> assigned -> in progress -> completed, or to not possible (with a reason) from
any open step. A task whose ground touches an open explosive ordnance hazard area does not
start without an EOD escort. Identification follows INTERPOL DVI: visual recognition is
preliminary only; a confirmed identification rests on a primary identifier (fingerprints,
dental, DNA). Remains go to a family only once their identification is confirmed.
"""

from __future__ import annotations

from enum import StrEnum

from cmcc.access.domain import Permission, Principal, Role
from cmcc.core.errors import Conflict, InvalidInput, TransitionRefused

MAX_SECTORS = 2500  # one grid cut makes at most this many search tasks


class TaskStatus(StrEnum):
    NOT_STARTED = "not_started"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NOT_POSSIBLE = "not_possible"


NEXT: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.NOT_STARTED: frozenset(
        {TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS, TaskStatus.NOT_POSSIBLE}
    ),
    TaskStatus.ASSIGNED: frozenset(
        {TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS, TaskStatus.NOT_POSSIBLE}
    ),
    TaskStatus.IN_PROGRESS: frozenset(
        {TaskStatus.ASSIGNED, TaskStatus.COMPLETED, TaskStatus.NOT_POSSIBLE}
    ),
    # Re-opened when new information comes (a tip, more remains under the rubble).
    TaskStatus.COMPLETED: frozenset({TaskStatus.IN_PROGRESS}),
    TaskStatus.NOT_POSSIBLE: frozenset({TaskStatus.NOT_STARTED, TaskStatus.ASSIGNED}),
}

# A recovery is recorded against a task only once the search has started.
RECOVERY_STATUSES = frozenset({TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED})


def check_step(current: TaskStatus, target: TaskStatus, *, note: str, team: str) -> None:
    """Refuse a step the workflow does not allow; `not_possible` needs its reason, `assigned`
    a team."""
    if target not in NEXT[current]:
        allowed = ", ".join(sorted(NEXT[current]))
        raise TransitionRefused(
            f"{current.value} -> {target.value} is not a step of the search; from "
            f"{current.value} the next step is {allowed}"
        )
    if target is TaskStatus.NOT_POSSIBLE and not note.strip():
        raise InvalidInput.field(
            "body.note", "not_possible needs the reason the search cannot go on"
        )
    if target in (TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS) and not team.strip():
        raise InvalidInput.field("body.team", f"a task is {target.value} only with a team")


def check_escort(hazard_refs: list[str], unreleased: int, eod_escort: str | None) -> None:
    """A search over open hazard areas starts only with an EOD escort recorded. `hazard_refs`
    are the hazards the caller may see; `unreleased` counts the others (named, not shown)."""
    if not hazard_refs and not unreleased:
        return
    if eod_escort and eod_escort.strip():
        return
    named = ", ".join(hazard_refs)
    if unreleased:
        more = f"{unreleased} hazard area(s) not released to you"
        named = f"{named} and {more}" if named else more
    raise TransitionRefused(
        f"the task's ground touches open hazard areas ({named}); record an EOD escort "
        "(eod_escort) before the search starts"
    )


def check_recovery_on(status: TaskStatus) -> None:
    if status not in RECOVERY_STATUSES:
        raise Conflict(
            f"the search task is {status.value}: recoveries are recorded on a task in progress "
            "or completed; start the task first"
        )


class IdentificationStatus(StrEnum):
    PRELIMINARY = "preliminary"
    CONFIRMED = "confirmed"


class IdentificationMethod(StrEnum):
    VISUAL = "visual"
    FINGERPRINTS = "fingerprints"
    DENTAL = "dental"
    DNA = "dna"


PRIMARY_IDENTIFIERS = frozenset(
    {IdentificationMethod.FINGERPRINTS, IdentificationMethod.DENTAL, IdentificationMethod.DNA}
)


class HandoverTo(StrEnum):
    FAMILY = "family"
    AUTHORITY = "authority"


def identification_problem(
    status: str | None, method: str | None, handover_to: str | None
) -> tuple[str, str] | None:
    """(field, reason) when the identification and handover do not hold together."""
    if status is not None and method is None:
        return "identification_method", "an identification status needs its method"
    if status is None and method is not None:
        return "identification_status", "a method is given without an identification status"
    if (
        status == IdentificationStatus.CONFIRMED
        and method is not None
        and IdentificationMethod(method) not in PRIMARY_IDENTIFIERS
    ):
        return (
            "identification_method",
            "a confirmed identification rests on fingerprints, dental or DNA; visual "
            "recognition is preliminary",
        )
    if handover_to == HandoverTo.FAMILY and status != IdentificationStatus.CONFIRMED:
        return (
            "handover_to",
            "remains are handed over to a family only after confirmed identification",
        )
    return None


def sector_label(row: int, column: int) -> str:
    """`A-01`: row letter(s) from the north (A..Z, AA, AB...), column number from the west."""
    letters = ""
    n = row + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return f"{letters}-{column + 1:02d}"


def may_read_personal_data(principal: Principal, owner_org_id: int) -> bool:
    """Only a recovery officer of the organization that owns the recovery: not an admin, not
    the system operator, not another organization's recovery officer."""
    return (
        not principal.system
        and principal.role is Role.RECOVERY_OFFICER
        and principal.can(Permission.READ_PERSONAL_DATA)
        and principal.org_id is not None
        and principal.org_id == owner_org_id
    )
