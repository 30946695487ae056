"""Small helpers every service uses to apply an update to a record."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect

from cmcc.core.errors import InvalidInput, VersionConflict


def check_version(record: Any, version: int) -> None:
    if record.version != version:
        raise VersionConflict(
            f"you sent version {version} but the record is at version {record.version}; "
            "reload it and apply your change again"
        )


def apply_changes(record: Any, changes: dict[str, Any]) -> None:
    """Set only the attributes whose value differs (so the audit log shows real changes). A
    null for a column that may not be null (a `PATCH` with `"caveats": null`) is refused with
    422 on `body.<name>`, before it reaches the database or the response."""
    columns = inspect(type(record)).columns
    for key, value in changes.items():
        if value is None and key in columns and not columns[key].nullable:
            raise InvalidInput.field(f"body.{key}", "may be changed but not cleared")
    for key, value in changes.items():
        if getattr(record, key) != value:
            setattr(record, key, value)
