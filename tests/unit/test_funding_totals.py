"""The split of a pledge's or commitment's outstanding part into terms per set of markings of
its converting flows: for every set of markings a caller may see, the terms within it add up to
the floored remainder of the totals rule."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from cmcc.funding.domain import conversion_terms

MARKINGS = ("mission", "owner", "rel:QAT", "public")


@settings(deadline=None)  # microseconds each, but one stall of a loaded machine is 200 ms
@given(
    amount=st.integers(0, 10_000),
    converted=st.dictionaries(st.sampled_from(MARKINGS), st.integers(0, 8_000)),
)
def test_terms_add_up_to_the_floored_remainder_for_every_caller(
    amount: int, converted: dict[str, int]
) -> None:
    terms = conversion_terms(amount, converted)
    for n in range(len(MARKINGS) + 1):
        for seen in map(frozenset, itertools.combinations(MARKINGS, n)):
            want = max(0, amount - sum(c for m, c in converted.items() if m in seen))
            assert sum(v for k, v in terms.items() if k <= seen) == want


def test_conversions_within_the_amount_take_off_one_marking_each() -> None:
    assert conversion_terms(100, {"mission": 30, "owner": 50}) == {
        frozenset(): 100,
        frozenset({"mission"}): -30,
        frozenset({"owner"}): -50,
    }


def test_conversions_beyond_the_amount_are_floored_per_caller() -> None:
    terms = conversion_terms(100, {"mission": 70, "owner": 60})
    assert terms == {
        frozenset(): 100,
        frozenset({"mission"}): -70,
        frozenset({"owner"}): -60,
        frozenset({"mission", "owner"}): 30,  # both seen: 100 - 130 floored at 0
    }
