"""ISO code look-ups (ISO 3166-1 alpha-3 nations, ISO 4217 currencies) from pycountry."""

from __future__ import annotations

import pycountry

USER_ASSIGNED_NATIONS = frozenset({"XKX"})  # Kosovo: not in ISO 3166, used by the UN and EU


def is_nation_code(code: str) -> bool:
    return code in USER_ASSIGNED_NATIONS or (
        len(code) == 3 and pycountry.countries.get(alpha_3=code) is not None
    )


def is_currency_code(code: str) -> bool:
    return len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None
