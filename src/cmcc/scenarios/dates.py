"""Dates of illustrative records, given relative to the day a scenario is loaded.

A sourced record keeps the date its source reports. A record invented for the demo
(`illustrative = true`) may instead give a date as an offset from the load day, written like an
exercise planner's D-day: `"D-3"` is three days before the day of the load (UTC), `"D+30"`
thirty days after it, `"D+0"` the day itself, and `"D-3 21:40"` 21:40 UTC three days before.
The loader turns each into an ISO date or date and time before the record is checked, so the
demo's picture is as recent as the day it was loaded. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from cmcc.core.errors import InvalidInput

# D, a sign and a number of days (always: a lone "D" is a NATO grade), then a time, optionally.
RELATIVE = re.compile(r"^D([+-])(\d{1,5})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?Z?)?$")


def is_relative(value: Any) -> bool:
    return isinstance(value, str) and RELATIVE.match(value.strip()) is not None


def resolve_value(value: str, day: dt.date) -> str | None:
    """The ISO date (or date and time, UTC) that `value` names; None when it is not of the
    form `D±N [HH:MM[:SS]]` or names no real time."""
    match = RELATIVE.match(value.strip())
    if match is None:
        return None
    sign, days, hour, minute, second = match.groups()
    offset = int(days) * (-1 if sign == "-" else 1)
    try:
        date = day + dt.timedelta(days=offset)
        if hour is None:
            return date.isoformat()
        moment = dt.datetime.combine(
            date, dt.time(int(hour), int(minute), int(second or 0)), tzinfo=dt.UTC
        )
    except (ValueError, OverflowError):
        return None
    return moment.isoformat().replace("+00:00", "Z")


def resolve_record(record: dict[str, Any], day: dt.date, where: str) -> dict[str, Any]:
    """The record with each top-level relative date replaced by the date it names. Only an
    illustrative record may move with the load day: a sourced one keeps its reported dates."""
    moved = {key for key, value in record.items() if is_relative(value)}
    if not moved:
        return record
    out = dict(record)
    for key in sorted(moved):
        if not record.get("illustrative"):
            raise InvalidInput.field(
                f"{where}.{key}",
                "a date relative to the load day (D-3) is for illustrative records only: "
                "a sourced record keeps the date its source reports",
            )
        resolved = resolve_value(record[key], day)
        if resolved is None:
            raise InvalidInput.field(f"{where}.{key}", f"{record[key]!r} names no real date")
        out[key] = resolved
    return out
