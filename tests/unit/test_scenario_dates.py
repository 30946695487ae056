"""Dates relative to the load day (`D-3 21:40`) in illustrative scenario records."""

from __future__ import annotations

import datetime as dt

import pytest

from cmcc.core.errors import InvalidInput
from cmcc.scenarios.dates import is_relative, resolve_record, resolve_value

DAY = dt.date(2026, 12, 5)


@pytest.mark.parametrize(
    ("text", "resolved"),
    [
        ("D-3", "2026-12-02"),
        ("D+30", "2027-01-04"),
        ("D+0", "2026-12-05"),
        ("D-9 21:40", "2026-11-26T21:40:00Z"),
        ("D-1T03:10:30Z", "2026-12-04T03:10:30Z"),
    ],
)
def test_offsets_from_the_load_day(text: str, resolved: str) -> None:
    assert is_relative(text)
    assert resolve_value(text, DAY) == resolved


@pytest.mark.parametrize("text", ["D", "2026-03-02", "D-x", "d-3", "D-3 25:00x", "Deir al-Balah"])
def test_other_values_are_left_alone(text: str) -> None:
    assert not is_relative(text) or resolve_value(text, DAY) is None
    assert resolve_record({"illustrative": True, "x": text}, DAY, "f.toml[0]")["x"] in (text,)


def test_a_lone_d_is_a_grade_not_a_date() -> None:
    record = {"source_reliability": "D", "occurred_at": "D-2 10:00", "illustrative": True}
    out = resolve_record(record, DAY, "incidents.toml[0]")
    assert out == {**record, "occurred_at": "2026-12-03T10:00:00Z"}


def test_a_sourced_record_keeps_its_dates() -> None:
    with pytest.raises(InvalidInput) as refused:
        resolve_record({"decision_date": "D-10", "source": "Reuters"}, DAY, "funding.toml flows[2]")
    assert "funding.toml flows[2].decision_date" in refused.value.detail
    assert "illustrative records only" in refused.value.detail


def test_a_time_that_does_not_exist_is_refused() -> None:
    with pytest.raises(InvalidInput, match="names no real date"):
        resolve_record({"found_at": "D-1 24:00", "illustrative": True}, DAY, "hazards.toml")
