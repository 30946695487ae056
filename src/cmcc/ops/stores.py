"""What a backup and a restore ask of the database.

Each backend answers its own way (`cmcc.ops.sqlite_store`, `cmcc.ops.postgres_store`); the
orchestration in `cmcc.ops.backup`, which picks the store for the URL, is the same for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cmcc.ops.archive import Manifest, Snapshot


@dataclass(frozen=True)
class Contents:
    """What the configured database already holds: its tables, and when they are CMCC's, the
    schema revision and the number of audit entries."""

    tables: tuple[str, ...]
    schema_revision: str | None = None
    audit_entries: int | None = None

    @property
    def empty(self) -> bool:
        return not self.tables

    def describe(self) -> str:
        parts = [f"{len(self.tables)} tables"]
        if self.schema_revision:
            parts.append(f"schema revision {self.schema_revision}")
        if self.audit_entries is not None:
            parts.append(f"{self.audit_entries} audit entries")
        return ", ".join(parts)


class Store(Protocol):
    backend: str
    label: str  # the database, for messages (no password)
    scratch: Path | None  # where a restore unpacks the copy (None: the system's temp folder)

    def dump(self, folder: Path) -> tuple[Path, Snapshot]:
        """A consistent copy of the running database, written into `folder`."""
        ...

    def validate(self, payload: Path, manifest: Manifest, source: Path) -> None:
        """Refuse a copy (from the backup `source`) this backend cannot restore, before
        anything is touched."""
        ...

    def contents(self) -> Contents: ...

    def replace(self, payload: Path) -> None:
        """Put the copy in place of the database: whole, or leave the database as it was."""
        ...
