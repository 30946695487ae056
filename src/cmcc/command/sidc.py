"""Symbol codes between the forms other tools speak: the 15-character MIL-STD-2525C letter SIDC
the platform keeps (milsymbol draws it), the 20-digit 2525D / APP-6D SIDC of ORBAT Mapper, and
the Cursor-on-Target type of TAK (`a-f-G-U-C-I`). Pure: no I/O.

The letter <-> number table covers the functions of the platform's own vocabulary (its
capabilities and headquarters, `CAPABILITY_FUNCTION`), after the JMSML mapping that ORBAT
Mapper's converter uses; a code outside it is passed through unchanged (milsymbol draws both
forms)."""

from __future__ import annotations

import re

# 2525C ground unit function (positions 5-10) -> 2525D land unit entity + modifiers (10 digits).
FUNCTION_2525D: dict[str, str] = {
    "U-----": "0000000000",  # a unit, function not given
    "UH----": "1100000000",  # command and control (a headquarters element)
    "UCI---": "1211000000",  # infantry
    "UCE---": "1407000000",  # engineer
    "UCEN--": "1407001200",  # engineer (the 2525C naval-construction code the EOD pledges use)
    "UUE---": "1408000000",  # explosive ordnance disposal
    "USM---": "1613000000",  # medical
    "USMT--": "1613000000",  # medical treatment facility
    "UULM--": "1412000000",  # military police
    "UULC--": "2007000000",  # civilian law enforcement
    "USS---": "1634000000",  # supply
    "UCV---": "1206000000",  # aviation (rotary wing)
}
ENTITY_2525C = {v: k for k, v in reversed(FUNCTION_2525D.items())}  # first listed wins

IDENTITY = {"P": "0", "U": "1", "A": "2", "F": "3", "N": "4", "S": "5", "H": "6"}
IDENTITY_LETTER = {v: k for k, v in IDENTITY.items()}
STATUS = {"P": "0", "A": "1"}
STATUS_LETTER = {v: k for k, v in STATUS.items()}
# 2525C echelon letter (position 12) -> 2525D amplifier digits (positions 9-10).
ECHELON = {
    "-": "00",
    "A": "11",
    "B": "12",
    "C": "13",
    "D": "14",
    "E": "15",
    "F": "16",
    "G": "17",
    "H": "18",
    "I": "21",
    "J": "22",
}
ECHELON_LETTER = {v: k for k, v in ECHELON.items()}
# 2525C position 11 (HQ, task force, feint/dummy) -> 2525D position 8.
HQ_TF = {"-": "0", "A": "2", "B": "6", "C": "3", "D": "7", "E": "4", "F": "1", "G": "5"}
HQ_TF_LETTER = {v: k for k, v in HQ_TF.items()}

LETTER_SIDC = re.compile(r"^S[A-Z]G[A-Z][A-Z0-9-]{6}[A-Z-][A-Z-]")
NUMBER_SIDC = re.compile(r"^\d{20}(\d{10})?$")


def letter_to_number(sidc: str) -> str | None:
    """The 2525D code of a 2525C ground unit SIDC of the platform's vocabulary; None when it
    does not map (not a ground unit, or a function outside the table)."""
    code = sidc.upper().replace("*", "-")
    if not LETTER_SIDC.match(code):
        return None
    entity = FUNCTION_2525D.get(code[4:10])
    identity, status = IDENTITY.get(code[1]), STATUS.get(code[3])
    hq, echelon = HQ_TF.get(code[10]), ECHELON.get(code[11])
    if None in (entity, identity, status, hq, echelon):
        return None
    return f"100{identity}10{status}{hq}{echelon}{entity}"


def number_to_letter(sidc: str) -> str | None:
    """The 2525C letter SIDC (15 characters, as `default_sidc` writes it) of a 2525D land unit
    code in the table; None otherwise."""
    if not NUMBER_SIDC.match(sidc) or sidc[4:6] != "10":
        return None
    function = ENTITY_2525C.get(sidc[10:20])
    identity, status = IDENTITY_LETTER.get(sidc[3]), STATUS_LETTER.get(sidc[6])
    hq, echelon = HQ_TF_LETTER.get(sidc[7]), ECHELON_LETTER.get(sidc[8:10])
    if None in (function, identity, status, hq, echelon):
        return None
    return f"S{identity}G{status}{function}{hq}{echelon}---"


def number_echelon(sidc: str) -> str | None:
    """The 2525C echelon letter a 2525D code carries (None: no echelon amplifier)."""
    if not NUMBER_SIDC.match(sidc):
        return None
    letter = ECHELON_LETTER.get(sidc[8:10])
    return None if letter in (None, "-") else letter


def number_is_headquarters(sidc: str) -> bool:
    return bool(NUMBER_SIDC.match(sidc)) and sidc[7] in ("2", "3", "6", "7")


def cot_type(sidc: str) -> str | None:
    """The CoT type of a 2525C SIDC: `a-<affiliation>-<dimension>-<function atoms>`, the
    function's trailing dashes dropped (SFGPUCI--- -> a-f-G-U-C-I); a 2525D code is converted
    first. None when the code is neither."""
    code = sidc.upper().replace("*", "-")
    if NUMBER_SIDC.match(code):
        code = number_to_letter(code) or ""
    if len(code) < 10 or code[0] != "S" or not code[1].isalpha() or not code[2].isalpha():
        return None
    function = code[4:10].rstrip("-")
    atoms = ["a", code[1].lower(), code[2]] + [c for c in function if c != "-"]
    return "-".join(atoms)
