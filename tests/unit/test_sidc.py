"""Symbol codes between 2525C letters, 2525D digits (ORBAT Mapper) and CoT types (TAK), and
which CoT type a linked device's positions are relayed with."""

from __future__ import annotations

import pytest

from cmcc.command.domain import Echelon, UnitKind, default_sidc
from cmcc.command.sidc import (
    cot_type,
    letter_to_number,
    number_echelon,
    number_is_headquarters,
    number_to_letter,
)
from cmcc.cot.units import UnitSymbol, relayed_type


@pytest.mark.parametrize("kind", list(UnitKind))
@pytest.mark.parametrize("echelon", list(Echelon))
@pytest.mark.parametrize(
    "capability",
    [
        None,
        "infantry_battalion",
        "engineers",
        "explosive_ordnance_disposal",
        "military_police",
        "logistics",
        "aviation",
        "formed_police_unit",
    ],
)
def test_every_default_sidc_goes_to_2525d_and_back(
    kind: UnitKind, echelon: Echelon, capability: str | None
) -> None:
    letters = default_sidc(kind, echelon, capability)
    digits = letter_to_number(letters)
    assert digits is not None and len(digits) == 20 and digits.startswith("10031000"[:4])
    assert number_to_letter(digits) == letters
    assert number_is_headquarters(digits) == (kind is UnitKind.HEADQUARTERS)
    assert number_echelon(digits) == letters[11]


def test_known_codes() -> None:
    assert letter_to_number("SFGPUCI----F---") == "10031000161211000000"
    assert letter_to_number("SHGPUCI----F---") == "10061000161211000000"  # hostile
    assert number_to_letter("10031002181100000000") == "SFGPUH----AH---"
    assert letter_to_number("SFAPMF---------") is None  # an aircraft: not a ground unit
    assert number_to_letter("10033000001204020000") is None  # a sea surface code
    assert number_echelon("10033000001204020000") is None
    # 2525D has one medical entity for 2525C's medical unit and treatment facility: the way
    # back gives the unit (an ORBAT Mapper export keeps the original in its `cmcc` object)
    assert letter_to_number("SFGPUSMT---E---") == letter_to_number("SFGPUSM----E---")
    assert number_to_letter(letter_to_number("SFGPUSMT---E---") or "") == "SFGPUSM----E---"


def test_cot_types() -> None:
    assert cot_type("SFGPUCI---") == "a-f-G-U-C-I"
    assert cot_type("SFGPUCI----F---") == "a-f-G-U-C-I"
    assert cot_type("10031000161211000000") == "a-f-G-U-C-I"
    assert cot_type("SFGPUH----AH---") == "a-f-G-U-H"
    assert cot_type("SFGPU----------") == "a-f-G-U"
    assert cot_type("SHGPUCE----E---") == "a-h-G-U-C-E"
    assert cot_type("nonsense") is None


def _symbol(marking: str) -> UnitSymbol:
    return UnitSymbol(1, 1, "Bn", "BN", "SFGPUCI----F---", "a-f-G-U-C-I", marking)


def test_the_units_type_is_relayed_only_where_every_receiver_may_see_the_unit() -> None:
    assert relayed_type(_symbol("public"), relay_open=True) == "a-f-G-U-C-I"
    assert relayed_type(_symbol("mission"), relay_open=False) == "a-f-G-U-C-I"
    assert relayed_type(_symbol("mission"), relay_open=True) is None
    assert relayed_type(_symbol("rel"), relay_open=False) is None
    assert relayed_type(_symbol("owner"), relay_open=False) is None
    assert relayed_type(None, relay_open=False) is None
