"""Small helpers every service uses to apply an update to a record."""

from __future__ import annotations

from typing import Any

from cmcc.core.errors import VersionConflict


def check_version(record: Any, version: int) -> None:
    if record.version != version:
        raise VersionConflict(
            f"you sent version {version} but the record is at version {record.version}; "
            "reload it and apply your change again"
        )


def apply_changes(record: Any, changes: dict[str, Any]) -> None:
    """Set only the attributes whose value differs (so the audit log shows real changes)."""
    for key, value in changes.items():
        if getattr(record, key) != value:
            setattr(record, key, value)
