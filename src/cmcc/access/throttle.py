"""Sign-in throttling: failed sign-ins in a row, per account name and per client address.

Every sign-in with a password (the API's `POST /api/v1/auth/login`, the web form, TAK
enrollment) goes through one `Throttle`:

- `check` before the password is tried: an attempt under a key that must still wait is refused
  with 429 and Retry-After, and the password is not tried at all;
- `failed` after a wrong password or a wrong second-factor code (a code merely missing is not
  a failure): after CMCC_SIGNIN_FREE_FAILURES in a row, each attempt must wait 1 s, 2 s, 4 s...
  up to CMCC_SIGNIN_MAX_DELAY_SECONDS after the last failure; at
  CMCC_SIGNIN_LOCKOUT_FAILURES the key is locked for CMCC_SIGNIN_LOCKOUT_MINUTES, and every
  failure after that locks it again. Per client address the same with the `ADDRESS_` counts;
- `succeeded` after a sign-in: the account name's failures are forgotten (the address's are
  not, or one valid account would clear the way for guessing at the others).

Failures are forgotten CMCC_SIGNIN_LOCKOUT_MINUTES after the later of the last failure and the
end of the last wait, and their row is deleted then. Rows hold keyed hashes
(HMAC-SHA-256 under the secret key), never the name typed or the address; an IPv6 address
counts by its /64 network, which one client typically holds whole. The public tip routes never
have a key of their address (`cmcc.api.clients`) and are never throttled here. Unknown account
names are counted exactly like known ones, so the answers say nothing of which names exist.

The rows live in the database, so every server process and gateway shares them, and every
change is in the audit log (actor `sign-in`); administrators list and clear them
(`GET|DELETE /api/v1/auth/throttles`, `cmcc user lockouts|unlock`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from cmcc.access import accounts
from cmcc.access.domain import Principal
from cmcc.access.models import SignInThrottle, User
from cmcc.access.service import WrongCode, WrongPassword
from cmcc.core.clock import utcnow
from cmcc.core.errors import Conflict, NotFound, TooManyAttempts

if TYPE_CHECKING:
    from cmcc.bootstrap import Platform

ACCOUNT = "account"
ADDRESS = "address"
ACTOR = "sign-in"  # the audit log's actor for the throttle's own writes
T = TypeVar("T")


def _key(secret: str, kind: str, value: str) -> str:
    message = f"sign-in\x00{kind}\x00{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def account_key(secret: str, username: str) -> str:
    return _key(secret, ACCOUNT, username)


def address_key(secret: str, address: str) -> str:
    """The key of a client address: an IPv6 address by its /64, anything else as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return _key(secret, ADDRESS, address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
            return _key(secret, ADDRESS, str(ip.ipv4_mapped))
        return _key(secret, ADDRESS, str(ipaddress.ip_network(f"{ip}/64", strict=False)))
    return _key(secret, ADDRESS, str(ip))


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt: the account name typed (None: none given) and the key of the
    client's address (None: not known, such as a test client without one)."""

    username: str | None
    address_key: str | None


@dataclass(frozen=True)
class Rule:
    free: int  # failures in a row before attempts must wait
    lockout: int  # failures in a row that lock the key

    def wait_after(self, failures: int, max_delay: int, lockout: dt.timedelta) -> dt.timedelta:
        """How long the next attempt must wait after this many failures in a row."""
        if failures >= self.lockout:
            return lockout
        if failures >= self.free:
            return dt.timedelta(seconds=min(2 ** (failures - self.free), max_delay))
        return dt.timedelta(0)


class Throttle:
    """The sign-in throttle of one platform (module docstring)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        settings = platform.settings
        self.secret = settings.secret_key.get_secret_value()
        self.rules = {
            ACCOUNT: Rule(settings.signin_free_failures, settings.signin_lockout_failures),
            ADDRESS: Rule(
                settings.signin_address_free_failures, settings.signin_address_lockout_failures
            ),
        }
        self.max_delay = settings.signin_max_delay_seconds
        self.memory = dt.timedelta(minutes=settings.signin_lockout_minutes)

    def _keys(self, attempt: Attempt) -> dict[str, str]:
        keys = {}
        if attempt.username is not None:
            keys[account_key(self.secret, attempt.username)] = ACCOUNT
        if attempt.address_key is not None:
            keys[attempt.address_key] = ADDRESS
        return keys

    def guarded(self, attempt: Attempt, sign_in: Callable[[], T]) -> T:
        """Run a sign-in (its own transaction) under the throttle: refused with 429 while the
        name or the address must wait, its failures counted, its success noted."""
        self.check(attempt)
        try:
            result = sign_in()
        except (WrongPassword, WrongCode):
            self.failed(attempt)
            raise
        self.succeeded(attempt)
        return result

    def check(self, attempt: Attempt) -> None:
        """TooManyAttempts (429) when the account name or the address must still wait."""
        keys = self._keys(attempt)
        if not keys:
            return
        now = utcnow()
        with self.platform.unit_of_work(Principal.system_operator()) as session:
            rows = session.scalars(
                select(SignInThrottle).where(
                    SignInThrottle.key.in_(keys), SignInThrottle.blocked_until > now
                )
            ).all()
        if not rows:
            return
        row = max(rows, key=lambda r: (r.locked, r.blocked_until or now))
        assert row.blocked_until is not None
        seconds = math.ceil((row.blocked_until - now).total_seconds())  # > 0: at least 1
        raise TooManyAttempts(refusal(row, seconds), seconds)

    def failed(self, attempt: Attempt) -> None:
        """Count a failed sign-in under the account name and the address."""
        for _ in range(3):  # two first failures under one key at once: the loser counts again
            try:
                with self.platform.unit_of_work(Principal.system_operator(), write=True) as s:
                    s.info["actor"] = ACTOR
                    self._count(s, attempt, utcnow())
                return
            except Conflict:
                continue

    def succeeded(self, attempt: Attempt) -> None:
        """A sign-in succeeded: the account name's failures no longer count."""
        if attempt.username is None:
            return
        key = account_key(self.secret, attempt.username)
        with self.platform.unit_of_work(Principal.system_operator()) as session:
            exists = session.scalar(select(SignInThrottle.id).where(SignInThrottle.key == key))
        if exists is None:  # the usual case: no write at all
            return
        with self.platform.unit_of_work(Principal.system_operator(), write=True) as session:
            session.info["actor"] = ACTOR
            for row in session.scalars(select(SignInThrottle).where(SignInThrottle.key == key)):
                session.delete(row)

    def _count(self, session: Session, attempt: Attempt, now: dt.datetime) -> None:
        keys = self._keys(attempt)
        rows = {
            r.key: r
            for r in session.scalars(
                select(SignInThrottle).where(SignInThrottle.key.in_(keys)).with_for_update()
            )
        }
        user_id = None
        if attempt.username is not None:
            user_id = session.scalar(select(User.id).where(User.username == attempt.username))
        for key, kind in keys.items():
            row = rows.get(key)
            if row is None:
                row = SignInThrottle(key=key, kind=kind, failures=0, locked=False)
                row.user_id = user_id if kind == ACCOUNT else None
                session.add(row)
            elif self._forgotten(row, now):
                row.failures, row.locked = 0, False
            row.failures += 1
            row.last_failure_at = now
            wait = self.rules[kind].wait_after(row.failures, self.max_delay, self.memory)
            row.blocked_until = now + wait if wait else None
            row.locked = row.failures >= self.rules[kind].lockout
        self._forget_old(session, now, keep=set(keys))

    def _forgotten(self, row: SignInThrottle, now: dt.datetime) -> bool:
        latest = max(row.last_failure_at, row.blocked_until or row.last_failure_at)
        return latest + self.memory <= now

    def _forget_old(self, session: Session, now: dt.datetime, keep: set[str]) -> None:
        """Delete the rows whose failures no longer count (a few at a time, audited)."""
        old = now - self.memory
        stale = session.scalars(
            select(SignInThrottle)
            .where(
                SignInThrottle.last_failure_at <= old,
                or_(SignInThrottle.blocked_until.is_(None), SignInThrottle.blocked_until <= old),
                SignInThrottle.key.not_in(keep),
            )
            .limit(100)
        )
        for row in stale:
            session.delete(row)


def refusal(row: SignInThrottle, seconds: int) -> str:
    what = "this account name" if row.kind == ACCOUNT else "this address"
    if row.locked:
        minutes = max(1, round(seconds / 60))
        return (
            f"too many failed sign-ins for {what}: it is locked for {minutes} more minute(s); "
            "an administrator can unlock it sooner"
        )
    return f"too many failed sign-ins for {what}: wait {seconds} s before the next attempt"


@dataclass(frozen=True)
class ThrottleRow:
    """What an administrator sees of a throttle row: never the name typed (unless it is an
    existing user's) nor the address."""

    id: int
    kind: str
    username: str | None
    key: str  # the first 12 hex digits of the keyed hash: tells rows apart, names nothing
    failures: int
    last_failure_at: dt.datetime
    blocked_until: dt.datetime | None
    locked: bool


def _visible(session: Session, actor: Principal) -> ColumnElement[bool]:
    """The rows an administrator may see and clear: every row for the CMCC's administrators
    and the operator; an organization's administrator only those of its own users."""
    if accounts.manages_all(session, actor):
        return true()
    return SignInThrottle.user_id.in_(select(User.id).where(User.org_id == actor.org_id))


def listing(session: Session, actor: Principal, memory: dt.timedelta) -> list[ThrottleRow]:
    """The rows whose failures still count, locked ones first, then the latest."""
    now = utcnow()
    rows = session.execute(
        select(SignInThrottle, User.username)
        .outerjoin(User, User.id == SignInThrottle.user_id)
        .where(_visible(session, actor))
        .order_by(SignInThrottle.locked.desc(), SignInThrottle.last_failure_at.desc())
    ).all()
    return [
        ThrottleRow(
            row.id,
            row.kind,
            username,
            row.key[:12],
            row.failures,
            row.last_failure_at,
            row.blocked_until,
            row.locked and row.blocked_until is not None and row.blocked_until > now,
        )
        for row, username in rows
        if max(row.last_failure_at, row.blocked_until or row.last_failure_at) + memory > now
    ]


def clear(session: Session, actor: Principal, throttle_id: int) -> None:
    """An administrator clears a row: its name or address may sign in again at once."""
    row = session.scalars(
        select(SignInThrottle).where(SignInThrottle.id == throttle_id, _visible(session, actor))
    ).first()
    if row is None:
        raise NotFound(f"no sign-in throttle {throttle_id}: it was cleared or forgotten")
    session.delete(row)
    session.flush()


def clear_key(session: Session, key: str) -> bool:
    """The operator clears the row of one key (an account name's, an address's); False if
    there was none."""
    row = session.scalars(select(SignInThrottle).where(SignInThrottle.key == key)).first()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
