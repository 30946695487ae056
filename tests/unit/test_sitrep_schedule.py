"""The SITREP schedule's decision: which (day, organization) reports are due now."""

from __future__ import annotations

import datetime as dt

import pytest

from cmcc.command.sitrep_schedule import due, parse_time

SIX = dt.time(6, 0)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_nothing_before_the_time_of_day() -> None:
    assert due(utc("2026-03-02T05:59"), SIX, ["IDN"], set()) == (dt.date(2026, 3, 1), [])


def test_yesterday_for_each_organization_from_the_time_on() -> None:
    for now in ("2026-03-02T06:00", "2026-03-02T23:59"):
        assert due(utc(now), SIX, ["IDN", "AZE"], set()) == (dt.date(2026, 3, 1), ["IDN", "AZE"])


def test_never_twice_for_a_day_and_audience() -> None:
    assert due(utc("2026-03-02T07:00"), SIX, ["IDN", "AZE", "IDN"], {"IDN"}) == (
        dt.date(2026, 3, 1),
        ["AZE"],
    )
    assert due(utc("2026-03-02T07:00"), SIX, ["IDN"], {"IDN"})[1] == []


def test_off_without_a_time() -> None:
    assert due(utc("2026-03-02T12:00"), None, ["IDN"], set())[1] == []


def test_the_day_is_the_utc_day_before() -> None:
    local = dt.datetime(
        2026, 3, 2, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=3))
    )  # 22:30 UTC on 1 March
    assert due(local, SIX, ["IDN"], set()) == (dt.date(2026, 2, 28), ["IDN"])
    assert due(utc("2026-01-01T06:00"), SIX, ["IDN"], set())[0] == dt.date(2025, 12, 31)


@pytest.mark.parametrize("text", ["6", "24:00", "06:60", "six", "06:00:00"])
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_time(text)


def test_good_times() -> None:
    assert parse_time(" 06:05 ") == dt.time(6, 5)


def test_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from cmcc.config import Settings

    monkeypatch.setenv("CMCC_SITREP_TIME", "06:00")
    monkeypatch.setenv("CMCC_SITREP_ORGS", "idn, AZE,")
    settings = Settings()
    assert settings.sitrep_time == "06:00" and settings.sitrep_orgs == ("IDN", "AZE")
    monkeypatch.setenv("CMCC_SITREP_TIME", "25:00")
    with pytest.raises(ValidationError, match="sitrep_time"):
        Settings()
    monkeypatch.delenv("CMCC_SITREP_TIME")
    monkeypatch.delenv("CMCC_SITREP_ORGS")
    assert Settings().sitrep_time is None and Settings().sitrep_orgs == ()
