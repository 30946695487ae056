"""Why a backup or a restore was refused: one clear sentence each, and nothing half-written."""

from __future__ import annotations

from cmcc.core.errors import Conflict, DomainError


class BackupError(DomainError):
    """The backup file, the database or a tool it needs is not as expected."""

    code = "backup-refused"
    title = "Backup or restore refused"


class TargetNotEmpty(Conflict):
    """The configured database holds data that a restore would replace (use --force)."""

    code = "restore-target-not-empty"
    title = "The database is not empty"
