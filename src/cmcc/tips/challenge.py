"""Proof of work for the public routes: abuse control that needs no identity.

The server issues a stateless challenge `<nonce>.<expires>.<bits>.<signature>` (HMAC-SHA-256
under a key derived from the secret key). The client finds a counter (decimal digits) such that
SHA-256(challenge + counter) starts with `bits` zero bits, and sends both. The server checks the
signature, the expiry and the work; the used challenge's hash is stored until it expires, so a
challenge serves once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cmcc.core.errors import Conflict, InvalidInput

KEY_LABEL = b"cmcc/tips/proof-of-work/v1"
MAX_COUNTER = 20  # digits


@dataclass(frozen=True)
class Challenge:
    token: str
    bits: int
    expires_at: dt.datetime


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), KEY_LABEL, hashlib.sha256).digest()


def _sign(payload: str, secret_key: str) -> str:
    return hmac.new(_key(secret_key), payload.encode(), hashlib.sha256).hexdigest()[:32]


def issue(secret_key: str, bits: int, ttl: dt.timedelta, now: dt.datetime) -> Challenge:
    expires = now + ttl
    payload = f"{secrets.token_hex(16)}.{int(expires.timestamp())}.{bits}"
    return Challenge(f"{payload}.{_sign(payload, secret_key)}", bits, expires)


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def solve(token: str, bits: int) -> str:
    """The counter a client sends (what the page's script does, for tests and tools)."""
    counter = 0
    while leading_zero_bits(hashlib.sha256(f"{token}{counter}".encode()).digest()) < bits:
        counter += 1
    return str(counter)


def verify(
    token: str, counter: str, secret_key: str, min_bits: int, now: dt.datetime
) -> tuple[str, dt.datetime]:
    """The challenge's digest (for the replay store) and its expiry, or a 4xx refusal."""
    field = "body.challenge"
    parts = token.split(".")
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
        raise InvalidInput.field(field, "not a challenge this server issued; ask for a new one")
    payload, signature = ".".join(parts[:3]), parts[3]
    if not hmac.compare_digest(_sign(payload, secret_key), signature):
        raise InvalidInput.field(field, "not a challenge this server issued; ask for a new one")
    expires = dt.datetime.fromtimestamp(int(parts[1]), dt.UTC)
    if expires <= now:
        raise InvalidInput.field(field, "the challenge has expired; ask for a new one")
    bits = int(parts[2])
    if bits < min_bits:
        raise InvalidInput.field(field, "the challenge is too easy; ask for a new one")
    if not (counter.isascii() and counter.isdigit() and len(counter) <= MAX_COUNTER):
        raise InvalidInput.field("body.counter", "the counter is a number of up to 20 digits")
    digest = hashlib.sha256(f"{token}{counter}".encode()).digest()
    if leading_zero_bits(digest) < bits:
        raise InvalidInput.field("body.counter", "the proof of work does not check out")
    return hashlib.sha256(token.encode()).hexdigest(), expires


class ChallengeReplayed(Conflict):
    code = "challenge-used"
    title = "Challenge already used"
