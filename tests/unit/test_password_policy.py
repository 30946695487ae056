"""The password policy: what it refuses and why, and what it lets through."""

from __future__ import annotations

import pytest

from cmcc.access.passwords import MAX_LENGTH, common_passwords, refusal


def test_the_shipped_list_holds_the_common_passwords() -> None:
    common = common_passwords()
    assert len(common) == 30_000
    assert {"123456", "password", "qwerty", "1qaz2wsx3edc4rfv"} <= common
    assert not any(w.startswith("#") for w in common)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("fourteen chars", "at least 15 characters (it has 14)"),
        ("y" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH}"),
        ("1qaz2wsx3edc4rfv", "too common"),
        ("QWERTYUIOP123456789", "too common"),  # qwertyuiop, digits after
        ("!!Sunshine2026!!", "too common"),
        ("aaaaaaaaaaaaaaaaaaaa", "too easy"),
        ("abc1abc1abc1abc1", "too easy"),
        ("abcdefghijklmnopq", "too easy"),
        ("9876543210987654321"[:15], "too easy"),
        ("hello Amira.Haddad, my friend", "user name"),
    ],
)
def test_refused(password: str, reason: str) -> None:
    why = refusal(password, "amira.haddad", 15)
    assert why is not None and reason in why


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "a calm sea at dawn", "Rafah-crossing-at-0600", "x7#Lq9!mZ2@vR4pK"],
)
def test_accepted(password: str) -> None:
    assert refusal(password, "amira.haddad", 15) is None


def test_the_minimum_follows_the_setting() -> None:
    assert refusal("tide pools!", "u", 10) is None
    assert refusal("tide pools!", "u", 12) is not None
