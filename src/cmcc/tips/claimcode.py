"""Claim codes: 20 random digits, shown once, stored only as a peppered Argon2id hash.

The first 6 digits are a locator, stored in clear, that finds the tip without scanning every
hash; alone it opens nothing. The other 14 digits are secret (log2(10^14) = 46.5 bits, and the
whole code 66.4 bits). The stored hash is Argon2id over HMAC-SHA-256(pepper, all 20 digits);
the pepper is derived from the platform's secret key, so a copy of the database alone does not
allow an offline search of the codes. Changing CMCC_SECRET_KEY makes every claim code invalid.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cmcc.core.errors import InvalidInput

LOCATOR_DIGITS = 6
SECRET_DIGITS = 14
DIGITS = LOCATOR_DIGITS + SECRET_DIGITS
PEPPER_LABEL = b"cmcc/tips/claim-code-pepper/v1"

# Argon2id at the OWASP minimum (19 MiB, 2 passes): the codes are random, and a lighter hash
# keeps the public status check from being a memory exhaustion lever.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def new_code() -> str:
    """Twenty digits from the operating system's CSPRNG."""
    return "".join(str(secrets.randbelow(10)) for _ in range(DIGITS))


def grouped(code: str) -> str:
    """`48210937551200467713` -> `4821 0937 5512 0046 7713`, for reading aloud."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize(text: str, field: str = "body.code") -> str:
    """The digits of a typed code: spaces and dashes ignored, Arabic-Indic digits accepted."""
    digits = []
    for char in text:
        if char in " -\u00a0\t":
            continue
        value = unicodedata.digit(char, None)
        if value is None:
            raise InvalidInput.field(field, "a claim code has digits only")
        digits.append(str(value))
    if len(digits) != DIGITS:
        raise InvalidInput.field(field, f"a claim code has {DIGITS} digits")
    return "".join(digits)


def locator(code: str) -> str:
    return code[:LOCATOR_DIGITS]


def pepper(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), PEPPER_LABEL, hashlib.sha256).digest()


def _peppered(code: str, secret_key: str) -> str:
    return hmac.new(pepper(secret_key), code.encode(), hashlib.sha256).hexdigest()


def hash_code(code: str, secret_key: str) -> str:
    return _hasher.hash(_peppered(code, secret_key))


_DUMMY = _hasher.hash("no tip has this code")


def verify_code(stored: str | None, code: str, secret_key: str) -> bool:
    """Constant work whether or not a tip was found: an unknown locator is checked against a
    dummy hash, so a wrong code and an unknown code take the same time."""
    try:
        return _hasher.verify(stored or _DUMMY, _peppered(code, secret_key)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
