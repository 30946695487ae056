"""Organizations, roles and what each role may do. Pure rules."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cmcc.core.errors import Forbidden
from cmcc.core.releasability import Viewer


class OrgKind(StrEnum):
    NATION = "nation"
    ISF_HQ = "isf_hq"
    CMCC = "cmcc"
    UN_AGENCY = "un_agency"
    NGO = "ngo"
    DONOR = "donor"
    PARTY_LIAISON = "party_liaison"  # a party's liaison cell (never a member of the mission)
    OTHER = "other"


class Role(StrEnum):
    ADMIN = "admin"
    STAFF_OFFICER = "staff_officer"
    LIAISON_OFFICER = "liaison_officer"
    HUMANITARIAN_PARTNER = "humanitarian_partner"
    DONOR = "donor"
    AUDITOR = "auditor"
    MINE_ACTION_OFFICER = "mine_action_officer"  # hazards, EO spot reports, land release
    RECOVERY_OFFICER = "recovery_officer"  # search for remains; the only role that sees the
    # personal data of the missing and their families (of its own organization's records)
    TIP_OFFICER = "tip_officer"  # triage of public tips; nominates and approves rewards
    PAYOUT_OFFICER = "payout_officer"  # pays approved rewards against a claim code
    FUNDING_OFFICER = "funding_officer"  # the reconstruction plan, its projects and the flows


class Permission(StrEnum):
    MANAGE_ACCESS = "manage_access"  # organizations, users, tokens of others
    WRITE_FORCES = "write_forces"  # any force generation record the caller can see
    WRITE_OWN_FORCES = "write_own_forces"  # force records owned by the caller's organization
    FORCE_TRANSITION = "force_transition"  # skip or reverse a pipeline step
    READ_AUDIT = "read_audit"
    WRITE_ZONES = "write_zones"  # draw, move and close zones
    REPORT_INCIDENTS = "report_incidents"  # file incidents and add evidence
    VERIFY_INCIDENTS = "verify_incidents"  # the verification workflow and attribution
    MANAGE_ALERTS = "manage_alerts"  # acknowledge and close alerts
    WRITE_HAZARDS = "write_hazards"  # hazardous areas, EO spot reports, land release, accidents
    WRITE_SEARCH = "write_search"  # search tasks, sectors and recoveries
    READ_PERSONAL_DATA = "read_personal_data"  # the missing and their families (own org only)
    TRIAGE_TIPS = "triage_tips"  # the tip queue: duplicates, links, outcomes
    NOMINATE_REWARDS = "nominate_rewards"
    APPROVE_REWARDS = "approve_rewards"  # never a reward the same person nominated
    PAY_REWARDS = "pay_rewards"
    WRITE_FUNDING = "write_funding"  # plans, phases, programmes, projects, flows
    WRITE_ORBAT = "write_orbat"  # units, command relationships proposed, areas, phases
    TASK_UNITS = "task_units"  # issue and cancel tasks from a headquarters
    NATIONAL_COMMAND = "national_command"  # for the own nation's units: agree relationships,
    # refuse a task (red card), file unit reports
    ISSUE_SITREPS = "issue_sitreps"  # generate and archive the daily situation report
    NOTIFY_HUMANITARIAN = "notify_humanitarian"  # notify sites and movements, log access
    # constraints (the own organization's)
    COORDINATE_HUMANITARIAN = "coordinate_humanitarian"  # acknowledge and share notifications;
    # crossings, aid flow figures and targets; access constraints of any partner
    ENROLL_DEVICES = "enroll_devices"  # TAK devices of the own organization: certificates
    # (enrollment with the user's name and password) and connection packages


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Administrators manage everything except what only the recovery role may see.
    Role.ADMIN: frozenset(Permission) - {Permission.READ_PERSONAL_DATA},
    Role.STAFF_OFFICER: frozenset(
        {
            Permission.WRITE_FORCES,
            Permission.WRITE_OWN_FORCES,
            Permission.WRITE_ZONES,
            Permission.REPORT_INCIDENTS,
            Permission.VERIFY_INCIDENTS,
            Permission.MANAGE_ALERTS,
            Permission.WRITE_HAZARDS,
            Permission.WRITE_SEARCH,
            Permission.TRIAGE_TIPS,
            Permission.WRITE_ORBAT,
            Permission.TASK_UNITS,
            Permission.ISSUE_SITREPS,
            Permission.COORDINATE_HUMANITARIAN,
            Permission.ENROLL_DEVICES,
        }
    ),
    Role.LIAISON_OFFICER: frozenset(
        {
            Permission.WRITE_OWN_FORCES,
            Permission.REPORT_INCIDENTS,
            Permission.NATIONAL_COMMAND,
            Permission.ISSUE_SITREPS,
            Permission.ENROLL_DEVICES,
        }
    ),
    Role.HUMANITARIAN_PARTNER: frozenset(
        {Permission.REPORT_INCIDENTS, Permission.NOTIFY_HUMANITARIAN}
    ),
    Role.DONOR: frozenset(),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT}),
    Role.MINE_ACTION_OFFICER: frozenset({Permission.WRITE_HAZARDS, Permission.REPORT_INCIDENTS}),
    Role.RECOVERY_OFFICER: frozenset(
        {Permission.WRITE_SEARCH, Permission.READ_PERSONAL_DATA, Permission.TRIAGE_TIPS}
    ),
    Role.TIP_OFFICER: frozenset(
        {Permission.TRIAGE_TIPS, Permission.NOMINATE_REWARDS, Permission.APPROVE_REWARDS}
    ),
    Role.PAYOUT_OFFICER: frozenset({Permission.PAY_REWARDS}),
    Role.FUNDING_OFFICER: frozenset({Permission.WRITE_FUNDING}),
}


class SessionLimit(StrEnum):
    """What a signed-in user must do before the session may do anything else."""

    CHANGE_PASSWORD = "change_password"  # noqa: S105 - after an administrator's reset
    ENROL_TOTP = "enrol_totp"  # the user's role needs a second factor (CMCC_TOTP_ROLES)

    @property
    def detail(self) -> str:
        if self is SessionLimit.CHANGE_PASSWORD:
            return (
                "your password was reset: change it first (POST /api/v1/account/password, "
                "or the page /account/password)"
            )
        return (
            "your role needs a second factor: enrol an authenticator app first "
            "(POST /api/v1/account/totp, or the page /account)"
        )


class SessionLimited(Forbidden):
    """A session that must change its password or enrol a second factor asked for more."""

    title = "Your account needs an action first"

    def __init__(self, limit: SessionLimit) -> None:
        super().__init__(limit.detail)
        self.code = limit.value.replace("_", "-") + "-first"
        self.limit = limit


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user of one organization with one role."""

    user_id: int | None
    username: str
    org_id: int | None
    org_code: str | None
    org_is_member: bool
    role: Role | None
    system: bool = False  # the local operator at the CLI (scenario loading, init)
    limited_to: SessionLimit | None = None  # the session may only do this (and /auth/me)
    token_id: int | None = None  # the token the caller signed in with

    @classmethod
    def system_operator(cls, org_id: int | None = None, org_code: str | None = None) -> Principal:
        return cls(None, "system", org_id, org_code, True, Role.ADMIN, system=True)

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(None, "anonymous", None, None, False, None)

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.org_id, self.org_code, self.org_is_member, sees_all=self.system)

    def can(self, permission: Permission) -> bool:
        return self.system or (self.role is not None and permission in ROLE_PERMISSIONS[self.role])

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.username}@{self.org_code}" if self.org_code else self.username


def require(principal: Principal, *permissions: Permission) -> None:
    """The caller's role has one of the permissions, or 403. Services call it before they look
    up the record a write names, so that a role that may not make that kind of change at all
    gets 403 whether the record exists or not (and a hidden record stays a 404 for the rest)."""
    if not any(principal.can(p) for p in permissions):
        names = " or ".join(p.value for p in permissions)
        raise Forbidden(f"the role {principal.role or 'anonymous'} may not {names}")


def require_write(
    principal: Principal, owner_org_id: int, any_record: Permission, own_record: Permission
) -> None:
    """Writers with `any_record` may change every record they can see; writers with
    `own_record` only the records their organization owns."""
    if principal.can(any_record):
        return
    if principal.can(own_record) and owner_org_id == principal.org_id:
        return
    raise Forbidden("your organization does not own this record, and your role may not change it")
